import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { nodeSession } from '../src/client/node.ts';
import { startParley, type RunningParley } from '../src/server/app.ts';
import { parseConfig } from '../src/server/config.ts';
import { LocalBlobStore } from '../src/server/files/local-blob-store.ts';
import { errorCode, heldOnDisk, offer, patchUpload, sha256, threeUsers } from './support/files.ts';

let parley: RunningParley | null = null;
let dataDir = '';
const dirs: string[] = [];
afterEach(async () => {
  await parley?.close();
  parley = null;
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** The real disk, whose flush at the end of an upload request takes `flushDelayMs` more (a loaded disk). */
class SlowFlushDisk extends LocalBlobStore {
  flushDelayMs = 0;

  override async append(id: string, offset: number) {
    const stream = await super.append(id, offset);
    const delay = this.flushDelayMs;
    const end = stream.end.bind(stream) as () => void;
    stream.end = (() => {
      setTimeout(end, delay);
      return stream;
    }) as typeof stream.end;
    return stream;
  }
}

async function start(disk?: (dir: string) => LocalBlobStore, flags: string[] = []) {
  dataDir = await mkdtemp(join(tmpdir(), 'parley-cut-'));
  dirs.push(dataDir);
  const blobs = disk?.(join(dataDir, 'files'));
  parley = await startParley(parseConfig(['--port', '0', '--data', dataDir, ...flags], {}), { logger: pino({ level: 'silent' }), ...(blobs ? { blobs } : {}) });
  return threeUsers(parley.url);
}

/** Sends the first `cutAt` bytes of `data` in a PATCH that promises all of it, then closes the connection. */
async function cutUpload(users: Awaited<ReturnType<typeof threeUsers>>, card: Awaited<ReturnType<typeof offer>>, data: Buffer, cutAt: number) {
  const body = new PassThrough();
  const abort = new AbortController();
  const reply = patchUpload(users.alice.api, card, 0, body, { 'content-length': String(data.length) }, abort.signal);
  body.write(data.subarray(0, cutAt));
  // Cut once the server holds part of it, as a sender whose laptop lid closed. (Watched on the
  // disk: a HEAD would itself stop the request, see the last test.)
  await heldOnDisk(dataDir, card.id, 1);
  abort.abort();
  body.destroy();
  expect((await reply).status).toBe(0);
}

describe('resuming an upload whose request was cut mid-body', () => {
  it('succeeds on the first try while the cut request is still making its bytes durable (a slow disk)', async () => {
    let disk!: SlowFlushDisk;
    const users = await start((dir) => (disk = new SlowFlushDisk(dir)));
    const data = randomBytes(2_000_000);
    const card = await offer(users.alice.files, users.conv, data);
    await users.bob.files.decide(card.id, 'accept');
    disk.flushDelayMs = 1500;
    await cutUpload(users, card, data, 600_000);

    // At once: where to resume, then the rest. Neither is told to come back later.
    const offset = await users.alice.files.uploadOffset(card.id);
    expect(offset).toBeGreaterThan(0);
    expect(offset).toBeLessThanOrEqual(600_000);
    disk.flushDelayMs = 0;
    const rest = await patchUpload(users.alice.api, card, offset, data.subarray(offset));
    expect([rest.status, errorCode(rest)]).toEqual([204, undefined]);
    const file = await users.alice.files.get(card.id);
    expect(file).toMatchObject({ state: 'completed', received: data.length, sha256: sha256(data) });
    expect(parley!.keptUploadHashes()).toBe(0);
  });

  it('succeeds on the first try, ten times in a row, on the real disk', async () => {
    const users = await start();
    for (let trial = 0; trial < 10; trial++) {
      const data = randomBytes(1_500_000);
      const card = await offer(users.alice.files, users.conv, data, `trial-${trial}.bin`);
      await users.bob.files.decide(card.id, 'accept');
      await cutUpload(users, card, data, 500_000 + trial * 50_000);
      const offset = await users.alice.files.uploadOffset(card.id);
      const rest = await patchUpload(users.alice.api, card, offset, data.subarray(offset));
      expect([trial, rest.status, errorCode(rest)]).toEqual([trial, 204, undefined]);
      expect((await users.alice.files.get(card.id)).state).toBe('completed');
    }
  });

  it('a newer request takes over from a running one: the older is answered UPLOAD_INTERRUPTED, its bytes kept', async () => {
    const users = await start();
    const data = randomBytes(1_000_000);
    const card = await offer(users.alice.files, users.conv, data);
    await users.bob.files.decide(card.id, 'accept');
    const body = new PassThrough();
    body.write(data.subarray(0, 100_000));
    const first = patchUpload(users.alice.api, card, 0, body, { 'content-length': String(data.length) });
    await heldOnDisk(dataDir, card.id, 100_000);
    // The first request is still open and waiting for more: HEAD stops it and answers what it kept.
    const offset = await users.alice.files.uploadOffset(card.id);
    expect(offset).toBe(100_000);
    const older = await first;
    body.destroy();
    expect([older.status, errorCode(older)]).toEqual([400, 'UPLOAD_INTERRUPTED']);
    const rest = await patchUpload(users.alice.api, card, offset, data.subarray(offset));
    expect([rest.status, errorCode(rest)]).toEqual([204, undefined]);
    expect(await users.alice.files.get(card.id)).toMatchObject({ state: 'completed', sha256: sha256(data) });
  });

  it('a sender that goes silent mid-body without closing is cut after --http-idle-timeout: what arrived is recorded, the resume succeeds', async () => {
    const users = await start(undefined, ['--http-idle-timeout', '500ms']);
    // A WebSocket session, idle all along, is not an HTTP connection the timeout closes.
    const session = nodeSession(users.alice.api);
    const synced = new Promise<void>((resolve) => session.on('synced', () => resolve()));
    session.connect();
    await synced;
    const data = randomBytes(1_000_000);
    const card = await offer(users.alice.files, users.conv, data);
    await users.bob.files.decide(card.id, 'accept');
    const body = new PassThrough();
    const reply = patchUpload(users.alice.api, card, 0, body, { 'content-length': String(data.length) });
    body.write(data.subarray(0, 300_000));
    // A running request records nothing until it ends: the card says 300,000 once the server cut it.
    const deadline = Date.now() + 20_000;
    while ((await users.alice.files.get(card.id)).received !== 300_000) {
      if (Date.now() > deadline) throw new Error('the stalled upload was never cut');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect((await reply).status).toBe(0); // no answer: the connection was closed
    body.destroy();
    const rest = await patchUpload(users.alice.api, card, 300_000, data.subarray(300_000));
    expect([rest.status, errorCode(rest)]).toEqual([204, undefined]);
    expect(await users.alice.files.get(card.id)).toMatchObject({ state: 'completed', sha256: sha256(data) });
    await session.ping();
    expect(session.state).toBe('online');
    session.close();
  });
});
