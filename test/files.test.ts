import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import { downloadFile, uploadFile } from '../src/client/node-files.ts';
import { nodeSession } from '../src/client/node.ts';
import { startParley } from '../src/server/app.ts';
import { parseConfig } from '../src/server/config.ts';
import { LocalBlobStore } from '../src/server/files/local-blob-store.ts';
import type { FileCard, Message } from '../src/protocol/index.ts';
import { connect, waitFor, type Client } from './support/clients.ts';
import { errorCode, heldOnDisk, offer, patchUpload, rawRequest, sha256, tempFile, threeUsers } from './support/files.ts';
import { startHoldingProxy } from './support/proxy.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';

let server: TestServer;
const clients: Client[] = [];
const dirs: string[] = [];
const proxies: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const proxy of proxies.splice(0)) await proxy.close();
  await server?.close();
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

async function start(flags: string[] = []) {
  server = await startTestServer({ flags, restartable: true });
  return threeUsers(server.url);
}

async function live(api: ParleyApi) {
  const client = await connect(api);
  clients.push(client);
  const cards: FileCard[] = [];
  client.session.on('file', (card) => cards.push(card));
  return { client, cards, last: (id: string) => cards.filter((card) => card.id === id).at(-1) };
}

async function outDir() {
  const dir = await mkdtemp(join(tmpdir(), 'parley-received-'));
  dirs.push(dir);
  return dir;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const blobsDir = () => join(server.dataDir, 'files');
const storedNames = async () => (existsSync(blobsDir()) ? await readdir(blobsDir()) : []);
const get = (api: ParleyApi, path: string, headers: Record<string, string> = {}) => rawRequest(api, 'GET', path, headers);

describe('offering a file', () => {
  it('is a message in the DM carrying a card, and both members see every change through to delivery', async () => {
    const { alice, bob, conv } = await start();
    const bobLive = await live(bob.api);
    const aliceLive = await live(alice.api);
    const data = randomBytes(300_000);
    const card = await offer(alice.files, conv, data, 'report.pdf');
    expect(card).toMatchObject({ conv, from: { name: 'alice' }, to: { name: 'bob' }, name: 'report.pdf', size: data.length, state: 'offered', received: 0 });

    await waitFor(() => bobLive.client.messages.some((m) => m.file?.id === card.id), 'the offer message');
    const message = bobLive.client.messages.find((m) => m.file?.id === card.id)!;
    expect(message).toMatchObject({ conv, seq: card.seq, text: 'report.pdf', file: { state: 'offered', sha256: sha256(data) } });

    await bob.files.decide(card.id, 'accept');
    const sent = await uploadFile(alice.files, card, await tempFile(data));
    expect(sent).toMatchObject({ resumedAt: 0, sent: data.length, file: { state: 'completed', received: data.length } });
    const received = await downloadFile(bob.files, sent.file, await outDir());
    expect(await readFile(received.path)).toEqual(data);

    for (const side of [aliceLive, bobLive]) {
      await waitFor(() => side.last(card.id)?.deliveredAt !== undefined, 'the delivered card');
      expect(side.cards.filter((c) => c.id === card.id).map((c) => c.state)).toEqual(['accepted', 'completed', 'completed']);
    }
    // The history shows the card as it is now, to someone who logs in later.
    const page = await bob.api.history(conv);
    expect(page.messages.at(-1)!.file).toMatchObject({ id: card.id, state: 'completed', received: data.length });
  });

  it('stores a retried offer (same clientId) once', async () => {
    const { alice, conv } = await start();
    const body = { conv, clientId: 'same-offer', name: 'a.txt', size: 3, sha256: sha256('abc') };
    const first = await alice.files.offer(body);
    const again = await alice.files.offer(body);
    expect(again.file.id).toBe(first.file.id);
    expect((await alice.api.history(conv)).messages).toHaveLength(1);
  });

  it('is refused one byte over the size limit, before any byte is sent', async () => {
    const { alice, conv } = await start(['--max-file-bytes', '1000']);
    await expect(offer(alice.files, conv, randomBytes(1000), 'ok.bin')).resolves.toMatchObject({ size: 1000 });
    await expect(offer(alice.files, conv, randomBytes(1001), 'big.bin')).rejects.toMatchObject({ code: 'FILE_TOO_LARGE', status: 413 });
    expect((await alice.api.history(conv)).messages).toHaveLength(1);
  });

  it('works in direct conversations only', async () => {
    const { alice } = await start();
    await expect(offer(alice.files, 'world', Buffer.from('x'))).rejects.toMatchObject({ code: 'FILE_DM_ONLY' });
  });
});

describe('offering files fast', () => {
  it('takes from the send budget, like a message: past the burst RATE_LIMITED (429), nothing stored, until it refills', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--send-rate', '1', '--send-burst', '4'] });
    const { alice, conv } = await threeUsers(server.url);
    for (let i = 0; i < 4; i++) await offer(alice.files, conv, Buffer.from(`file ${i}`));
    await expect(offer(alice.files, conv, Buffer.from('one too many'))).rejects.toMatchObject({ status: 429, code: 'RATE_LIMITED', retryAfterMs: 1000 });
    // One budget with messages: a send is refused as well, and neither was stored.
    await expect(alice.api.send(conv, 'hello')).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect((await alice.api.history(conv)).messages).toHaveLength(4);
    expect(await alice.files.list({ state: 'all' })).toHaveLength(4);
    await clock.advance(1000);
    await offer(alice.files, conv, Buffer.from('after a second'));
    expect(await alice.files.list({ state: 'all' })).toHaveLength(5);
  });
});

describe('deciding', () => {
  it('decline tells the sender and leaves nothing on disk', async () => {
    const { alice, bob, conv } = await start();
    const aliceLive = await live(alice.api);
    const card = await offer(alice.files, conv, Buffer.from('secret plans'));
    await bob.files.decide(card.id, 'decline');
    await waitFor(() => aliceLive.last(card.id)?.state === 'declined', 'the declined card');
    const upload = await patchUpload(alice.api, card, 0, Buffer.from('secret plans'));
    expect([upload.status, errorCode(upload)]).toEqual([410, 'FILE_GONE']);
    expect(await storedNames()).toEqual([]);
    const content = await get(bob.api, `/api/files/${card.id}/content`);
    expect([content.status, errorCode(content)]).toEqual([410, 'FILE_GONE']);
  });

  it('only the recipient accepts or declines; the sender can cancel at any point before completion', async () => {
    const { alice, bob, conv } = await start();
    const card = await offer(alice.files, conv, randomBytes(100_000));
    await expect(alice.files.decide(card.id, 'accept')).rejects.toMatchObject({ code: 'FILE_STATE' });
    await bob.files.decide(card.id, 'accept');
    expect((await patchUpload(alice.api, card, 0, randomBytes(40_000).subarray(0, 40_000), { 'content-length': '40000' })).status).toBe(204);
    expect(await storedNames()).toEqual([`${card.id}.part`]);
    expect(await alice.files.decide(card.id, 'cancel')).toMatchObject({ state: 'cancelled' });
    expect(await storedNames()).toEqual([]);
    await expect(bob.files.decide(card.id, 'accept')).rejects.toMatchObject({ code: 'FILE_STATE' });
  });

  it('an unanswered offer expires 24 h after the offer (by the next minute\'s sweep), and a kept file is deleted after the retention time but its card stays', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ clock, flags: ['--file-retention', '7d'] });
    const { alice, bob, conv } = await threeUsers(server.url);
    const bobLive = await live(bob.api);
    const ignored = await offer(alice.files, conv, Buffer.from('nobody answers'));
    const data = Buffer.from('short-lived');
    const kept = await offer(alice.files, conv, data, 'kept.txt');
    await bob.files.decide(kept.id, 'accept');
    await uploadFile(alice.files, kept, await tempFile(data));
    const state = async (id: string) => (await bob.files.get(id)).state;

    await clock.advance(DAY - 1);
    expect(await state(ignored.id)).toBe('offered');
    await clock.advance(MINUTE);
    expect(await state(ignored.id)).toBe('expired');
    await waitFor(() => bobLive.last(ignored.id)?.state === 'expired', 'the expired card at bob');

    await clock.advance(7 * DAY - DAY - MINUTE - 1);
    expect(await state(kept.id)).toBe('completed');
    await clock.advance(MINUTE);
    expect(await state(kept.id)).toBe('deleted');
    await waitFor(() => bobLive.last(kept.id)?.state === 'deleted', 'the deleted card at bob');
    const content = await get(bob.api, `/api/files/${kept.id}/content`);
    expect([content.status, errorCode(content)]).toEqual([410, 'FILE_GONE']);
    expect((await bob.api.history(conv)).messages.map((m) => m.file?.state)).toEqual(['expired', 'deleted']);
    expect(await storedNames()).toEqual([]);
  });
});

describe('the upload', () => {
  it('refuses a chunked body that runs past the offer with 413 UPLOAD_EXCEEDS_OFFER, and discards what it sent', async () => {
    const { alice, bob, conv } = await start();
    const bobLive = await live(bob.api);
    const card = await offer(alice.files, conv, randomBytes(1000));
    await bob.files.decide(card.id, 'accept');
    // No Content-Length to check up front: 1,001 bytes in two chunks, small enough to be read whole.
    const reply = await patchUpload(alice.api, card, 0, Readable.from([randomBytes(600), randomBytes(401)]));
    expect([reply.status, errorCode(reply)]).toEqual([413, 'UPLOAD_EXCEEDS_OFFER']);
    await waitFor(() => bobLive.last(card.id)?.state === 'failed', 'the failed card');
    expect(bobLive.last(card.id)!.error).toBe('UPLOAD_EXCEEDS_OFFER');
    expect(await storedNames()).toEqual([]);
  });

  it('cuts off a client that keeps sending past the offer instead of reading on', async () => {
    const { alice, bob, conv } = await start();
    const card = await offer(alice.files, conv, randomBytes(1000));
    await bob.files.decide(card.id, 'accept');
    // 100 MB, far more than the socket buffers between the two hold: only a cut ends it early.
    const chunk = randomBytes(64 * 1024);
    const total = 1600;
    let produced = 0;
    const endless = Readable.from((function* () {
      for (; produced < total; produced++) yield chunk;
    })());
    const reply = await patchUpload(alice.api, card, 0, endless);
    endless.destroy();
    // Whether the client still reads the 413 before the cut depends on its socket; the cut itself does not.
    if (reply.status !== 0) expect([reply.status, errorCode(reply)]).toEqual([413, 'UPLOAD_EXCEEDS_OFFER']);
    expect(produced).toBeLessThan(total / 2);
    expect(await alice.files.get(card.id)).toMatchObject({ state: 'failed', error: 'UPLOAD_EXCEEDS_OFFER' });
    expect(await storedNames()).toEqual([]);
  });

  it('takes bytes only as application/offset+octet-stream: JSON, another type or none is refused 415 and nothing is stored', async () => {
    const { alice, bob, conv } = await start();
    const data = Buffer.from('{"not":"bytes"}');
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    for (const type of ['application/json', 'application/octet-stream', 'text/plain', undefined]) {
      const reply = type === undefined
        ? await rawRequest(alice.api, 'PATCH', `/api/files/${card.id}/upload`, { 'tus-resumable': '1.0.0', 'upload-offset': '0', 'content-length': String(data.length) }, data)
        : await patchUpload(alice.api, card, 0, data, { 'content-type': type });
      expect([type, reply.status, errorCode(reply)]).toEqual([type, 415, 'UNSUPPORTED_MEDIA_TYPE']);
    }
    expect(await alice.files.uploadOffset(card.id)).toBe(0);
    expect(await storedNames()).toEqual([]);
    expect((await patchUpload(alice.api, card, 0, data, { 'content-type': 'application/offset+octet-stream; charset=binary' })).status).toBe(204);
    expect((await alice.files.get(card.id)).state).toBe('completed');
  });

  it('refuses a declared Content-Length beyond the offer before reading it', async () => {
    const { alice, bob, conv } = await start();
    const card = await offer(alice.files, conv, randomBytes(1000));
    await bob.files.decide(card.id, 'accept');
    const reply = await patchUpload(alice.api, card, 0, randomBytes(1001));
    expect([reply.status, errorCode(reply)]).toEqual([413, 'UPLOAD_EXCEEDS_OFFER']);
    expect((await alice.files.get(card.id)).state).toBe('failed');
  });

  it('rejects bytes whose SHA-256 is not the offered one, on both sides', async () => {
    const { alice, bob, conv } = await start();
    const aliceLive = await live(alice.api);
    const bobLive = await live(bob.api);
    const data = randomBytes(50_000);
    const card = await offer(alice.files, conv, data, 'x.bin', { sha256: sha256('something else') });
    await bob.files.decide(card.id, 'accept');
    const reply = await patchUpload(alice.api, card, 0, data);
    expect([reply.status, errorCode(reply)]).toEqual([422, 'FILE_HASH_MISMATCH']);
    for (const side of [aliceLive, bobLive]) await waitFor(() => side.last(card.id)?.error === 'FILE_HASH_MISMATCH', 'the failed card');
    expect(await storedNames()).toEqual([]);
  });

  it('resumes after a server restart from the bytes on disk (re-hashing them), sending only the rest', async () => {
    const { alice, bob, conv } = await start();
    const data = randomBytes(3_000_000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    expect((await patchUpload(alice.api, card, 0, data.subarray(0, 1_000_000))).status).toBe(204);
    const wrongOffset = await patchUpload(alice.api, card, 5, data.subarray(5, 10));
    expect([wrongOffset.status, errorCode(wrongOffset)]).toEqual([409, 'UPLOAD_OFFSET_MISMATCH']);
    await server.restart();
    expect(await alice.files.uploadOffset(card.id)).toBe(1_000_000);
    const sent = await uploadFile(alice.files, card, await tempFile(data));
    expect(sent).toMatchObject({ resumedAt: 1_000_000, sent: 2_000_000, file: { state: 'completed' } });
    const received = await downloadFile(bob.files, sent.file, await outDir());
    expect(sha256(await readFile(received.path))).toBe(sha256(data));
  });

  it('a shutdown answers a running upload 503 SHUTTING_DOWN with Retry-After, keeps its bytes, and it resumes after the restart', async () => {
    const { alice, bob, conv } = await start();
    const data = randomBytes(1_000_000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    // A body that stops after 300,000 of its 1,000,000 bytes and stays open: the upload is running.
    const body = new PassThrough();
    body.write(data.subarray(0, 300_000));
    const reply = patchUpload(alice.api, card, 0, body, { 'content-length': String(data.length) });
    await heldOnDisk(server.dataDir, card.id, 300_000);
    await server.restart();
    const answer = await reply;
    body.destroy();
    expect([answer.status, errorCode(answer), answer.headers['retry-after']]).toEqual([503, 'SHUTTING_DOWN', '1']);
    expect(await alice.files.uploadOffset(card.id)).toBe(300_000);
    expect(await alice.files.get(card.id)).toMatchObject({ state: 'accepted', received: 300_000 });
    const sent = await uploadFile(alice.files, card, await tempFile(data));
    expect(sent).toMatchObject({ resumedAt: 300_000, sent: 700_000, file: { state: 'completed' } });
  });

  it('the Node client, cut off by a shutdown, waits as asked and resumes from the bytes the server kept', async () => {
    const { alice, bob, conv } = await start();
    const data = randomBytes(4_000_000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    const proxy = await startHoldingProxy(() => server.port);
    proxies.push(proxy);
    proxy.holdAfter(1_000_000);
    const viaProxy = new FileApi(new ParleyApi(proxy.url, { token: alice.token }));
    const upload = uploadFile(viaProxy, card, await tempFile(data));
    await waitFor(() => proxy.holding, 'the upload to be held mid-body');
    await heldOnDisk(server.dataDir, card.id, 1_000_001);
    await server.restart();
    const result = await upload;
    expect(result.file).toMatchObject({ state: 'completed', received: data.length });
    expect(proxy.responses).toContain('HTTP/1.1 503 Service Unavailable (Retry-After)');
    const patches = proxy.requests.filter((request) => request.line.startsWith('PATCH'));
    expect(patches).toHaveLength(2);
    expect(patches[0]!.uploadOffset).toBe(0);
    expect(patches[1]!.uploadOffset).toBeGreaterThan(1_000_000);
    const received = await downloadFile(bob.files, result.file, await outDir());
    expect(sha256(await readFile(received.path))).toBe(sha256(data));
  });

  it('reports progress to both members at most every 250 ms of the upload, with the bytes received so far', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ clock });
    const { alice, bob, conv } = await threeUsers(server.url);
    const sides = [await live(alice.api), await live(bob.api)];
    const progress = sides.map(() => [] as { id: string; conv: string; received: number; size: number }[]);
    sides.forEach((side, i) => side.client.session.on('fileProgress', ({ id, conv, received, size }) => progress[i]!.push({ id, conv, received, size })));
    const data = randomBytes(5000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    const body = new PassThrough();
    const reply = patchUpload(alice.api, card, 0, body, { 'content-length': String(data.length) });
    let sent = 0;
    /** Moves the clock, sends the next bytes, and returns once both members would have had any progress frame for them. */
    const step = async (ms: number, bytes: number) => {
      await clock.advance(ms);
      body.write(data.subarray(sent, sent + bytes));
      sent += bytes;
      await heldOnDisk(server.dataDir, card.id, sent);
      // A progress frame for these bytes was queued before the server read the pings: the pongs come after it.
      await Promise.all(sides.map((side) => side.client.session.ping()));
      return progress.map((frames) => frames.map((frame) => frame.received));
    };
    expect(await step(0, 1000)).toEqual([[], []]);
    expect(await step(249, 1000)).toEqual([[], []]);
    expect(await step(1, 1000)).toEqual([[3000], [3000]]);
    expect(await step(0, 1000)).toEqual([[3000], [3000]]);
    expect(await step(250, 999)).toEqual([[3000, 4999], [3000, 4999]]);
    expect(progress[1]![0]).toEqual({ id: card.id, conv, received: 3000, size: 5000 });
    body.end(data.subarray(sent));
    expect((await reply).status).toBe(204);
  });

  it('is the sender\'s alone: the recipient cannot write into it', async () => {
    const { alice, bob, conv } = await start();
    const card = await offer(alice.files, conv, randomBytes(10));
    await bob.files.decide(card.id, 'accept');
    const reply = await patchUpload(bob.api, card, 0, randomBytes(10));
    expect([reply.status, errorCode(reply)]).toEqual([404, 'NOT_FOUND']);
  });

  it('says when the disk is full, at accept and while streaming, and resumes once there is room', async () => {
    const disk = new FullDisk(join(await outDir(), 'files'));
    const dataDir = await outDir();
    const parley = await startParley(parseConfig(['--port', '0', '--data', dataDir], {}), { logger: pino({ level: 'silent' }), blobs: disk });
    server = { close: () => parley.close() } as TestServer;
    const { alice, bob, conv } = await threeUsers(parley.url);
    const data = randomBytes(200_000);
    const card = await offer(alice.files, conv, data);
    disk.free = 1000;
    await expect(bob.files.decide(card.id, 'accept')).rejects.toMatchObject({ code: 'STORAGE_FULL', status: 507 });
    disk.free = null;
    await bob.files.decide(card.id, 'accept');
    disk.failAfter = 150_000;
    const full = await patchUpload(alice.api, card, 0, data);
    expect([full.status, errorCode(full)]).toEqual([507, 'STORAGE_FULL']);
    disk.failAfter = Infinity;
    const sent = await uploadFile(alice.files, card, await tempFile(data));
    expect(sent.file.state).toBe('completed');
    expect(sent.resumedAt).toBeGreaterThan(0);
  });
});

describe('the download', () => {
  it('is an attachment of opaque bytes, honours Range and If-Range, and refuses ranges outside the file', async () => {
    const { alice, bob, conv } = await start();
    const data = randomBytes(10_000);
    const card = await offer(alice.files, conv, data, 'page.html');
    await bob.files.decide(card.id, 'accept');
    await uploadFile(alice.files, card, await tempFile(data));
    const path = `/api/files/${card.id}/content`;

    const whole = await get(bob.api, path);
    expect(whole.status).toBe(200);
    expect(whole.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-disposition': `attachment; filename="page.html"; filename*=UTF-8''page.html`,
      'x-content-type-options': 'nosniff',
      'accept-ranges': 'bytes',
      etag: `"${sha256(data)}"`,
      'content-length': '10000',
    });
    const part = await get(bob.api, path, { range: 'bytes=9000-' });
    expect([part.status, part.headers['content-range'], part.headers['content-length']]).toEqual([206, 'bytes 9000-9999/10000', '1000']);
    const stale = await get(bob.api, path, { range: 'bytes=9000-', 'if-range': '"another file"' });
    expect(stale.status).toBe(200);
    const outside = await get(bob.api, path, { range: 'bytes=10000-' });
    expect([outside.status, outside.headers['content-range']]).toEqual([416, 'bytes */10000']);
    // The sender may fetch it again too; until the upload completes nobody can.
    expect((await get(alice.api, path, { range: 'bytes=0-0' })).status).toBe(206);
    const pending = await offer(alice.files, conv, data, 'later.bin');
    const early = await get(bob.api, `/api/files/${pending.id}/content`);
    expect([early.status, errorCode(early)]).toEqual([409, 'FILE_NOT_READY']);
  });

  it('is verified by the recipient\'s client: bytes that do not match are deleted, not saved', async () => {
    const { alice, bob, conv } = await start();
    const data = randomBytes(20_000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    const { file } = await uploadFile(alice.files, card, await tempFile(data));
    const out = await outDir();
    await expect(downloadFile(bob.files, { ...file, sha256: sha256('not these bytes') }, out)).rejects.toMatchObject({ code: 'FILE_HASH_MISMATCH' });
    expect(await readdir(out)).toEqual([]);
  });

  it('an empty file goes through: complete at accept, uploaded as nothing, saved as an empty file', async () => {
    const { alice, bob, conv } = await start();
    const aliceLive = await live(alice.api);
    const empty = Buffer.alloc(0);
    const card = await offer(alice.files, conv, empty, 'empty.txt');
    expect(await bob.files.decide(card.id, 'accept')).toMatchObject({ state: 'completed', size: 0 });
    // Straight from offered to completed: a sender told "accepted" could find nothing to send and a card not yet complete.
    await waitFor(() => aliceLive.last(card.id) !== undefined, 'the sender to hear of the accept');
    expect(aliceLive.cards.filter((c) => c.id === card.id).map((c) => c.state)).toEqual(['completed']);
    const sent = await uploadFile(alice.files, card, await tempFile(empty));
    expect(sent).toMatchObject({ resumedAt: 0, sent: 0, file: { state: 'completed' } });
    const out = await outDir();
    const received = await downloadFile(bob.files, sent.file, out);
    expect(received.path).toBe(join(out, 'empty.txt'));
    expect(await readFile(received.path)).toEqual(empty);
    expect(await readdir(out)).toEqual(['empty.txt']);
    expect((await bob.files.get(card.id)).deliveredAt).toBeGreaterThan(0);
  });

  it('resumes from a partial file left by an interrupted run', async () => {
    const { alice, bob, conv } = await start();
    const data = randomBytes(500_000);
    const card = await offer(alice.files, conv, data, 'resume.bin');
    await bob.files.decide(card.id, 'accept');
    const { file } = await uploadFile(alice.files, card, await tempFile(data));
    const out = await outDir();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(out, `.${file.id}.part`), data.subarray(0, 200_000));
    const result = await downloadFile(bob.files, file, out);
    expect(result).toMatchObject({ resumedAt: 200_000, received: 300_000 });
    expect(await readFile(result.path)).toEqual(data);
  });
});

describe('privacy and names', () => {
  it('hides the offer and the bytes from a third user: NOT_FOUND everywhere', async () => {
    const { alice, bob, carol, conv } = await start();
    const carolLive = await live(carol.api);
    const data = randomBytes(1000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    await uploadFile(alice.files, card, await tempFile(data));
    for (const [method, path] of [
      ['GET', `/api/files/${card.id}`],
      ['GET', `/api/files/${card.id}/content`],
      ['HEAD', `/api/files/${card.id}/upload`],
      ['POST', `/api/files/${card.id}/accept`],
      ['POST', `/api/files/${card.id}/cancel`],
      ['GET', `/api/conversations/${conv}/messages`],
    ] as const) {
      const reply = await rawRequest(carol.api, method, path, {});
      expect([method, path, reply.status]).toEqual([method, path, 404]);
    }
    expect((await patchUpload(carol.api, card, 0, data)).status).toBe(404);
    expect(await carol.files.list({ state: 'all' })).toEqual([]);
    expect(carolLive.cards).toEqual([]);
    expect(carolLive.client.messages.filter((m: Message) => m.file)).toEqual([]);
  });

  it('keeps traversal names as text: stored under random ids, sanitised in the header and on the recipient\'s disk', async () => {
    // A data folder in a folder of its own, so where "../../x" would land is this test's alone.
    const parent = await outDir();
    server = await startTestServer({ dataDir: join(parent, 'data') });
    const { alice, bob, conv } = await threeUsers(server.url);
    const names = ['../../x', 'C:\\x', 'bell\u0007byte.txt', 'two\nlines.txt', '..', '/etc/passwd'];
    const out = await outDir();
    const saved: string[] = [];
    for (const name of names) {
      const data = Buffer.from(`contents of ${JSON.stringify(name)}`);
      const card = await offer(alice.files, conv, data, name);
      expect(card.name).toBe(name);
      await bob.files.decide(card.id, 'accept');
      const { file } = await uploadFile(alice.files, card, await tempFile(data));
      const reply = await get(bob.api, `/api/files/${card.id}/content`);
      const disposition = reply.headers['content-disposition'] as string;
      expect(disposition).toMatch(/^attachment; filename="[^"/\\\u0000-\u001f]*"; filename\*=UTF-8''[A-Za-z0-9!#$&+\-.^_`|~%]+$/);
      const { path } = await downloadFile(bob.files, file, out);
      expect(dirname(path)).toBe(out);
      expect(await readFile(path)).toEqual(data);
      saved.push(path.slice(out.length + 1));
    }
    expect(saved).toEqual(['_.._x', 'C__x', 'bell_byte.txt', 'two_lines.txt', 'file', '_etc_passwd']);
    expect((await storedNames()).every((stored) => /^[A-Za-z0-9_-]{22}$/.test(stored))).toBe(true);
    expect(existsSync(join(parent, 'x'))).toBe(false);
    expect((await bob.api.history(conv)).messages.map((m) => m.text)).toEqual(names);
  });
});

describe('on the server\'s disk', () => {
  it('a data folder Parley creates is 0700, the blob folder 0700, partial and sealed blobs 0600', async () => {
    const parent = await outDir();
    const dataDir = join(parent, 'data');
    server = await startTestServer({ dataDir });
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    expect(await mode(dataDir)).toBe(0o700);
    const { alice, bob, conv } = await threeUsers(server.url);
    const data = randomBytes(100_000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    expect((await patchUpload(alice.api, card, 0, data.subarray(0, 40_000))).status).toBe(204);
    expect(await mode(blobsDir())).toBe(0o700);
    expect(await mode(join(blobsDir(), `${card.id}.part`))).toBe(0o600);
    expect((await patchUpload(alice.api, card, 40_000, data.subarray(40_000))).status).toBe(204);
    expect(await mode(join(blobsDir(), card.id))).toBe(0o600);
    const empty = await offer(alice.files, conv, Buffer.alloc(0), 'empty.txt');
    await bob.files.decide(empty.id, 'accept');
    expect(await mode(join(blobsDir(), empty.id))).toBe(0o600);
  });
});

describe('memory kept between upload requests', () => {
  const kept = () => server.parley.keptUploadHashes();
  async function halfUploaded(users: Awaited<ReturnType<typeof threeUsers>>) {
    const { alice, bob, conv } = users;
    const data = randomBytes(100_000);
    const card = await offer(alice.files, conv, data);
    await bob.files.decide(card.id, 'accept');
    expect((await patchUpload(alice.api, card, 0, data.subarray(0, 30_000))).status).toBe(204);
    return card;
  }

  it('the running hash of an interrupted upload is freed when the sender or the recipient cancels', async () => {
    const users = await start();
    const bySender = await halfUploaded(users);
    expect(kept()).toBe(1);
    await users.alice.files.decide(bySender.id, 'cancel');
    expect(kept()).toBe(0);
    const byRecipient = await halfUploaded(users);
    expect(kept()).toBe(1);
    await users.bob.files.decide(byRecipient.id, 'cancel');
    expect(kept()).toBe(0);
  });

  it('is freed when an idle upload expires (24 h after its last request), and when a lying upload fails', async () => {
    const clock = new ManualClock();
    server = await startTestServer({ clock });
    const users = await threeUsers(server.url);
    const idle = await halfUploaded(users);
    expect(kept()).toBe(1);
    await clock.advance(DAY - 1);
    expect(kept()).toBe(1);
    expect((await users.alice.files.get(idle.id)).state).toBe('accepted');
    await clock.advance(MINUTE);
    expect(kept()).toBe(0);
    expect((await users.alice.files.get(idle.id)).state).toBe('expired');
    const lying = await halfUploaded(users);
    expect(kept()).toBe(1);
    const reply = await patchUpload(users.alice.api, lying, 30_000, randomBytes(80_000));
    expect(errorCode(reply)).toBe('UPLOAD_EXCEEDS_OFFER');
    expect(kept()).toBe(0);
  });

  it('is freed when an upload is cancelled while its request runs', async () => {
    const users = await start();
    const card = await halfUploaded(users);
    const body = new PassThrough();
    body.write(randomBytes(10_000));
    const reply = patchUpload(users.alice.api, card, 30_000, body, { 'content-length': '70000' });
    await heldOnDisk(server.dataDir, card.id, 40_000);
    await users.bob.files.decide(card.id, 'cancel');
    const answer = await reply;
    body.destroy();
    expect([answer.status, errorCode(answer)]).toEqual([410, 'FILE_GONE']);
    expect(kept()).toBe(0);
  });
});

describe('catching up', () => {
  it('replays the card changes a client missed while away, from the fileRev it says in hello', async () => {
    const { alice, bob, conv } = await start();
    const bobLive = await live(bob.api);
    const card = await offer(alice.files, conv, Buffer.from('changing'));
    await bob.files.decide(card.id, 'accept');
    await waitFor(() => bobLive.last(card.id)?.state === 'accepted', 'the accepted card');
    const held = bobLive.last(card.id)!.rev;
    bobLive.client.close();
    await alice.files.decide(card.id, 'cancel');

    const session = nodeSession(bob.api, { cursors: { [conv]: card.seq } });
    session.noteFileRev(held);
    const replayed: FileCard[] = [];
    session.on('file', (c) => replayed.push(c));
    const synced = new Promise((resolve) => session.on('synced', resolve));
    session.connect();
    await synced;
    session.close();
    expect(replayed.map((c) => [c.id, c.state])).toEqual([[card.id, 'cancelled']]);
  });

  /** The cards a new session of `api` is sent between hello (with `fileRev`) and synced. */
  async function replayedSince(api: ParleyApi, conv: string, fileRev: number): Promise<FileCard[]> {
    const lastSeq = (await api.history(conv, { limit: 1 })).messages.at(-1)!.seq;
    const session = nodeSession(api, { cursors: { [conv]: lastSeq } });
    session.noteFileRev(fileRev);
    const replayed: FileCard[] = [];
    session.on('file', (c) => replayed.push(c));
    const synced = new Promise((resolve) => session.on('synced', resolve));
    session.connect();
    await synced;
    session.close();
    return replayed;
  }

  it('replays every card changed while away, past 1,000 of them: each once, in rev order', async () => {
    // 1,006 offers at once: far past the send budget an offer takes from.
    const { alice, bob, conv } = await start(['--send-rate', '100000', '--send-burst', '100000']);
    const since = (await offer(alice.files, conv, Buffer.from('seen'))).rev;
    const offered: FileCard[] = [];
    while (offered.length < 1005) {
      const step = Math.min(50, 1005 - offered.length);
      offered.push(...(await Promise.all(Array.from({ length: step }, () => offer(alice.files, conv, Buffer.from('x'))))));
    }
    const replayed = await replayedSince(bob.api, conv, since);
    expect(replayed).toHaveLength(1005);
    expect(new Set(replayed.map((c) => c.id))).toEqual(new Set(offered.map((c) => c.id)));
    expect(replayed.map((c) => c.rev)).toEqual(replayed.map((c) => c.rev).sort((a, b) => a - b));
  });

  it('pages through in batches by rev, also when the last batch is exactly full', async () => {
    server = await startTestServer({ fileCatchUpBatch: 3 });
    const { alice, bob, conv } = await threeUsers(server.url);
    const since = (await offer(alice.files, conv, Buffer.from('seen'))).rev;
    const offered: FileCard[] = [];
    for (let i = 0; i < 6; i++) offered.push(await offer(alice.files, conv, Buffer.from(`file ${i}`)));
    await bob.files.decide(offered[0]!.id, 'decline');
    await bob.files.decide(offered[1]!.id, 'accept');
    await alice.files.decide(offered[1]!.id, 'cancel');
    const replayed = await replayedSince(bob.api, conv, since);
    // Each card once, as it is now: the declined and cancelled ones moved past the others.
    expect(replayed.map((c) => [c.id, c.state])).toEqual([
      ...offered.slice(2).map((c) => [c.id, 'offered']),
      [offered[0]!.id, 'declined'],
      [offered[1]!.id, 'cancelled'],
    ]);
    // Exactly two full batches of 3, then an empty read.
    expect(await replayedSince(bob.api, conv, offered[1]!.rev)).toHaveLength(6);
  });
});

describe('the documented edges of the file API', () => {
  it('takes a name of 1–255 characters, a type of at most 255, a SHA-256 of 64 lower-case hex digits; refuses the rest with BAD_REQUEST and stores nothing', async () => {
    const { alice, conv } = await start();
    let n = 0;
    const post = (fields: Record<string, unknown>) =>
      rawRequest(alice.api, 'POST', '/api/files', { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ conv, clientId: `edge${++n}`, name: 'ok.txt', size: 3, sha256: sha256('abc'), ...fields })));
    const accepted = [{ name: '字'.repeat(255) }, { name: '😀'.repeat(255) }, { name: 'x' }, { type: 't'.repeat(255) }, { type: '' }];
    for (const fields of accepted) expect([fields, (await post(fields)).status]).toEqual([fields, 201]);
    const refused = [
      { name: '' },
      { name: 'x'.repeat(256) },
      { name: '😀'.repeat(256) },
      { type: 't'.repeat(256) },
      { sha256: sha256('abc').toUpperCase() },
      { sha256: sha256('abc').slice(1) },
      { sha256: `${sha256('abc')}0` },
      { sha256: `g${sha256('abc').slice(1)}` },
    ];
    for (const fields of refused) {
      const reply = await post(fields);
      expect([Object.keys(fields)[0], reply.status, errorCode(reply)]).toEqual([Object.keys(fields)[0], 400, 'BAD_REQUEST']);
    }
    expect((await alice.api.history(conv)).messages).toHaveLength(accepted.length);
  });

  it('lists at most 100 cards per request: 100 by default, limit 1 to 100, BAD_REQUEST beyond', async () => {
    const { alice, conv } = await start(['--send-rate', '100000', '--send-burst', '100000']);
    for (let made = 0; made < 101; made += 50) await Promise.all(Array.from({ length: Math.min(50, 101 - made) }, () => offer(alice.files, conv, Buffer.from('x'))));
    const list = (query: string) => get(alice.api, `/api/files${query}`);
    const cards = async (query: string) => (JSON.parse((await list(query)).body) as { files: unknown[] }).files.length;
    expect(await cards('')).toBe(100);
    expect(await cards('?limit=100')).toBe(100);
    expect(await cards('?limit=1')).toBe(1);
    for (const query of ['?limit=101', '?limit=0', '?limit=ten']) {
      const reply = await list(query);
      expect([query, reply.status, errorCode(reply)]).toEqual([query, 400, 'BAD_REQUEST']);
    }
  });

  it('answers a malformed file id with 404 NOT_FOUND on every route, like a file that is not yours', async () => {
    const { alice } = await start();
    for (const id of ['short', 'x'.repeat(21), 'x'.repeat(23), `${'x'.repeat(21)}!`, '..%2F..%2Fetc', '%00'.repeat(22)]) {
      for (const [method, path] of [
        ['GET', `/api/files/${id}`],
        ['GET', `/api/files/${id}/content`],
        ['HEAD', `/api/files/${id}/upload`],
        ['POST', `/api/files/${id}/accept`],
        ['POST', `/api/files/${id}/decline`],
        ['POST', `/api/files/${id}/cancel`],
        ['POST', `/api/files/${id}/delivered`],
      ] as const) {
        const reply = await rawRequest(alice.api, method, path, {});
        expect([method, path, reply.status]).toEqual([method, path, 404]);
      }
      const patch = await rawRequest(alice.api, 'PATCH', `/api/files/${id}/upload`, { 'content-type': 'application/offset+octet-stream', 'upload-offset': '0', 'content-length': '1' }, Buffer.from('x'));
      expect([id, patch.status, errorCode(patch)]).toEqual([id, 404, 'NOT_FOUND']);
    }
  });

  it('takes no bytes before the accept (409 FILE_STATE), and answers a bad Upload-Offset 400 and another Tus-Resumable 412', async () => {
    const { alice, bob, conv } = await start();
    const data = Buffer.from('the bytes');
    const card = await offer(alice.files, conv, data);
    const early = await patchUpload(alice.api, card, 0, data);
    expect([early.status, errorCode(early)]).toEqual([409, 'FILE_STATE']);
    expect((await rawRequest(alice.api, 'HEAD', `/api/files/${card.id}/upload`, {})).status).toBe(409);
    await bob.files.decide(card.id, 'accept');
    for (const offset of ['-1', '1.5', 'zero', '']) {
      const reply = await patchUpload(alice.api, card, 0, data, { 'upload-offset': offset });
      expect([offset, reply.status, errorCode(reply)]).toEqual([offset, 400, 'BAD_REQUEST']);
    }
    const version = await patchUpload(alice.api, card, 0, data, { 'tus-resumable': '0.2.2' });
    expect([version.status, errorCode(version)]).toEqual([412, 'TUS_VERSION_UNSUPPORTED']);
    expect((await rawRequest(alice.api, 'HEAD', `/api/files/${card.id}/upload`, { 'tus-resumable': '0.2.2' })).status).toBe(412);
    expect(await storedNames()).toEqual([]);
    expect((await patchUpload(alice.api, card, 0, data)).status).toBe(204);
  });

  it('marks every file answer as never to be cached or rendered: no-store on HEAD, a sandboxing CSP and private, no-store on the download, and the security headers', async () => {
    const { alice, bob, conv } = await start();
    const data = Buffer.from('<script>alert(1)</script>');
    const card = await offer(alice.files, conv, data, 'page.html');
    await bob.files.decide(card.id, 'accept');
    const head = await rawRequest(alice.api, 'HEAD', `/api/files/${card.id}/upload`, {});
    expect(head.headers).toMatchObject({ 'cache-control': 'no-store', 'tus-resumable': '1.0.0', 'upload-offset': '0', 'upload-length': String(data.length) });
    await uploadFile(alice.files, card, await tempFile(data));
    const download = await get(bob.api, `/api/files/${card.id}/content`);
    expect(download.status).toBe(200);
    expect(download.headers).toMatchObject({
      'content-type': 'application/octet-stream',
      'content-security-policy': "default-src 'none'; sandbox",
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      'x-frame-options': 'DENY',
      'cross-origin-resource-policy': 'same-origin',
    });
  });
});

/** Local disk that can pretend to be full. */
class FullDisk extends LocalBlobStore {
  free: number | null = null;
  failAfter = Infinity;

  override async freeBytes() {
    return this.free ?? super.freeBytes();
  }

  override async append(id: string, offset: number) {
    const real = await super.append(id, offset);
    let written = 0;
    const limit = this.failAfter;
    return new Writable({
      write(chunk: Buffer, _encoding, done) {
        written += chunk.length;
        if (written > limit) done(Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' }));
        else real.write(chunk, done);
      },
      final(done) {
        real.end(done);
      },
      destroy(error, done) {
        real.end(() => done(error));
      },
    });
  }
}
