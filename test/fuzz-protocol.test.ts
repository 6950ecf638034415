import fc from 'fast-check';
import type { z } from 'zod';
import { describe, expect, it } from 'vitest';
import {
  clientFrame,
  createRoomBody,
  credentialsBody,
  passwordChangeBody,
  fileOfferBody,
  filesQuery,
  historyQuery,
  inviteBody,
  peopleQuery,
  roleBody,
  roomDirectoryQuery,
  roomMembersQuery,
  sendBody,
  updateRoomBody,
  validate,
} from '../src/protocol/index.ts';
import { parseClientFrame } from '../src/server/gateway/parse-frame.ts';
import { fuzzRuns, isWellFormed, mutated, stringsIn, trickyJson, trickyString } from './support/fuzz.ts';

/** Codes a refused frame may carry (docs/PROTOCOL.md, "Error codes"). */
const FRAME_REFUSALS = ['BAD_JSON', 'BAD_REQUEST', 'UNKNOWN_TYPE', 'TEXT_ILL_FORMED'];

const conv = fc.oneof(
  fc.constant('world'),
  fc.tuple(fc.integer({ min: 1, max: 999 }), fc.integer({ min: 1, max: 999 })).filter(([a, b]) => a < b).map(([a, b]) => `dm:${a}:${b}`),
  fc.stringMatching(/^room:[A-Za-z0-9]{12}$/),
);
const seq = fc.nat();
const clientId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const wellFormedText = trickyString(60).filter(isWellFormed);
const ref = fc.oneof(fc.integer(), wellFormedText.filter((text) => text.length <= 64));

/** Frames a correct client may send (protocol 1 and 2). */
const validFrame: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ type: fc.constant('hello'), protocol: fc.constantFrom(1, 2), cursors: fc.dictionary(conv, seq, { maxKeys: 4 }), fileRev: seq }, { requiredKeys: ['type', 'protocol'] }),
  fc.record({ type: fc.constant('send'), conv, clientId, text: wellFormedText }),
  fc.record({ type: fc.constant('history'), ref, conv, before: seq, limit: fc.integer({ min: 1, max: 100 }) }, { requiredKeys: ['type', 'ref', 'conv'] }),
  fc.record({ type: fc.constant('read'), conv, seq }),
  fc.record({ type: fc.constant('ping'), ref }, { requiredKeys: ['type'] }),
);

/** What any text frame, however broken, must come to: a valid, well-formed frame or a typed refusal. */
function checkParsed(text: string | null) {
  const parsed = parseClientFrame(text);
  if (parsed.ok) {
    expect(clientFrame.safeParse(parsed.frame).success).toBe(true);
    expect(stringsIn(parsed.frame).every(isWellFormed)).toBe(true);
  } else {
    expect(FRAME_REFUSALS).toContain(parsed.code);
    expect(parsed.message.length).toBeGreaterThan(0);
    for (const id of [parsed.ids.ref, parsed.ids.clientId]) {
      if (typeof id === 'string') expect(isWellFormed(id) && id.length <= 64).toBe(true);
    }
  }
  return parsed;
}

describe('the WebSocket frame parser (property-based)', () => {
  it('turns any text into a valid, well-formed frame or a typed refusal, and never throws', () => {
    fc.assert(fc.property(fc.oneof(trickyString(200), fc.string({ unit: 'binary', maxLength: 200 })), (text) => void checkParsed(text)), fuzzRuns(2000));
  });

  it('does the same for any JSON value, however nested or tricky', () => {
    fc.assert(fc.property(trickyJson, (value) => void checkParsed(JSON.stringify(value) ?? 'null')), fuzzRuns(2000));
  });

  it('accepts every valid frame exactly as sent', () => {
    fc.assert(
      fc.property(validFrame, (frame) => {
        const parsed = checkParsed(JSON.stringify(frame));
        expect(parsed).toEqual({ ok: true, frame });
      }),
      fuzzRuns(1000),
    );
  });

  it('refuses a valid frame with one field dropped, replaced or added unless it is still valid, and never lets ill-formed text through', () => {
    fc.assert(fc.property(mutated(validFrame), (frame) => void checkParsed(JSON.stringify(frame))), fuzzRuns(2000));
  });

  it('refuses any frame carrying an unpaired surrogate or NUL anywhere with TEXT_ILL_FORMED', () => {
    const poison = fc.constantFrom('\ud800', '\udfff', 'a\udc00', '\u0000', 'x\ud83d');
    fc.assert(
      fc.property(validFrame, fc.nat(), poison, fc.boolean(), (frame, index, bad, asKey) => {
        const keys = Object.keys(frame).filter((key) => key !== 'type');
        const copy: Record<string, unknown> = { ...frame };
        if (asKey || keys.length === 0) copy[`k${bad}`] = 1;
        else copy[keys[index % keys.length]!] = bad;
        const parsed = checkParsed(JSON.stringify(copy));
        expect(parsed.ok ? 'accepted' : parsed.code).toBe('TEXT_ILL_FORMED');
      }),
      fuzzRuns(1000),
    );
  });

  it('refuses binary frames', () => {
    expect(checkParsed(null)).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
  });
});

/** Every schema an HTTP body or query is checked against, with bodies a correct client may send. */
const userId = fc.integer({ min: 1, max: 2 ** 40 });
const BODIES: { name: string; schema: z.ZodType; valid: fc.Arbitrary<Record<string, unknown>> }[] = [
  { name: 'credentials', schema: credentialsBody, valid: fc.record({ name: wellFormedText, password: wellFormedText }) },
  { name: 'password change', schema: passwordChangeBody, valid: fc.record({ currentPassword: wellFormedText, newPassword: wellFormedText }) },
  { name: 'send', schema: sendBody, valid: fc.record({ clientId, text: wellFormedText }, { requiredKeys: ['text'] }) },
  { name: 'history query', schema: historyQuery, valid: fc.record({ before: fc.integer({ min: 1 }).map(String), limit: fc.integer({ min: 1, max: 100 }).map(String) }, { requiredKeys: [] }) },
  {
    name: 'file offer',
    schema: fileOfferBody,
    valid: fc.record(
      { conv, clientId, name: wellFormedText.filter((text) => text.length > 0), size: fc.nat(), type: wellFormedText, sha256: fc.stringMatching(/^[0-9a-f]{64}$/) },
      { requiredKeys: ['conv', 'clientId', 'name', 'size', 'sha256'] },
    ),
  },
  { name: 'files query', schema: filesQuery, valid: fc.record({ conv, state: fc.constantFrom('open', 'all'), limit: fc.integer({ min: 1, max: 100 }).map(String) }, { requiredKeys: [] }) },
  {
    name: 'create room',
    schema: createRoomBody,
    valid: fc.record({ name: wellFormedText, topic: wellFormedText, visibility: fc.constantFrom('public', 'private'), invite: fc.array(userId, { maxLength: 5 }) }, { requiredKeys: ['name', 'visibility'] }),
  },
  { name: 'update room', schema: updateRoomBody, valid: fc.record({ name: wellFormedText, topic: wellFormedText, visibility: fc.constantFrom('public', 'private') }, { requiredKeys: ['topic'] }) },
  { name: 'invite', schema: inviteBody, valid: fc.record({ users: fc.array(userId, { minLength: 1, maxLength: 5 }) }) },
  { name: 'role', schema: roleBody, valid: fc.record({ role: fc.constantFrom('admin', 'member') }) },
  { name: 'room directory query', schema: roomDirectoryQuery, valid: fc.record({ q: wellFormedText, after: wellFormedText, limit: fc.integer({ min: 1, max: 100 }).map(String) }, { requiredKeys: [] }) },
  { name: 'room members query', schema: roomMembersQuery, valid: fc.record({ after: wellFormedText, limit: fc.integer({ min: 1, max: 1000 }).map(String) }, { requiredKeys: [] }) },
  { name: 'people query', schema: peopleQuery, valid: fc.record({ prefix: wellFormedText, after: wellFormedText, limit: fc.integer({ min: 1, max: 100 }).map(String) }, { requiredKeys: [] }) },
];

describe('every HTTP body and query schema (property-based)', () => {
  for (const { name, schema, valid } of BODIES) {
    it(`${name}: any JSON, valid or mutated, is accepted well-formed or refused as BAD_REQUEST / TEXT_ILL_FORMED`, () => {
      fc.assert(
        fc.property(fc.oneof(trickyJson, valid, mutated(valid)), (body) => {
          const result = validate(schema, body);
          if (result.ok) {
            expect(stringsIn(result.data).every(isWellFormed)).toBe(true);
            expect(stringsIn(body).every(isWellFormed)).toBe(true);
          } else {
            expect(['BAD_REQUEST', 'TEXT_ILL_FORMED']).toContain(result.code);
            expect(result.code === 'TEXT_ILL_FORMED').toBe(!stringsIn(body).every(isWellFormed));
          }
        }),
        fuzzRuns(500),
      );
    });
  }

  it('reads a query’s numbers from decimal digits only: 0x10, 1e2, " 5", "+5", "5.0" and 17 digits are refused, "05" and "50" read as written', () => {
    for (const schema of [historyQuery, filesQuery, roomDirectoryQuery, roomMembersQuery, peopleQuery]) {
      for (const limit of ['0x10', '1e2', ' 5', '+5', '5.0', '12345678901234567', '', '-1']) {
        expect([limit, validate(schema, { limit })]).toMatchObject([limit, { ok: false, code: 'BAD_REQUEST' }]);
      }
      expect(validate(schema, { limit: '05' })).toMatchObject({ ok: true, data: { limit: 5 } });
      expect(validate(schema, { limit: '50' })).toMatchObject({ ok: true, data: { limit: 50 } });
    }
    expect(validate(historyQuery, { before: '1e2' })).toMatchObject({ ok: false, code: 'BAD_REQUEST' });
    expect(validate(historyQuery, {})).toEqual({ ok: true, data: { limit: 50 } });
  });

  it('every valid body is accepted (the generators above describe the protocol, not a subset of it)', () => {
    for (const { name, schema, valid } of BODIES) {
      fc.assert(
        fc.property(valid, (body) => {
          const result = validate(schema, body);
          expect([name, result.ok]).toEqual([name, true]);
        }),
        fuzzRuns(200),
      );
    }
  });
});
