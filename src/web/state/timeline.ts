import { signal } from '@preact/signals';
import type { ConversationId, ErrorCode, Message } from '../../protocol/index.ts';

/** A message this device sent that the server has not confirmed yet (local echo). */
export interface Echo {
  conv: ConversationId;
  clientId: string;
  text: string;
  /** Local time it was written, for display until the server's time is known. */
  ts: number;
  status: 'sending' | 'failed';
  error?: ErrorCode | 'NETWORK' | 'DISCONNECTED';
}

export type LoadState = 'idle' | 'loading' | 'error';

/**
 * What this client holds of one conversation: confirmed messages sorted by seq (each once),
 * plus its own unconfirmed echoes. `loaded` means the newest page is here, so older pages are
 * fetched with `before` = the oldest seq held and the list never has a hole.
 */
export class Timeline {
  readonly messages = signal<readonly Message[]>([]);
  readonly echoes = signal<readonly Echo[]>([]);
  readonly hasMore = signal(true);
  readonly load = signal<LoadState>('idle');
  readonly loadingOlder = signal(false);
  loaded = false;

  constructor(readonly conv: ConversationId) {}

  get oldestSeq(): number | undefined {
    return this.messages.value[0]?.seq;
  }

  get newestSeq(): number | undefined {
    return this.messages.value.at(-1)?.seq;
  }

  has(seq: number): boolean {
    const list = this.messages.value;
    let lo = 0;
    let hi = list.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const at = list[mid]!.seq;
      if (at === seq) return true;
      if (at < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /** Adds confirmed messages (any order, duplicates ignored) and retires their echoes. */
  insert(incoming: readonly Message[], myId: number | undefined): void {
    if (incoming.length === 0) return;
    const current = this.messages.value;
    const last = current.at(-1);
    const first = incoming[0]!;
    if (incoming.length === 1 && (!last || first.seq > last.seq)) {
      this.messages.value = [...current, first];
    } else {
      const bySeq = new Map<number, Message>();
      for (const message of current) bySeq.set(message.seq, message);
      for (const message of incoming) if (!bySeq.has(message.seq)) bySeq.set(message.seq, message);
      if (bySeq.size === current.length) return this.retireEchoes(incoming, myId);
      this.messages.value = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
    }
    this.retireEchoes(incoming, myId);
  }

  /** Forgets the confirmed messages (after a gap); echoes stay, they are still on their way. */
  reset(): void {
    this.messages.value = [];
    this.hasMore.value = true;
    this.loaded = false;
    this.load.value = 'idle';
  }

  addEcho(echo: Echo): void {
    this.echoes.value = [...this.echoes.value, echo];
  }

  updateEcho(clientId: string, change: Partial<Echo>): void {
    this.echoes.value = this.echoes.value.map((echo) => (echo.clientId === clientId ? { ...echo, ...change } : echo));
  }

  removeEcho(clientId: string): void {
    if (this.echoes.value.some((echo) => echo.clientId === clientId)) {
      this.echoes.value = this.echoes.value.filter((echo) => echo.clientId !== clientId);
    }
  }

  echo(clientId: string): Echo | undefined {
    return this.echoes.value.find((echo) => echo.clientId === clientId);
  }

  private retireEchoes(incoming: readonly Message[], myId: number | undefined): void {
    if (this.echoes.value.length === 0 || myId === undefined) return;
    const mine = new Set(incoming.filter((m) => m.sender.id === myId).map((m) => m.clientId));
    if (mine.size === 0) return;
    this.echoes.value = this.echoes.value.filter((echo) => !mine.has(echo.clientId));
  }
}
