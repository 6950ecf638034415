import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../test/support/manual-clock.ts';
import { installErrorHandling } from '../http/errors.ts';
import { UploadSessions } from './upload-sessions.ts';

/** Whether a promise has settled, read after the microtasks queued so far have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

describe('one upload request at a time (UploadSessions)', () => {
  it('a newer request takes over once the running one lets go: the running one is told UPLOAD_INTERRUPTED', async () => {
    const clock = new ManualClock();
    const uploads = new UploadSessions(null, clock);
    const running = await uploads.begin('file');
    const newer = uploads.takeOver('file');
    expect(running.signal.aborted).toBe(true);
    expect(running.signal.reason).toMatchObject({ code: 'UPLOAD_INTERRUPTED' });
    await running.finish();
    await expect(newer).resolves.toBeUndefined();
  });

  it('answers UPLOAD_IN_PROGRESS (423) when the running request has not let go 30 s after it was asked (a stuck disk), and not before', async () => {
    const clock = new ManualClock();
    const uploads = new UploadSessions(null, clock);
    await uploads.begin('file'); // never finishes: its write is stuck
    const newer = uploads.begin('file');
    await clock.advance(29_999);
    // The wait is on the clock alone: until it reaches 30 s, nothing else can end it.
    expect(await settled(newer)).toBe(false);
    await clock.advance(1);
    const refusal = await newer.catch((error: unknown) => error);
    expect(refusal).toMatchObject({ code: 'UPLOAD_IN_PROGRESS' });

    // The status PROTOCOL.md gives it, 423, as the HTTP error handling answers that very error.
    const app = Fastify();
    installErrorHandling(app);
    app.get('/upload', async () => {
      throw refusal;
    });
    const reply = await app.inject({ method: 'GET', url: '/upload' });
    await app.close();
    expect(reply.statusCode).toBe(423);
    expect(reply.json()).toMatchObject({ error: { code: 'UPLOAD_IN_PROGRESS' } });
  });
});
