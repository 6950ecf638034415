/**
 * Files across nodes: two real servers on one private PostgreSQL and Redis. The bytes live in the
 * database, so an upload begun through one node resumes through the other and either node serves
 * the download (docs/ARCHITECTURE.md, "Files across nodes").
 */
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { ParleyApi } from '../src/client/api.ts';
import { FileApi } from '../src/client/files.ts';
import type { FileCard } from '../src/protocol/index.ts';
import { errorCode, offer, patchUpload, sha256, threeUsers } from './support/files.ts';
import { hasPostgres, privatePostgres } from './support/postgres.ts';
import { hasRedis, privateRedis } from './support/redis.ts';
import { ManualClock } from './support/manual-clock.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { SWEEP_LOCK } from '../src/server/files/postgres-sweep-lock.ts';

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await check()); ) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.runIf(hasPostgres && hasRedis)('files across two nodes on PostgreSQL', () => {
  const postgres = privatePostgres();
  const redis = privateRedis();
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function cluster(clock?: ManualClock) {
    const database = await postgres().createDatabase();
    const flags = ['--database', database, '--redis', redis().url];
    const nodes = (await Promise.all([0, 1].map(() => startTestServer({ flags, ...(clock ? { clock } : {}) })))) as [TestServer, TestServer];
    cleanups.push(...nodes.map((node) => () => node.close()));
    const sql = new pg.Client({ connectionString: database });
    await sql.connect();
    cleanups.push(() => sql.end());
    const users = await threeUsers(nodes[0].url);
    /** The same user's file API through the other node. */
    const onB = (user: { token: string }) => new FileApi(new ParleyApi(nodes[1].url, { token: user.token }));
    /** Bytes the database holds of an upload, watched there: asking a node (HEAD) would stop the request. */
    const heldInDatabase = (id: string, bytes: number) =>
      until(async () => {
        const { rows } = await sql.query<{ size: string }>('SELECT size FROM file_blobs WHERE id = $1', [id]);
        return Number(rows[0]?.size ?? 0) >= bytes;
      }, `the database holds ${bytes} bytes of upload ${id}`);
    return { nodes, users, onB, heldInDatabase, sql };
  }

  /** Sends the first `cutAt` bytes of a PATCH that promises all of `data` and leaves it hanging; `cut()` closes it. */
  function startUpload(api: ParleyApi, card: FileCard, data: Buffer, cutAt: number) {
    const body = new PassThrough();
    const abort = new AbortController();
    const reply = patchUpload(api, card, 0, body, { 'content-length': String(data.length) }, abort.signal);
    body.write(data.subarray(0, cutAt));
    return {
      reply,
      cut: () => {
        abort.abort();
        body.destroy();
      },
    };
  }

  async function download(url: string, token: string, id: string): Promise<Buffer> {
    const response = await fetch(`${url}/api/files/${id}/content`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  }

  it('resumes through node B an upload cut on node A, and both nodes serve the verified file', async () => {
    const { nodes, users, onB, heldInDatabase } = await cluster();
    const data = randomBytes(3 * 1024 * 1024 + 777);
    const card = await offer(users.alice.files, users.conv, data);
    await onB(users.bob).decide(card.id, 'accept');

    const upload = startUpload(users.alice.api, card, data, 2 * 1024 * 1024 + 100);
    await heldInDatabase(card.id, 1024 * 1024);
    upload.cut();
    expect((await upload.reply).status).toBe(0);
    // Node A records what arrived once it notices the cut.
    await until(async () => (await users.alice.files.get(card.id)).received > 0, 'node A records the cut upload');

    const aliceOnB = onB(users.alice);
    const offset = await aliceOnB.uploadOffset(card.id);
    expect(offset).toBeGreaterThanOrEqual(1024 * 1024);
    const rest = await patchUpload(aliceOnB.api, card, offset, data.subarray(offset));
    expect([rest.status, errorCode(rest)]).toEqual([204, undefined]);
    expect(await users.alice.files.get(card.id)).toMatchObject({ state: 'completed', received: data.length, sha256: sha256(data) });

    for (const node of nodes) expect(sha256(await download(node.url, users.bob.token, card.id))).toBe(sha256(data));
  });

  it('stops a stalled upload on node A when the sender asks node B where to resume, and B goes on from every byte A received', async () => {
    const { nodes, users, onB, heldInDatabase } = await cluster();
    const data = randomBytes(3 * 1024 * 1024);
    const card = await offer(users.alice.files, users.conv, data);
    await users.bob.files.decide(card.id, 'accept');
    // 1.5 MiB sent, then nothing, the connection left open: A has stored one chunk and holds the rest.
    const cutAt = 1.5 * 1024 * 1024;
    const stalled = startUpload(users.alice.api, card, data, cutAt);
    cleanups.push(stalled.cut);
    await heldInDatabase(card.id, 1024 * 1024);

    const aliceOnB = onB(users.alice);
    expect(await aliceOnB.uploadOffset(card.id)).toBe(cutAt);
    expect(errorCode(await stalled.reply)).toBe('UPLOAD_INTERRUPTED');
    const rest = await patchUpload(aliceOnB.api, card, cutAt, data.subarray(cutAt));
    expect([rest.status, errorCode(rest)]).toEqual([204, undefined]);
    expect(sha256(await download(nodes[0].url, users.bob.token, card.id))).toBe(sha256(data));
  });

  it('waits out the lease of a node that died mid-upload, then resumes', async () => {
    const { users, onB, sql } = await cluster();
    const data = randomBytes(1000);
    const card = await offer(users.alice.files, users.conv, data);
    await users.bob.files.decide(card.id, 'accept');
    await sql.query(`INSERT INTO upload_leases (file_id, holder, expires_at) VALUES ($1, 'a dead node', clock_timestamp() + interval '1 second')`, [card.id]);
    const aliceOnB = onB(users.alice);
    expect(await aliceOnB.uploadOffset(card.id)).toBe(0);
    expect((await sql.query('SELECT 1 FROM upload_leases WHERE file_id = $1', [card.id])).rowCount).toBe(0);
    const rest = await patchUpload(aliceOnB.api, card, 0, data);
    expect([rest.status, errorCode(rest)]).toEqual([204, undefined]);
  });

  it('expires each unanswered offer once when both nodes sweep at the same moment, and not while another holds the sweep', async () => {
    // One clock for both nodes: each advance starts both nodes' sweeps together.
    const clock = new ManualClock();
    const { users, sql } = await cluster(clock);
    const cards: FileCard[] = [];
    for (let i = 0; i < 12; i++) cards.push(await offer(users.alice.files, users.conv, Buffer.from(`offer ${i}`)));
    const states = async () => Promise.all(cards.map(async (card) => (await users.bob.files.get(card.id)).state));
    const rev = async () => Number((await sql.query<{ value: string }>(`SELECT value FROM counters WHERE name = 'rev'`)).rows[0]!.value);

    // A third node in the middle of its sweep, by hand: neither node sweeps meanwhile.
    await sql.query('SELECT pg_advisory_lock($1, $2)', [...SWEEP_LOCK]);
    await clock.advance(24 * 60 * 60 * 1000 + 60_000);
    expect(new Set(await states())).toEqual(new Set(['offered']));
    await sql.query('SELECT pg_advisory_unlock($1, $2)', [...SWEEP_LOCK]);

    const before = await rev();
    await clock.advance(60_000);
    expect(await states()).toEqual(cards.map(() => 'expired'));
    // One change per offer, by whichever node swept: no card was expired twice.
    expect((await rev()) - before).toBe(cards.length);
  });
});
