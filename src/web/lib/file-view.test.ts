import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { FileCard } from '../../protocol/files.ts';
import type { LocalTransfer } from '../state/file-transfers.ts';

// i18n reads the browser's languages when it loads; this runs in Node.
vi.stubGlobal('navigator', { languages: ['en-US'], language: 'en-US' });
let fileView: typeof import('./file-view.ts').fileView;
let format: typeof import('./format.ts');
beforeAll(async () => {
  ({ fileView } = await import('./file-view.ts'));
  format = await import('./format.ts');
});

const ALICE = { id: 1, name: 'alice' };
const BOB = { id: 2, name: 'bob' };
const card = (change: Partial<FileCard> = {}): FileCard => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  conv: 'dm:1:2',
  seq: 3,
  from: ALICE,
  to: BOB,
  name: 'report.pdf',
  size: 13_002_342,
  type: 'application/pdf',
  sha256: '0'.repeat(64),
  state: 'offered',
  received: 0,
  offeredAt: 1_000,
  rev: 1,
  ...change,
});
const view = (c: FileCard, myId: number, local?: LocalTransfer, extra: { picked?: boolean; server?: { received: number; size: number; bytesPerSecond: number } } = {}) =>
  fileView({ card: c, myId, local, server: extra.server, picked: extra.picked ?? false, locale: 'en' });

describe('what a file card shows', () => {
  it('asks the recipient to accept or decline an offer, and lets the sender cancel it', () => {
    expect(view(card(), BOB.id)).toMatchObject({ status: 'alice wants to send you this file', actions: ['accept', 'decline'] });
    expect(view(card(), ALICE.id)).toMatchObject({ status: 'Waiting for bob to accept…', actions: ['cancel'] });
  });

  it('shows upload progress with speed and time left on both sides', () => {
    const accepted = card({ state: 'accepted', decidedAt: 2_000, received: 0 });
    const local: LocalTransfer = { phase: 'uploading', direction: 'up', startedAt: 0, progress: { done: 6_501_171, total: 13_002_342, thisRun: 6_501_171, bytesPerSecond: 1_048_576 } };
    const sender = view(accepted, ALICE.id, local, { picked: true });
    expect(sender.progress).toEqual({ percent: 50, label: 'Sending…', rate: '1 MiB/s · 7 s left' });
    const recipient = view(accepted, BOB.id, undefined, { server: { received: 6_501_171, size: 13_002_342, bytesPerSecond: 2 * 1_048_576 } });
    expect(recipient.progress).toMatchObject({ percent: 50, label: 'Receiving from alice…', rate: '2 MiB/s · 4 s left' });
  });

  it('after a reload the sender is asked for the file again, at the percentage the server holds', () => {
    const v = view(card({ state: 'accepted', received: 3_250_586 }), ALICE.id);
    expect(v).toMatchObject({ status: 'Paused at 25% · choose the file again to go on', actions: ['pickAgain', 'cancel'] });
  });

  it('ends with "sent/received N bytes in T s"; the recipient can save again', () => {
    const done = card({ state: 'completed', received: 13_002_342, decidedAt: 2_000, completedAt: 12_500, deliveredAt: 14_000 });
    expect(view(done, ALICE.id)).toMatchObject({ tone: 'success', status: 'Sent 13,002,342 bytes in 10.5 s', detail: 'bob received it' });
    expect(view(done, BOB.id)).toMatchObject({ status: 'Received 13,002,342 bytes in 12 s', actions: ['save'] });
    expect(view(card({ state: 'completed' }), BOB.id)).toMatchObject({ actions: ['download'] });
  });

  it('shows a finished transfer the same live as after a reload: the times on the card, no full bar', () => {
    const done = card({ state: 'completed', received: 13_002_342, decidedAt: 2_000, completedAt: 2_091, deliveredAt: 2_120 });
    const uploaded: LocalTransfer = { phase: 'done', direction: 'up', startedAt: 2_010, seconds: 0.056, bytes: 13_002_342 };
    const downloaded: LocalTransfer = { phase: 'done', direction: 'down', startedAt: 2_050, seconds: 0.043, bytes: 13_002_342 };
    expect(view(done, ALICE.id, uploaded, { picked: true })).toEqual(view(done, ALICE.id));
    expect(view(done, BOB.id, downloaded)).toEqual(view(done, BOB.id));
    expect(view(done, ALICE.id)).toEqual({ mine: true, tone: 'success', status: 'Sent 13,002,342 bytes in 0.091 s', detail: 'bob received it', actions: [] });
    expect(view(done, BOB.id)).toEqual({ mine: false, tone: 'success', status: 'Received 13,002,342 bytes in 0.12 s', actions: ['save'] });
  });

  it('says how it ended otherwise, and a final state wins over anything this tab was doing', () => {
    const uploading: LocalTransfer = { phase: 'uploading', direction: 'up', startedAt: 0 };
    expect(view(card({ state: 'declined' }), ALICE.id).status).toBe('bob declined');
    expect(view(card({ state: 'declined' }), BOB.id).status).toBe('You declined');
    expect(view(card({ state: 'cancelled' }), ALICE.id, uploading)).toMatchObject({ status: 'Cancelled', actions: [] });
    expect(view(card({ state: 'expired' }), BOB.id).status).toBe('Expired · not answered in time');
    expect(view(card({ state: 'failed', error: 'FILE_HASH_MISMATCH' }), BOB.id)).toMatchObject({
      tone: 'danger',
      status: 'Failed: The bytes did not match the SHA-256 of the offer, so the file was discarded.',
    });
    expect(view(card({ state: 'deleted' }), BOB.id)).toMatchObject({ status: 'No longer available', actions: [] });
  });

  it('a failed download offers a retry; a refused re-pick says it is not the same file', () => {
    expect(view(card({ state: 'completed' }), BOB.id, { phase: 'failed', direction: 'down', startedAt: 0, error: 'FILE_HASH_MISMATCH' }).actions).toEqual(['retryDownload']);
    const refused = view(card({ state: 'accepted' }), ALICE.id, { phase: 'failed', direction: 'up', startedAt: 0, error: 'NOT_SAME_FILE' });
    expect(refused).toMatchObject({ tone: 'danger', actions: ['pickAgain', 'cancel'] });
    expect(refused.status).toContain('That is not the file you offered');
  });

  it('a download held in the browser from before a reload is paused at its share, with Resume; a gone file shows no pause', () => {
    const paused: LocalTransfer = { phase: 'paused', direction: 'down', startedAt: 0, progress: { done: 6_501_171, total: 13_002_342, thisRun: 0, bytesPerSecond: 0 } };
    expect(view(card({ state: 'completed' }), BOB.id, paused)).toMatchObject({
      tone: 'waiting',
      status: 'Paused at 50% · resume to download the rest',
      progress: { percent: 50 },
      actions: ['resumeDownload'],
    });
    expect(view(card({ state: 'deleted' }), BOB.id, paused)).toMatchObject({ status: 'No longer available', actions: [] });
  });
});

describe('file sizes, names and durations', () => {
  it('formats sizes in binary multiples with three significant digits', () => {
    expect(format.humanBytes(0, 'en')).toBe('0 B');
    expect(format.humanBytes(300 * 1024, 'en')).toBe('300 KiB');
    expect(format.humanBytes(13_002_342, 'en')).toBe('12.4 MiB');
    expect(format.humanBytes(2 * 1024 ** 3, 'zh-CN')).toBe('2 GiB');
  });

  it('never says 100 % before the last byte', () => {
    expect(format.percentOf(999, 1000)).toBe(99);
    expect(format.percentOf(1000, 1000)).toBe(100);
    expect(format.percentOf(0, 0)).toBe(100);
  });

  it('takes an extension and a kind from the name for the icon only', () => {
    expect(format.extensionOf('report.final.PDF')).toBe('PDF');
    expect(format.extensionOf('.bashrc')).toBe('');
    expect(format.extensionOf('<img src=x onerror=alert(1)>.txt')).toBe('TXT');
    expect(format.kindOf('photo', 'image/png')).toBe('image');
    expect(format.kindOf('x.tar.gz', '')).toBe('archive');
  });
});
