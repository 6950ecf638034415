import { randomBytes } from 'node:crypto';
import { finished } from 'node:stream/promises';
import type { Logger } from 'pino';
import {
  OPEN_FILE_STATES,
  WORLD,
  dmMembers,
  dmPeer,
  type ErrorCode,
  type FileCard,
  type FileOfferReply,
  type FileState,
  type UserRef,
} from '../../protocol/index.ts';
import type { z } from 'zod';
import type { fileOfferBody, filesQuery } from '../../protocol/index.ts';
import type { Chat } from '../chat/chat.ts';
import { ParleyError } from '../errors.ts';
import { usersAudience, type EventPublisher } from '../events/events.ts';
import type { FileChange } from '../storage/file-records.ts';
import type { Store } from '../storage/store.ts';
import type { BlobStore } from './blob-store.ts';
import type { Clock } from '../clock.ts';
import { ALONE, type OneAtATime } from './one-at-a-time.ts';
import type { UploadGuard } from './upload-sessions.ts';

export interface FileLimits {
  maxFileBytes: number;
  /** An offer not answered within this expires; so does an accepted upload idle this long. */
  offerTtlMs: number;
  /** Completed files are deleted this long after completion; null keeps them. */
  retentionMs: number | null;
}

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** States in which the bytes are gone for good. */
const GONE: readonly FileState[] = ['declined', 'cancelled', 'expired', 'failed', 'deleted'];

/**
 * File offers in direct conversations: offer (a message with a card), decide, cancel, expire,
 * retain. Every change is a compare-and-set on the card's state, committed, then published
 * (check, then do, then publish). Authorization is by scoping: a card is visible only to the
 * two members of its DM; to anyone else it does not exist (NOT_FOUND).
 * See docs/ARCHITECTURE.md, "File transfer".
 */
export class Files {
  private stopSweeper: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    private readonly chat: Chat,
    readonly blobs: BlobStore,
    private readonly events: EventPublisher,
    readonly limits: FileLimits,
    private readonly log: Logger,
    /**
     * Running uploads (upload-sessions.ts, owned by Transfers): never expired underneath; every
     * end of a transfer stops its request and frees its kept hash, next to freeing its bytes.
     */
    private readonly uploads: UploadGuard,
    readonly clock: Clock,
    /** The sweep runs on one node at a time across a cluster (one-at-a-time.ts). */
    private readonly sweeps: OneAtATime = ALONE,
  ) {}

  async offer(sender: UserRef, body: z.output<typeof fileOfferBody>): Promise<FileOfferReply> {
    // An offer is a message in the DM: it takes from the sender's send budget first, as a text does.
    await this.chat.takeSend(sender.id);
    // Files go in direct conversations only: one that exists says so by its kind; one that does
    // not exist yet can only be a DM, which this offer creates.
    const membership = await this.store.membership(sender.id, body.conv);
    if (membership ? membership.kind !== 'dm' : !dmMembers(body.conv)) {
      if (!membership && body.conv !== WORLD) throw new ParleyError('NOT_FOUND', 'No such conversation.');
      throw new ParleyError('FILE_DM_ONLY');
    }
    const peerId = dmPeer(body.conv, sender.id);
    const peer = peerId === null ? null : await this.store.userById(peerId);
    if (!peer) throw new ParleyError('NOT_FOUND', 'No such conversation.');
    if (body.size > this.limits.maxFileBytes) {
      throw new ParleyError('FILE_TOO_LARGE', `A file is at most ${this.limits.maxFileBytes} bytes; this one has ${body.size}.`);
    }
    const now = this.clock.now();
    const { message } = await this.chat.commitMessage({
      conv: body.conv,
      sender,
      clientId: body.clientId,
      // The name doubles as the text, so a client that knows nothing of files still shows something.
      text: body.name,
      ts: now,
      file: {
        id: newFileId(),
        recipient: peer,
        name: body.name,
        size: body.size,
        type: body.type,
        sha256: body.sha256,
        expiresAt: now + this.limits.offerTtlMs,
      },
    });
    if (!message.file) throw new ParleyError('BAD_REQUEST', 'This clientId was already used for a message that is not a file offer.');
    return { file: message.file, message: { conv: message.conv, seq: message.seq, ts: message.ts, clientId: message.clientId } };
  }

  /** The card, if `user` is one of its two members. */
  async get(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.store.files.byId(id);
    if (!card || (card.from.id !== user.id && card.to.id !== user.id)) throw new ParleyError('NOT_FOUND', 'No such file.');
    return card;
  }

  list(user: UserRef, query: z.output<typeof filesQuery>): Promise<FileCard[]> {
    return this.store.files.ofUser(user.id, {
      limit: query.limit,
      ...(query.conv ? { conv: query.conv } : {}),
      ...(query.state === 'open' ? { states: OPEN_FILE_STATES } : {}),
    });
  }

  async accept(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.get(user, id);
    this.checkRole(card, user, 'to', 'Only the recipient can accept a file.');
    const free = await this.blobs.freeBytes();
    if (free !== null && free < card.size) {
      throw new ParleyError('STORAGE_FULL', `The server has ${free} bytes free and cannot take this file of ${card.size} bytes now.`);
    }
    const now = this.clock.now();
    if (card.size === 0 && card.sha256 === EMPTY_SHA256) return this.acceptEmpty(card, now);
    const accepted = await this.transition(card, ['offered'], { state: 'accepted', decidedAt: now, expiresAt: now + this.limits.offerTtlMs });
    // An empty file that claimed another hash: accepted, then failed by the check as any upload would be.
    if (accepted.size === 0) return this.complete(accepted, EMPTY_SHA256);
    return accepted;
  }

  /**
   * Nothing to upload: the empty file goes from offered to completed in one step. Were it
   * published as accepted first, the sender could ask for it in that instant, find nothing left
   * to send and a card that is not complete.
   */
  private async acceptEmpty(card: FileCard, now: number): Promise<FileCard> {
    await finished((await this.blobs.append(card.id, 0)).end());
    await this.blobs.seal(card.id);
    try {
      return await this.transition(card, ['offered'], { state: 'completed', decidedAt: now, completedAt: now, received: 0, expiresAt: null });
    } catch (error) {
      // Cancelled meanwhile: drop the empty blob, unless a second accept won the race with it.
      if ((await this.store.files.byId(card.id))?.state !== 'completed') await this.discard(card.id);
      throw error;
    }
  }

  async decline(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.get(user, id);
    this.checkRole(card, user, 'to', 'Only the recipient can decline a file; the sender cancels.');
    return this.transition(card, ['offered'], { state: 'declined', decidedAt: this.clock.now(), expiresAt: null });
  }

  /** The sender may cancel until the upload completes; the recipient, once they have accepted. */
  async cancel(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.get(user, id);
    const from: FileState[] = card.from.id === user.id ? ['offered', 'accepted'] : ['accepted'];
    const cancelled = await this.transition(card, from, { state: 'cancelled', decidedAt: this.clock.now(), expiresAt: null });
    await this.discard(id);
    return cancelled;
  }

  /** The recipient's client saved the bytes and their SHA-256 matched. */
  async delivered(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.get(user, id);
    this.checkRole(card, user, 'to', 'Only the recipient confirms delivery.');
    if (card.deliveredAt !== undefined) return card;
    return this.transition(card, ['completed'], { deliveredAt: this.clock.now() });
  }

  /** The card for a download: completed, or a clear reason why not. */
  async downloadable(user: UserRef, id: string): Promise<FileCard> {
    const card = await this.get(user, id);
    if (card.state === 'completed') return card;
    if (GONE.includes(card.state)) throw new ParleyError('FILE_GONE', `The file is no longer available (${card.state}).`);
    throw new ParleyError('FILE_NOT_READY');
  }

  /** The server verified every byte: seal the blob and tell both members. */
  async complete(card: FileCard, sha256: string): Promise<FileCard> {
    if (sha256 !== card.sha256) {
      await this.fail(card, 'FILE_HASH_MISMATCH');
      throw new ParleyError('FILE_HASH_MISMATCH', `The bytes hash to ${sha256}, not the offered ${card.sha256}; the file was discarded.`);
    }
    try {
      if (card.size === 0) await finished((await this.blobs.append(card.id, 0)).end());
      await this.blobs.seal(card.id);
    } catch (error) {
      // Cancelled meanwhile: the bytes were discarded under us.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new ParleyError('FILE_GONE');
      throw error;
    }
    return this.transition(card, ['accepted'], { state: 'completed', received: card.size, completedAt: this.clock.now(), expiresAt: null, error: null });
  }

  /** The transfer cannot succeed (wrong hash, more bytes than offered): discard the bytes, record why. */
  async fail(card: FileCard, code: ErrorCode): Promise<void> {
    await this.discard(card.id);
    await this.store.files
      .update(card.id, ['accepted'], { state: 'failed', error: code, expiresAt: null })
      .then((failed) => failed && this.changed(failed));
  }

  /** Records progress at the end of an upload request, and keeps an active transfer from expiring. */
  async uploaded(card: FileCard, received: number): Promise<void> {
    const changed = await this.store.files.update(card.id, ['accepted'], { received, expiresAt: this.clock.now() + this.limits.offerTtlMs });
    if (changed) this.changed(changed);
  }

  /** Expires unanswered offers and idle uploads, deletes completed files past retention. */
  async sweep(now = this.clock.now()): Promise<void> {
    for (const card of await this.store.files.expiring(now, 500)) {
      if (await this.uploads.isRunning(card.id)) continue;
      const expired = await this.store.files.update(card.id, OPEN_FILE_STATES, { state: 'expired', decidedAt: now, expiresAt: null });
      await this.discard(card.id);
      if (expired) this.changed(expired);
    }
    if (this.limits.retentionMs === null) return;
    for (const card of await this.store.files.completedBefore(now - this.limits.retentionMs, 500)) {
      // The card goes first: a download that starts after this finds it deleted, not a missing blob.
      const deleted = await this.store.files.update(card.id, ['completed'], { state: 'deleted' });
      await this.discard(card.id);
      if (deleted) this.changed(deleted);
    }
  }

  start(): void {
    const shortest = Math.min(this.limits.offerTtlMs, this.limits.retentionMs ?? Infinity);
    const every = Math.max(200, Math.min(60_000, shortest / 4));
    const run = () => this.sweeps.run(() => this.sweep()).catch((error) => this.log.error({ err: error }, 'file sweep failed'));
    void run();
    this.stopSweeper = this.clock.every(every, run);
  }

  stop(): void {
    this.stopSweeper?.();
    this.stopSweeper = null;
  }

  /** Upload progress, to both members; not stored, so not ordered: the next one replaces it. */
  progress(card: FileCard, received: number): void {
    this.events.publish({ type: 'fileProgress', audience: audienceOf(card), id: card.id, conv: card.conv, received, size: card.size });
  }

  /** A committed change of a card, to both members of its DM. */
  private changed(card: FileCard): void {
    this.events.publish({ type: 'file', rev: card.rev, audience: audienceOf(card), file: card });
  }

  private checkRole(card: FileCard, user: UserRef, role: 'from' | 'to', message: string): void {
    if (card[role].id !== user.id) throw new ParleyError('FILE_STATE', message);
  }

  /** Commits one state change if the card is still in one of `from`, then publishes it. */
  private async transition(card: FileCard, from: readonly FileState[], change: FileChange): Promise<FileCard> {
    const changed = await this.store.files.update(card.id, from, change);
    if (!changed) {
      const now = await this.store.files.byId(card.id);
      throw new ParleyError('FILE_STATE', `The file is ${now?.state ?? 'gone'}; that is not possible now.`);
    }
    this.changed(changed);
    return changed;
  }

  /** Frees what a transfer that is over holds: its running request, its kept hash and its bytes. */
  private async discard(id: string): Promise<void> {
    await this.uploads.end(id).catch((error) => this.log.error({ err: error, file: id }, 'could not end the upload lease'));
    try {
      await this.blobs.delete(id);
    } catch (error) {
      this.log.error({ err: error, file: id }, 'could not delete a file blob');
    }
  }
}

function audienceOf(card: FileCard) {
  return usersAudience([card.from.id, card.to.id]);
}

/**
 * 128 random bits, base64url. An id that starts with "-" reads as an option on a command line
 * (`parley receive --accept <id>`), so those are drawn again: it costs under 0.05 bits.
 */
export function newFileId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
