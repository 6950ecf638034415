import { SampleBuffer, summarize, type LatencySummary } from '../stats.ts';
import type { BenchUser } from '../lib/targets.ts';
import { cpuSeconds } from '../lib/processes.ts';
import { DIALECTS } from './dialects.ts';
import type { RawClient } from './raw-ws.ts';

/**
 * Ingest: senders keep a window of sends in flight, each to a DM with a user who is offline, so
 * nobody but the sender's own connection receives anything. Throughput is acknowledged
 * messages per second: accepted, validated, committed (group commit, the shipped durability)
 * and acknowledged.
 */
export interface IngestParams {
  port: number;
  senders: BenchUser[];
  /** One offline partner per sender. */
  partners: BenchUser[];
  warmup: number;
  messages: number;
  window: number;
  textLength: number;
  serverPid: number;
}

export interface IngestResult {
  messages: number;
  ms: number;
  perSecond: number;
  ackLatency: LatencySummary;
  errors: number;
  generatorCpu: number;
  /** Server CPU (all its threads) per acknowledged message in the measured phase, in microseconds. */
  serverCpuMicrosPerMessage: number;
  /** Share of the measured phase the server's main thread was busy or waiting for a CPU: below 1, the server had idle time. */
  serverCpu: number;
}

export async function runIngest(params: IngestParams): Promise<IngestResult> {
  const clients = await Promise.all(params.senders.map((user) => DIALECTS.parley.open(params.port, user, false)));
  const text = 'x'.repeat(params.textLength);
  await phase(clients, params, params.warmup, text, 'w');
  const cpu = process.cpuUsage();
  const serverBefore = cpuSeconds(params.serverPid);
  const result = await phase(clients, params, params.messages, text, 'm');
  const serverSeconds = cpuSeconds(params.serverPid) - serverBefore;
  const used = process.cpuUsage(cpu);
  for (const client of clients) client.close();
  return {
    ...result,
    generatorCpu: (used.user + used.system) / 1000 / result.ms,
    serverCpuMicrosPerMessage: (serverSeconds * 1e6) / result.messages,
    serverCpu: (serverSeconds * 1000) / result.ms,
  };
}

async function phase(clients: RawClient[], params: IngestParams, total: number, text: string, tag: string) {
  const perClient = Math.ceil(total / clients.length);
  const latencies = new SampleBuffer();
  let errors = 0;
  const started = performance.now();
  await Promise.all(
    clients.map(
      (client, i) =>
        new Promise<void>((resolve, reject) => {
          const me = params.senders[i]!.id;
          const partner = params.partners[i]!.id;
          const conv = me < partner ? `dm:${me}:${partner}` : `dm:${partner}:${me}`;
          const sentAt: number[] = [];
          let sent = 0;
          let acked = 0;
          const sendOne = () => {
            sentAt.push(performance.now());
            client.sendText(JSON.stringify({ type: 'send', conv, clientId: `${tag}${i}x${sent++}`, text }));
          };
          client.onClose = () => reject(new Error('sender closed'));
          client.onFrame = (kind) => {
            if (kind !== 'ack' && kind !== 'error') return;
            if (kind === 'error') errors++;
            // Acks come back in send order: one connection's sends commit in order.
            latencies.push(performance.now() - sentAt[acked]!);
            acked++;
            if (sent < perClient) sendOne();
            else if (acked === perClient) resolve();
          };
          for (let k = 0; k < Math.min(params.window, perClient); k++) sendOne();
        }),
    ),
  );
  const ms = performance.now() - started;
  const messages = perClient * clients.length;
  return { messages, ms, perSecond: (messages * 1000) / ms, ackLatency: summarize(latencies.values()), errors };
}
