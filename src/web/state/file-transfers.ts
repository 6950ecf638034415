import { batch, signal } from '@preact/signals';
import type { ParleyApi } from '../../client/api.ts';
import { ParleyClientError } from '../../client/errors.ts';
import { FileApi, SpeedMeter, type TransferProgress } from '../../client/files.ts';
import { untilStored } from '../../client/store-retry.ts';
import type { ChatSession } from '../../client/session.ts';
import { newClientId } from '../../client/session.ts';
import type { ConversationId } from '../../protocol/conversations.ts';
import { newerCard, type FileCard } from '../../protocol/files.ts';
import type { Message } from '../../protocol/frames.ts';

/**
 * The byte-moving half (SHA-256 over @noble/hashes, XHR uploads, verified downloads) is loaded
 * the first time a file is picked or fetched, so the first screen does not carry it.
 */
const bytes = () => import('../../client/browser-files.ts');
/** The downloads an earlier page left in IndexedDB (small, but only needed once cards show). */
const heldStore = () => import('../../client/download-store.ts');
/** States in which a file's bytes are gone for good: anything held of it is dropped. */
const GONE: readonly FileCard['state'][] = ['declined', 'cancelled', 'expired', 'failed', 'deleted'];

/** What this tab is doing with one file, for the card's progress bar and its last line. */
export interface LocalTransfer {
  /**
   * `checking`: hashing a re-picked file before resuming its upload. `paused`: part of a download
   * is held in IndexedDB from before a reload, waiting for the user to resume it.
   */
  phase: 'checking' | 'uploading' | 'downloading' | 'paused' | 'done' | 'failed';
  direction: 'up' | 'down';
  progress?: TransferProgress;
  startedAt: number;
  /** "sent/received N bytes in T s" once done. */
  bytes?: number;
  seconds?: number;
  /** An error code (protocol catalogue or client: NETWORK, FILE_HASH_MISMATCH, …). */
  error?: string;
}

/** A file being hashed before its offer, or whose offer failed (shown above the composer). */
export interface Preparing {
  key: string;
  conv: ConversationId;
  name: string;
  size: number;
  progress?: TransferProgress;
  /** Hashed, and the offer waits for the server's database (STORE_UNAVAILABLE): it goes when it is back. */
  waitingForStore?: boolean;
  error?: string;
}

/** Upload progress the server reports (either side sees it), with a speed measured here. */
export interface ServerProgress {
  received: number;
  size: number;
  bytesPerSecond: number;
}

/**
 * The web client's file cards: the newest card per file id (by `rev`) from history pages,
 * message and `file` frames and this tab's own requests; server-side upload progress from
 * `fileProgress`; and this tab's own transfers. The File a user picked lives only in this tab:
 * after a reload an accepted upload needs the file picked again (`resumeUpload`), which checks
 * it is the same file before sending the rest.
 */
export class FileTransfers {
  readonly cards = signal<ReadonlyMap<string, FileCard>>(new Map());
  readonly serverProgress = signal<ReadonlyMap<string, ServerProgress>>(new Map());
  readonly local = signal<ReadonlyMap<string, LocalTransfer>>(new Map());
  readonly preparing = signal<readonly Preparing[]>([]);
  private readonly files: FileApi;
  private readonly picked = new Map<string, File>();
  /** Files accepted in this tab: saved as soon as the sender's upload completes. */
  private readonly autoSave = new Set<string>();
  private readonly meters = new Map<string, SpeedMeter>();
  private readonly aborts = new Map<string, AbortController>();
  private catchUpRev = -1;
  /** Downloads with bytes held in IndexedDB (from this page or an earlier one). */
  private readonly held = new Set<string>();

  constructor(
    api: ParleyApi,
    private readonly session: ChatSession,
    /** The server's limit from welcome; a larger file is refused before it is hashed. */
    private readonly maxFileBytes: () => number,
  ) {
    this.files = new FileApi(api);
    session.on('file', (card) => this.note(card));
    session.on('message', (message) => {
      if (!message.file) return;
      this.note(message.file);
      // A message's card is current, so a reconnect need only replay later changes. During
      // catch-up it counts once the catch-up is complete, as the session does for `file` frames.
      if (session.state === 'online') session.noteFileRev(message.file.rev);
      else this.catchUpRev = Math.max(this.catchUpRev, message.file.rev);
    });
    session.on('synced', () => {
      if (this.catchUpRev >= 0) session.noteFileRev(this.catchUpRev);
      this.catchUpRev = -1;
    });
    void this.loadHeld();
    session.on('fileProgress', ({ id, received, size }) => {
      let meter = this.meters.get(id);
      if (!meter) this.meters.set(id, (meter = new SpeedMeter()));
      this.setIn(this.serverProgress, id, { received, size, bytesPerSecond: meter.sample(received) });
    });
  }

  /** Cards that arrive with a history page: held up to their rev, so a reconnect replays only later changes. */
  notePage(messages: readonly Message[]): void {
    batch(() => {
      for (const message of messages) {
        if (!message.file) continue;
        this.note(message.file);
        this.session.noteFileRev(message.file.rev);
      }
    });
  }

  note(card: FileCard): void {
    const current = this.cards.value.get(card.id);
    if (newerCard(current, card) !== current) this.setIn(this.cards, card.id, card);
    if (GONE.includes(this.cards.value.get(card.id)!.state)) this.forgetHeld(card.id);
    this.react(card.id);
  }

  /**
   * After a reload, a download an earlier page left part of shows "Paused at N %" until the user
   * resumes it, as an upload does until the file is picked again (a save the user did not ask for
   * in this page would be a surprise).
   */
  private async loadHeld(): Promise<void> {
    try {
      const { heldDownloads } = await heldStore();
      for (const download of await heldDownloads()) {
        this.held.add(download.id);
        const card = this.cards.value.get(download.id);
        if (card && GONE.includes(card.state)) {
          this.forgetHeld(download.id);
          continue;
        }
        if (this.local.value.has(download.id)) continue;
        const progress = { done: download.have, total: download.size, thisRun: 0, bytesPerSecond: 0 };
        this.setIn(this.local, download.id, { phase: 'paused', direction: 'down', startedAt: Date.now(), progress });
      }
    } catch {
      // No IndexedDB: nothing was held, downloads start from the beginning.
    }
  }

  private forgetHeld(id: string): void {
    if (!this.held.delete(id)) return;
    if (this.local.value.get(id)?.phase === 'paused') {
      const next = new Map(this.local.value);
      next.delete(id);
      this.local.value = next;
    }
    void heldStore().then(({ forgetDownload }) => forgetDownload(id)).catch(() => {});
  }

  /** The newest card known for a file (a message carries the card as it was when it was loaded). */
  card(fallback: FileCard): FileCard {
    return newerCard(this.cards.value.get(fallback.id), fallback);
  }

  /** Hashes each file (never whole in memory), then offers it; the upload starts when the recipient accepts. */
  async offerAll(conv: ConversationId, files: readonly File[]): Promise<void> {
    for (const file of files) await this.offer(conv, file);
  }

  async offer(conv: ConversationId, file: File): Promise<FileCard | null> {
    const key = newClientId();
    const abort = new AbortController();
    this.aborts.set(key, abort);
    this.preparing.value = [...this.preparing.value, { key, conv, name: file.name, size: file.size }];
    try {
      // Hashing gigabytes only to hear "too large" from the offer would waste minutes.
      if (file.size > this.maxFileBytes()) throw new ParleyClientError('FILE_TOO_LARGE', 'The file is larger than the limit.');
      const { hashBlob } = await bytes();
      const sha256 = await hashBlob(file, { signal: abort.signal, onProgress: (progress) => this.updatePreparing(key, { progress }) });
      if (abort.signal.aborted) return null;
      // The same client id on a retry would return the original offer, never a second card: so
      // while the server cannot reach its database the offer waits and goes again, as a message
      // does, instead of failing; dismissing the item stops the wait.
      const { file: card } = await untilStored(() => this.files.offer({ conv, clientId: key, name: file.name, size: file.size, type: file.type, sha256 }), {
        signal: abort.signal,
        delayed: () => this.updatePreparing(key, { waitingForStore: true }),
        flowing: () => this.updatePreparing(key, { waitingForStore: false }),
      });
      this.picked.set(card.id, file);
      this.dismiss(key);
      this.note(card);
      return card;
    } catch (error) {
      if (abort.signal.aborted) return null;
      this.updatePreparing(key, { waitingForStore: false, error: codeOf(error) });
      return null;
    } finally {
      this.aborts.delete(key);
    }
  }

  /** Forgets a failed offer, or stops one still being hashed (nothing has been sent yet). */
  dismiss(key: string): void {
    this.aborts.get(key)?.abort();
    this.preparing.value = this.preparing.value.filter((item) => item.key !== key);
  }

  accept(id: string): Promise<void> {
    this.autoSave.add(id);
    return this.decide(id, 'accept');
  }

  decline(id: string): Promise<void> {
    return this.decide(id, 'decline');
  }

  cancel(id: string): Promise<void> {
    this.aborts.get(id)?.abort();
    return this.decide(id, 'cancel');
  }

  /** A decision on a card that has moved on (the other side cancelled, it expired) shows the card as it is now. */
  private async decide(id: string, action: 'accept' | 'decline' | 'cancel'): Promise<void> {
    try {
      this.note(await this.files.decide(id, action));
    } catch (error) {
      if (!(error instanceof ParleyClientError) || error.code !== 'FILE_STATE') throw error;
      this.autoSave.delete(id);
      this.note(await this.files.get(id));
    }
  }

  /** The sender still has the file in this tab (no need to pick it again to resume). */
  hasPicked(id: string): boolean {
    return this.picked.has(id);
  }

  /** Resumes an upload that stopped: with the file this tab holds, or one picked again after a reload. */
  async resumeUpload(card: FileCard, file = this.picked.get(card.id)): Promise<void> {
    if (!file) return;
    if (!this.picked.has(card.id)) {
      this.setIn(this.local, card.id, { phase: 'checking', direction: 'up', startedAt: Date.now() });
      try {
        const { hashBlob } = await bytes();
        const same = file.size === card.size && (await hashBlob(file, { onProgress: (progress) => this.update(card.id, { progress }) })) === card.sha256;
        if (!same) throw new ParleyClientError('FILE_HASH_MISMATCH', 'That is not the file that was offered.');
      } catch (error) {
        this.update(card.id, { phase: 'failed', error: codeOf(error) === 'FILE_HASH_MISMATCH' ? 'NOT_SAME_FILE' : codeOf(error) });
        return;
      }
      this.picked.set(card.id, file);
    }
    await this.upload(card, file);
  }

  /** Downloads, checks size and SHA-256 against the offer, then saves; shows "received N bytes in T s". */
  async download(card: FileCard): Promise<void> {
    const startedAt = Date.now();
    const abort = new AbortController();
    this.aborts.set(card.id, abort);
    this.setIn(this.local, card.id, { phase: 'downloading', direction: 'down', startedAt });
    try {
      const { downloadBlob, saveBlob } = await bytes();
      this.held.add(card.id);
      const blob = await downloadBlob(this.files, card, {
        signal: abort.signal,
        onProgress: (progress) => this.update(card.id, { progress }),
        onDelivered: (delivered) => this.note(delivered),
      });
      saveBlob(blob, card.name);
      // Saved: the browser's download holds the Blob now, the copy in IndexedDB can go.
      this.forgetHeld(card.id);
      this.update(card.id, { phase: 'done', bytes: card.size, seconds: (Date.now() - startedAt) / 1000 });
    } catch (error) {
      this.update(card.id, { phase: 'failed', error: codeOf(error) });
    } finally {
      this.aborts.delete(card.id);
    }
  }

  /** Starts what a card's new state asks of this tab: the sender's upload, the accepting tab's download. */
  private react(id: string): void {
    const card = this.cards.value.get(id);
    if (!card || this.local.value.has(id)) return;
    const file = this.picked.get(id);
    if (card.state === 'accepted' && file) void this.upload(card, file);
    else if (card.state === 'completed' && this.autoSave.has(id)) {
      this.autoSave.delete(id);
      void this.download(card);
    }
  }

  private async upload(card: FileCard, file: File): Promise<void> {
    const startedAt = Date.now();
    const abort = new AbortController();
    this.aborts.set(card.id, abort);
    this.setIn(this.local, card.id, { phase: 'uploading', direction: 'up', startedAt });
    try {
      const { uploadBlob } = await bytes();
      const result = await uploadBlob(this.files, card, file, { signal: abort.signal, onProgress: (progress) => this.update(card.id, { progress }) });
      this.note(result.file);
      this.update(card.id, { phase: 'done', bytes: result.sent, seconds: (Date.now() - startedAt) / 1000 });
    } catch (error) {
      this.update(card.id, { phase: 'failed', error: codeOf(error) });
    } finally {
      this.aborts.delete(card.id);
    }
  }

  private update(key: string, change: Partial<LocalTransfer>): void {
    const current = this.local.value.get(key);
    if (current) this.setIn(this.local, key, { ...current, ...change });
  }

  private updatePreparing(key: string, change: Partial<Preparing>): void {
    this.preparing.value = this.preparing.value.map((item) => (item.key === key ? { ...item, ...change } : item));
  }

  private setIn<T>(target: { value: ReadonlyMap<string, T> }, key: string, value: T): void {
    const next = new Map(target.value);
    next.set(key, value);
    target.value = next;
  }
}

function codeOf(error: unknown): string {
  return error instanceof ParleyClientError ? error.code : 'NETWORK';
}
