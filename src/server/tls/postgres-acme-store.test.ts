import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { hasPostgres, privatePostgres } from '../../../test/support/postgres.ts';
import { Database } from '../storage/postgres/database.ts';
import { ACME_ORDER_LOCK, PostgresAcmeStore } from './postgres-acme-store.ts';

/** A real logger whose lines are kept: level, message and the holder it names. */
function recordingLog() {
  const lines: { level: 'info' | 'warn'; holder: string; message: string }[] = [];
  const log = pino({ level: 'info' }, {
    write: (line: string) => {
      const { level, msg, holder } = JSON.parse(line) as { level: number; msg: string; holder: string };
      lines.push({ level: level === 40 ? 'warn' : 'info', holder, message: msg });
    },
  });
  return Object.assign(log, { lines });
}

/** The bound on waiting for another node's certificate order, against a real PostgreSQL: one node holds the order's lock, another waits. */
describe.runIf(hasPostgres)('PostgresAcmeStore: waiting for another node\'s order', () => {
  const postgres = privatePostgres();

  it('says it waits, says so again while it does, and gives up after the bound with an error naming the holder\'s session; the next try after the order ends runs', async () => {
    const url = await postgres().createDatabase();
    const [holderDb, waiterDb] = [new Database(url, 2), new Database(url, 2)];
    try {
      const holder = new PostgresAcmeStore(holderDb, recordingLog());
      const log = recordingLog();
      const waiter = new PostgresAcmeStore(waiterDb, log, { retryMs: 50, noticeEveryMs: 300, maxWaitMs: 1_000 });

      let finishOrder!: () => void;
      let ordering!: () => void;
      const holding = new Promise<void>((resolve) => (ordering = resolve));
      const held = holder.exclusively(async () => {
        ordering();
        await new Promise<void>((resolve) => (finishOrder = resolve));
        return 'the holder\'s certificate';
      });
      await holding;
      const [{ pid }] = (await holderDb.query<{ pid: number }>(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2",
        [...ACME_ORDER_LOCK],
      )).rows as [{ pid: number }];

      let ran = false;
      const started = Date.now();
      const error = await waiter.exclusively(async () => (ran = true)).then(
        () => null,
        (thrown: unknown) => thrown as Error,
      );
      expect(ran).toBe(false);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
      expect(error?.message).toContain(`another node's certificate order (PostgreSQL session ${pid} from`);
      expect(error?.message).toContain(`SELECT pg_terminate_backend(${pid})`);
      expect(log.lines[0]).toMatchObject({ level: 'info', message: 'ACME: another node is ordering the certificate; waiting for it' });
      expect(log.lines[0]!.holder).toContain(`PostgreSQL session ${pid}`);
      // Every 300 ms over a second: notices at 0, ~300, ~600, ~900 ms; the later ones are warnings.
      const still = log.lines.filter((line) => line.level === 'warn');
      expect(still.length).toBeGreaterThanOrEqual(2);
      expect(still.length).toBeLessThanOrEqual(4);
      expect(still[0]!.message).toBe("ACME: still waiting for another node's certificate order");

      finishOrder();
      await expect(held).resolves.toBe('the holder\'s certificate');
      await expect(waiter.exclusively(async () => 'the waiter\'s turn')).resolves.toBe('the waiter\'s turn');
    } finally {
      await Promise.all([holderDb.close(), waiterDb.close()]);
    }
  });
});
