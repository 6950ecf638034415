import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { hasPostgres, privatePostgres } from '../../../../test/support/postgres.ts';
import { committed, pending, withUsers } from '../contract/support.ts';
import type { CommitResult } from '../store.ts';
import { PostgresStore } from './postgres-store.ts';

/** Two stores on one database stand for two nodes of a cluster, committing at the same time. */
describe.runIf(hasPostgres)('PostgreSQL store shared by several nodes', () => {
  const postgres = privatePostgres();

  async function twoNodes() {
    const url = await postgres().createDatabase();
    const [one, two] = await Promise.all([PostgresStore.open(url), PostgresStore.open(url)]);
    return { one, two, url, close: () => Promise.all([one.close(), two.close()]) };
  }

  it('hands out distinct, gap-free seqs when two nodes commit batches to one conversation at once', async () => {
    const { one, two, close } = await twoNodes();
    const [alice, bob] = await withUsers(one, 'alice', 'bob');
    const batches: Promise<CommitResult[]>[] = [];
    for (let i = 0; i < 20; i++) {
      const batch = (who: string) => Array.from({ length: 5 }, (_, j) => pending('world', who === 'a' ? alice! : bob!, `${who}-${i}-${j}`));
      batches.push(one.commit(batch('a')), two.commit(batch('b')));
    }
    const seqs = (await Promise.all(batches)).flat().map((r) => committed(r).message.seq);
    expect(seqs).toHaveLength(200);
    expect([...seqs].sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(await two.lastSeq('world')).toBe(200);
    const stored = await one.after('world', 0, 1000);
    expect(stored.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    await close();
  });

  it('returns the original ack when a send is retried through the other node, even at the same moment', async () => {
    const { one, two, close } = await twoNodes();
    const [alice, bob] = await withUsers(one, 'alice', 'bob');
    const first = committed((await one.commit([pending('world', alice!, 'once', 'hello')]))[0]);
    const retry = committed((await two.commit([pending('world', alice!, 'once', 'hello again')]))[0]);
    expect(retry).toMatchObject({ duplicate: true, message: { seq: first.message.seq, text: 'hello', ts: first.message.ts } });

    const dm = `dm:${alice!.id}:${bob!.id}`;
    const send = { ...pending(dm, alice!, 'both'), direct: [alice!, bob!] as const };
    const [a, b] = (await Promise.all([one.commit([send]), two.commit([send])])).map((r) => committed(r[0]));
    expect([a!.duplicate, b!.duplicate].sort()).toEqual([false, true]);
    expect(a!.message.seq).toBe(1);
    expect(b!.message.seq).toBe(1);
    expect([...a!.created, ...b!.created].map((c) => c.user.id)).toEqual([alice!.id, bob!.id]);
    expect(await one.lastSeq(dm)).toBe(1);
    await close();
  });

  it('creates a DM once when its first messages arrive through two nodes at once', async () => {
    const { one, two, close } = await twoNodes();
    const [alice, bob] = await withUsers(one, 'alice', 'bob');
    const dm = `dm:${alice!.id}:${bob!.id}`;
    const [a, b] = (await Promise.all([
      one.commit([{ ...pending(dm, alice!, 'from-alice'), direct: [alice!, bob!] }]),
      two.commit([{ ...pending(dm, bob!, 'from-bob'), direct: [alice!, bob!] }]),
    ])).map((r) => committed(r[0]));
    expect([a!.message.seq, b!.message.seq].sort()).toEqual([1, 2]);
    expect([...a!.created, ...b!.created]).toHaveLength(2);
    expect(await two.memberIds(dm)).toEqual([alice!.id, bob!.id]);
    await close();
  });

  it('returns the original when another node stores the same send in a DM it creates while this batch waits for it', async () => {
    const { one, url, close } = await twoNodes();
    const [alice, bob] = await withUsers(one, 'alice', 'bob');
    const dm = `dm:${alice!.id}:${bob!.id}`;
    // "Node two", by hand: creates the DM with alice's message and holds its transaction open.
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query('BEGIN');
    await other.query("INSERT INTO conversations (id, kind, last_seq, created_at, member_count) VALUES ($1, 'dm', 1, 5, 2)", [dm]);
    await other.query('INSERT INTO memberships (user_id, conv_id) VALUES ($1, $3), ($2, $3)', [alice!.id, bob!.id, dm]);
    await other.query("INSERT INTO messages (conv_id, seq, sender_id, client_id, text, ts) VALUES ($1, 1, $2, 'same', 'first', 5)", [dm, alice!.id]);
    const commit = one.commit([pending('world', bob!, 'w1'), { ...pending(dm, alice!, 'same', 'again'), direct: [alice!, bob!] }, pending('world', bob!, 'w2')]);
    // This node has looked for the client id already and now waits for the DM's row.
    await vi.waitFor(async () => {
      const { rows } = await other.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock'");
      expect(rows[0].n).toBe(1);
    }, { timeout: 10_000, interval: 20 });
    await other.query('COMMIT');
    await other.end();
    const results = (await commit).map(committed);
    expect(results.map((r) => [r.message.conv, r.message.seq, r.message.text, r.duplicate])).toEqual([
      ['world', 1, 'w1', false],
      [dm, 1, 'first', true],
      ['world', 2, 'w2', false],
    ]);
    expect((await one.after('world', 0, 10)).map((m) => m.seq)).toEqual([1, 2]);
    expect(await one.lastSeq(dm)).toBe(1);
    await close();
  });

  it('fails a commit while PostgreSQL is down, and after it is back stores the retry once, with the next seq', async () => {
    const { one, two, close } = await twoNodes();
    const [alice] = await withUsers(one, 'alice');
    committed((await one.commit([pending('world', alice!, 'before')]))[0]);
    await postgres().stop('kill');
    try {
      await expect(one.commit([pending('world', alice!, 'during')])).rejects.toThrow();
    } finally {
      await postgres().restart();
    }
    const retried = committed((await one.commit([pending('world', alice!, 'during')]))[0]);
    expect(retried).toMatchObject({ duplicate: false, message: { seq: 2 } });
    expect(committed((await two.commit([pending('world', alice!, 'during')]))[0])).toMatchObject({ duplicate: true, message: { seq: 2 } });
    expect((await two.after('world', 0, 10)).map((m) => m.clientId)).toEqual(['before', 'during']);
    await close();
  });

  it('refuses a database whose schema is newer than this code, with a clear message', async () => {
    const url = await postgres().createDatabase();
    const store = await PostgresStore.open(url);
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query('INSERT INTO parley_schema (version) VALUES (999)');
    await client.end();
    await expect(PostgresStore.open(url)).rejects.toThrow(/schema \(version 999\) is newer than this Parley/);
  });
});
