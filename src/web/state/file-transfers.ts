import { signal } from '@preact/signals';
import type { ParleyApi } from '../../client/api.ts';
import { downloadBlob, hashBlob, saveBlob, uploadBlob } from '../../client/browser-files.ts';
import { ParleyClientError } from '../../client/errors.ts';
import { FileApi, type TransferProgress } from '../../client/files.ts';
import type { ChatSession } from '../../client/session.ts';
import { newClientId } from '../../client/session.ts';
import type { ConversationId } from '../../protocol/conversations.ts';
import { newerCard, type FileCard } from '../../protocol/files.ts';
import type { Message } from '../../protocol/frames.ts';

/** What this tab is doing with one file, for the card's progress bar and its last line. */
export interface LocalTransfer {
  phase: 'hashing' | 'uploading' | 'downloading' | 'done' | 'failed';
  progress?: TransferProgress;
  startedAt: number;
  /** "sent/received N bytes in T s" once done. */
  bytes?: number;
  seconds?: number;
  error?: string;
}

/**
 * The web client's file cards (not wired into the UI yet; see the file-card component plan in
 * docs): the newest card per file id from history pages, `file` frames and offers; server-side
 * upload progress from `fileProgress`; and this tab's own transfers. The File a user picked
 * lives only in this tab: after a reload an accepted upload needs the file picked again
 * (`resumeUpload`), which checks it is the same file before sending the rest.
 */
export class FileTransfers {
  readonly cards = signal<ReadonlyMap<string, FileCard>>(new Map());
  /** Bytes the server holds of files being uploaded by someone (either side sees it). */
  readonly serverProgress = signal<ReadonlyMap<string, { received: number; size: number }>>(new Map());
  readonly local = signal<ReadonlyMap<string, LocalTransfer>>(new Map());
  private readonly files: FileApi;
  private readonly picked = new Map<string, File>();

  constructor(api: ParleyApi, session: ChatSession) {
    this.files = new FileApi(api);
    session.on('file', (card) => this.note(card));
    session.on('message', (message) => this.noteMessage(message));
    session.on('fileProgress', ({ id, received, size }) => this.setIn(this.serverProgress, id, { received, size }));
  }

  /** Cards that arrive with history pages (call for each page). */
  noteMessage(message: Message): void {
    if (message.file) this.note(message.file);
  }

  note(card: FileCard): void {
    const current = this.cards.value.get(card.id);
    if (newerCard(current, card) === current) return;
    this.setIn(this.cards, card.id, card);
    // The sender's tab uploads as soon as the recipient accepts.
    const file = this.picked.get(card.id);
    if (card.state === 'accepted' && file && !this.local.value.has(card.id)) void this.upload(card, file);
  }

  /** Hash the picked (dropped, pasted) file, then offer it; the upload starts on accept. */
  async offer(conv: ConversationId, file: File): Promise<FileCard> {
    const key = `hash:${conv}:${file.name}:${file.size}`;
    this.setIn(this.local, key, { phase: 'hashing', startedAt: Date.now() });
    try {
      const sha256 = await hashBlob(file, { onProgress: (progress) => this.update(key, { progress }) });
      const { file: card } = await this.files.offer({ conv, clientId: newClientId(), name: file.name, size: file.size, type: file.type, sha256 });
      this.picked.set(card.id, file);
      this.note(card);
      return card;
    } finally {
      this.deleteIn(this.local, key);
    }
  }

  accept(id: string) {
    return this.files.decide(id, 'accept').then((card) => this.note(card));
  }

  decline(id: string) {
    return this.files.decide(id, 'decline').then((card) => this.note(card));
  }

  cancel(id: string) {
    return this.files.decide(id, 'cancel').then((card) => this.note(card));
  }

  /** After a reload: the sender picks the file again; a different file is refused before any byte is sent. */
  async resumeUpload(card: FileCard, file: File): Promise<void> {
    if (file.size !== card.size || (await hashBlob(file)) !== card.sha256) {
      throw new ParleyClientError('FILE_HASH_MISMATCH', 'That is not the file that was offered.');
    }
    this.picked.set(card.id, file);
    await this.upload(card, file);
  }

  /** Download, verify, save; shows "received N bytes in T s". */
  async download(card: FileCard): Promise<void> {
    const startedAt = Date.now();
    this.setIn(this.local, card.id, { phase: 'downloading', startedAt });
    try {
      const blob = await downloadBlob(this.files, card, { onProgress: (progress) => this.update(card.id, { progress }) });
      saveBlob(blob, card.name);
      this.update(card.id, { phase: 'done', bytes: card.size, seconds: (Date.now() - startedAt) / 1000 });
    } catch (error) {
      this.update(card.id, { phase: 'failed', error: (error as Error).message });
    }
  }

  private async upload(card: FileCard, file: File): Promise<void> {
    const startedAt = Date.now();
    this.setIn(this.local, card.id, { phase: 'uploading', startedAt });
    try {
      const result = await uploadBlob(this.files, card, file, { onProgress: (progress) => this.update(card.id, { progress }) });
      this.note(result.file);
      this.update(card.id, { phase: 'done', bytes: card.size, seconds: (Date.now() - startedAt) / 1000 });
    } catch (error) {
      this.update(card.id, { phase: 'failed', error: (error as Error).message });
    }
  }

  private update(key: string, change: Partial<LocalTransfer>): void {
    const current = this.local.value.get(key);
    if (current) this.setIn(this.local, key, { ...current, ...change });
  }

  private setIn<T>(target: { value: ReadonlyMap<string, T> }, key: string, value: T): void {
    const next = new Map(target.value);
    next.set(key, value);
    target.value = next;
  }

  private deleteIn<T>(target: { value: ReadonlyMap<string, T> }, key: string): void {
    const next = new Map(target.value);
    next.delete(key);
    target.value = next;
  }
}
