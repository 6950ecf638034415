import { randomBytes } from 'node:crypto';
import { SampleBuffer, perSecond, summarize, type LatencySummary } from '../stats.ts';
import type { BenchUser, Target } from '../lib/targets.ts';
import { DIALECTS, type Dialect } from './dialects.ts';
import type { RawClient } from './raw-ws.ts';
import { cpuSeconds, othersCpuSeconds, runQueueWaitNs } from '../lib/processes.ts';
import { processCpu } from './cpu.ts';

/**
 * Many chat clients in one generator process, all on one clock. Every client sends at its share
 * of a total rate; every client counts the messages delivered to it; a spread-out sample of
 * "full" clients parses what it receives and measures end-to-end latency from the send time
 * embedded at the start of each message's text.
 */

export type ChatMode = 'world' | 'dm' | 'idle';

export interface ConnectParams {
  target: Target;
  port: number;
  users: BenchUser[];
  mode: ChatMode;
  /** How many clients parse frames for latency (spread evenly over the connection order). */
  sampleClients: number;
  concurrency: number;
  /** Lay connections over several loopback source addresses (127.0.0.x) so ports never run out. */
  spreadSources?: boolean;
}

export interface ConnectResult {
  connected: number;
  failed: number;
  firstError: string | null;
  ms: number;
  perSecond: number;
  generatorCpu: number;
}

export interface StepParams {
  /** Total messages per second, across all senders. */
  rate: number;
  warmupMs: number;
  measureMs: number;
  /** After the window, how long to wait for the last deliveries. */
  drainMs: number;
  /** Cap on latency samples parsed per second across the sample, so parsing never dominates. */
  parseBudget?: number;
  serverPid?: number;
}

export interface StepResult {
  targetRate: number;
  sentPerSecond: number;
  /** The generator made (nearly) every send of the window on schedule. */
  sentOnTime: boolean;
  deliveredPerSecond: number;
  expectedDeliveredPerSecond: number;
  latency: LatencySummary;
  /** Deliveries still missing when the drain ended (late beyond drainMs, or lost). */
  missing: number;
  errors: number;
  closed: number;
  /** Sends the generator could not make on time and dropped (it was behind by more than 50 ms). */
  skipped: number;
  /** The step was cut short: more than OVERLOAD_SECONDS of deliveries were queued, so it had failed already. */
  aborted: boolean;
  generatorCpu: number;
  serverCpu: number;
  /** Share of the window the server's / generator's main thread was runnable but waiting for a CPU (other load on the machine). */
  serverWait: number;
  generatorWait: number;
  /** CPU (in cores) other people's processes used during the window. */
  othersCpu: number;
  sampledClients: number;
}

/**
 * A step stops early once this many seconds' worth of deliveries are outstanding: its p99 is
 * past any limit already, and a server without a bound on its queues (the peers) would
 * otherwise pile up millions of frames that spill into the next step.
 */
const OVERLOAD_SECONDS = 0.5;

/** Bytes of text per message, including the timestamp at its start. */
export const TEXT_LENGTH = 64;
const FILLER = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.repeat(2);

interface Member {
  index: number;
  user: BenchUser;
  client: RawClient | null;
  conv: string;
  full: boolean;
}

export class ChatLoad {
  private members: Member[] = [];
  private dialect!: Dialect;
  private params!: ConnectParams;
  private readonly nonce = randomBytes(4).toString('hex');
  private counter = 0;

  // Live counters, updated from frame callbacks.
  private delivered = 0;
  private deliveredInWindow = 0;
  private errors = 0;
  private closedCount = 0;
  private windowStart = Infinity;
  private windowEnd = -Infinity;
  private inWindow = false;
  private readonly latencies = new SampleBuffer();
  private activeSample = new Set<number>();

  async connect(params: ConnectParams): Promise<ConnectResult> {
    this.params = params;
    this.dialect = DIALECTS[params.target];
    const n = params.users.length;
    const sampled = spread(n, Math.min(n, params.sampleClients));
    this.members = params.users.map((user, index) => ({
      index,
      user,
      client: null,
      conv: conversationOf(params.mode, params.users, index),
      full: sampled.has(index),
    }));
    const cpu = processCpu();
    const started = performance.now();
    const { failed, firstError } = await this.openAll(this.members, params.concurrency);
    const ms = performance.now() - started;
    return { connected: n - failed, failed, firstError, ms, perSecond: perSecond(n - failed, ms), generatorCpu: cpu() };
  }

  /** Opens more clients, for more users, next to the ones already connected. */
  async add(users: BenchUser[]): Promise<ConnectResult> {
    const first = this.members.length;
    const added: Member[] = users.map((user, i) => ({ index: first + i, user, client: null, conv: 'world', full: false }));
    this.members.push(...added);
    const cpu = processCpu();
    const started = performance.now();
    const { failed, firstError } = await this.openAll(added, this.params.concurrency);
    const ms = performance.now() - started;
    return { connected: added.length - failed, failed, firstError, ms, perSecond: perSecond(added.length - failed, ms), generatorCpu: cpu() };
  }

  /** Reopens connections the server closed (a slow-consumer drop in a failed step). */
  async reconnect(): Promise<number> {
    const gone = this.members.filter((m) => !m.client || m.client.closed);
    if (gone.length > 0) await this.openAll(gone, this.params.concurrency);
    return gone.length;
  }

  private async openAll(members: Member[], concurrency: number): Promise<{ failed: number; firstError: string | null }> {
    let next = 0;
    let failed = 0;
    let firstError: string | null = null;
    const worker = async () => {
      while (next < members.length) {
        const member = members[next++]!;
        try {
          member.client = await this.openOne(member);
        } catch (error) {
          failed++;
          firstError ??= (error as Error).message;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, members.length) }, worker));
    return { failed, firstError };
  }

  private async openOne(member: Member): Promise<RawClient> {
    const client = await this.dialect.open(this.params.port, member.user, member.full);
    const dialect = this.dialect;
    client.classify = dialect.classify;
    client.onClose = () => this.closedCount++;
    client.onFrame = (kind, payload) => {
      if (kind === 'message') {
        this.delivered++;
        if (this.inWindow) this.deliveredInWindow++;
        if (payload && this.activeSample.has(member.index)) this.recordLatency(payload);
      } else if (kind === 'error') {
        this.errors++;
        if (this.errors <= 3) console.error(`[load] error frame${payload ? `: ${payload.toString().slice(0, 200)}` : ''}`);
      } else if (kind === 'ping' && dialect.pong) {
        client.sendText(dialect.pong);
      }
    };
    return client;
  }

  private recordLatency(payload: Buffer): void {
    const text = this.dialect.messageText(payload);
    if (text === null) return;
    const sentAt = Number(text.slice(0, text.indexOf('|')));
    if (sentAt >= this.windowStart && sentAt < this.windowEnd) this.latencies.push(performance.now() - sentAt);
  }

  /** Runs one load step at `rate` msgs/s and reports what happened in its measurement window. */
  async step(params: StepParams): Promise<StepResult> {
    const live = this.members.filter((m) => m.client && !m.client.closed);
    const senders = live;
    const fanout = this.fanout(live.length);
    const perClientRate = (params.rate * fanout) / Math.max(1, live.length);
    const sampledLive = live.filter((m) => m.full);
    const budget = params.parseBudget ?? 40_000;
    const active = Math.max(1, Math.min(sampledLive.length, Math.floor(budget / Math.max(1, perClientRate))));
    const chosen = [...spread(sampledLive.length, active)].map((i) => sampledLive[i]!.index);
    this.activeSample = new Set(chosen);

    this.latencies.clear();
    const deliveredBefore = this.delivered;
    const errorsBefore = this.errors;
    const closedBefore = this.closedCount;
    this.deliveredInWindow = 0;

    const t0 = performance.now();
    this.windowStart = t0 + params.warmupMs;
    this.windowEnd = this.windowStart + params.measureMs;
    let sent = 0;
    let sentInWindow = 0;
    let skipped = 0;
    let cursor = 0;
    let base = t0;
    let windowCpu: (() => number) | null = null;
    let serverCpuAtStart = Number.NaN;
    let serverCpuAtEnd = Number.NaN;
    let waits = { server: Number.NaN, generator: Number.NaN, others: Number.NaN };
    let waitsAtEnd = { server: Number.NaN, generator: Number.NaN, others: Number.NaN };
    const exclude = params.serverPid ? [params.serverPid] : [];
    const readWaits = () => ({
      server: params.serverPid ? runQueueWaitNs(params.serverPid) : Number.NaN,
      generator: runQueueWaitNs('self'),
      others: othersCpuSeconds(exclude),
    });
    let generatorCpu = Number.NaN;
    let aborted = false;

    await new Promise<void>((resolve) => {
      const tick = () => {
        const now = performance.now();
        if (!this.inWindow && windowCpu === null && now >= this.windowStart) {
          this.inWindow = true;
          windowCpu = processCpu();
          if (params.serverPid) serverCpuAtStart = cpuSeconds(params.serverPid);
          waits = readWaits();
        }
        const outstanding = sent * fanout - (this.delivered - deliveredBefore);
        // Checked from the window on: a backlog built in the warm-up (a cold JIT) may still clear.
        if (now >= this.windowStart && outstanding > params.rate * fanout * OVERLOAD_SECONDS) {
          aborted = true;
          this.windowEnd = now;
        }
        if (now >= this.windowEnd) {
          this.inWindow = false;
          generatorCpu = windowCpu ? windowCpu() : Number.NaN;
          if (params.serverPid) serverCpuAtEnd = cpuSeconds(params.serverPid);
          waitsAtEnd = readWaits();
          clearInterval(timer);
          resolve();
          return;
        }
        let due = Math.floor(((now - base) * params.rate) / 1000) - sent - skipped;
        const maxBurst = Math.max(1, Math.ceil(params.rate * 0.05));
        if (due > maxBurst) {
          skipped += due - maxBurst;
          due = maxBurst;
        }
        for (let i = 0; i < due && senders.length > 0; i++) {
          const member = senders[cursor++ % senders.length]!;
          if (!member.client || member.client.closed) continue;
          const stamp = performance.now();
          member.client.sendText(this.dialect.encodeSend(member.conv, this.clientId(), textAt(stamp)));
          sent++;
          if (stamp >= this.windowStart && stamp < this.windowEnd) sentInWindow++;
        }
      };
      const timer = setInterval(tick, 2);
      base = t0;
    });

    // Drain: stop sending and wait for the deliveries still in flight.
    const expectedTotal = sent * fanout;
    const drainUntil = performance.now() + (aborted ? Math.max(params.drainMs, 10_000) : params.drainMs);
    while (this.delivered - deliveredBefore < expectedTotal && performance.now() < drainUntil) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const serverSeconds = serverCpuAtEnd - serverCpuAtStart;
    const windowMs = Math.max(1, this.windowEnd - this.windowStart);
    return {
      targetRate: params.rate,
      sentPerSecond: perSecond(sentInWindow, windowMs),
      sentOnTime: sentInWindow >= 0.95 * ((params.rate * windowMs) / 1000) - 2,
      deliveredPerSecond: perSecond(this.deliveredInWindow, windowMs),
      expectedDeliveredPerSecond: perSecond(sentInWindow * fanout, windowMs),
      latency: summarize(this.latencies.values()),
      missing: Math.max(0, expectedTotal - (this.delivered - deliveredBefore)),
      errors: this.errors - errorsBefore,
      closed: this.closedCount - closedBefore,
      skipped,
      aborted,
      generatorCpu,
      serverCpu: serverSeconds / (windowMs / 1000),
      serverWait: (waitsAtEnd.server - waits.server) / 1e6 / windowMs,
      generatorWait: (waitsAtEnd.generator - waits.generator) / 1e6 / windowMs,
      othersCpu: (waitsAtEnd.others - waits.others) / (windowMs / 1000),
      sampledClients: chosen.length,
    };
  }

  /** How many deliveries one message makes. */
  private fanout(liveCount: number): number {
    if (this.params.mode === 'world') return liveCount;
    return 2;
  }

  private clientId(): string {
    return `${this.nonce}${(this.counter++).toString(36)}`;
  }

  openCount(): number {
    return this.members.filter((m) => m.client && !m.client.closed).length;
  }

  close(): void {
    for (const member of this.members) member.client?.close();
    this.members = [];
  }
}

function textAt(stamp: number): string {
  const head = `${stamp.toFixed(3)}|`;
  return head + FILLER.slice(0, TEXT_LENGTH - head.length);
}

/** `count` indexes spread evenly over 0..n-1, first and last included. */
export function spread(n: number, count: number): Set<number> {
  const chosen = new Set<number>();
  if (count <= 0 || n <= 0) return chosen;
  if (count === 1) return new Set([n - 1]);
  for (let k = 0; k < count; k++) chosen.add(Math.round((k * (n - 1)) / (count - 1)));
  return chosen;
}

/** World chat, or a DM with the neighbouring user: users pair up (0,1), (2,3), ... */
function conversationOf(mode: ChatMode, users: BenchUser[], index: number): string {
  if (mode !== 'dm') return 'world';
  const peer = users[index % 2 === 0 ? index + 1 : index - 1];
  if (!peer) return 'world';
  const me = users[index]!.id;
  return me < peer.id ? `dm:${me}:${peer.id}` : `dm:${peer.id}:${me}`;
}
