import fc from 'fast-check';

/**
 * Property runs for the fuzz tests. `npm test` runs them with a fixed seed, so a failure is
 * reproducible and the suite is deterministic; `PARLEY_FUZZ_RUNS=<n>` multiplies the runs for a
 * longer search (`PARLEY_FULL_TESTS=1`: by 10), and `PARLEY_FUZZ_SEED=<n>` (or `random`) explores other cases. fast-check prints
 * the seed and the shrunk counterexample of any failure.
 *
 *   PARLEY_FUZZ_RUNS=50 PARLEY_FUZZ_SEED=random npx vitest run test/fuzz-*.test.ts
 */
export const FUZZ_SEED = 20261201;

const multiplier = Math.max(1, Number(process.env.PARLEY_FUZZ_RUNS) || (process.env.PARLEY_FULL_TESTS === '1' ? 10 : 1));
const seedSetting = process.env.PARLEY_FUZZ_SEED;
const seed = seedSetting === 'random' ? Date.now() % 2 ** 31 : Number(seedSetting) || FUZZ_SEED;

/** fast-check parameters for `runs` cases in `npm test` (more with PARLEY_FUZZ_RUNS). */
export function fuzzRuns(runs: number): fc.Parameters<unknown> {
  return { seed, numRuns: runs * multiplier, endOnFailure: true };
}

/** Test time for a property that runs `runs` cases costing about `msEach`. */
export function fuzzTimeout(runs: number, msEach: number): number {
  return 30_000 + runs * multiplier * msEach;
}

/**
 * Text that breaks naive code: lone and reversed surrogates, NUL and other controls, astral
 * characters, combining marks, bidi controls, ZWJ sequences, noncharacters, JSON and HTML syntax.
 */
const TRICKY_UNITS = [
  '\ud800', '\udfff', '\udc00\ud800', '\u0000', '\u0001', '\u001b', '\u007f', '\u0085', '\u2028', '\u2029',
  '\u200b', '\u200d', '\u200e', '\u202e', '\u2066', '\ufeff', '\ufffe', '\uffff', '\ufffd', '\u0301', '\u034f',
  '😀', '👩‍👩‍👧', '𝄞', '\u{10ffff}', '\u{e0001}', '"', '\\', '/', '<', '>', '&', "'", '`', '{', '}', '[', ']', ':', ',',
  '%', '..', 'dm:', 'world', 'room:', '\n', '\r', '\t', ' ', '文', 'ｱ', 'é', 'e\u0301',
];

/** One "character": ASCII mostly, any UTF-16 unit (lone surrogates included), any code point, or a tricky one. */
export const unit: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((code) => String.fromCharCode(code)) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code)) },
  { weight: 1, arbitrary: fc.integer({ min: 0x10000, max: 0x10ffff }).map((code) => String.fromCodePoint(code)) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_UNITS) },
);

export const trickyString = (maxLength = 40): fc.Arbitrary<string> => fc.string({ unit, maxLength });

/** Any JSON value, with tricky strings as values and keys. */
export const trickyJson: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constantFrom(0, -1, 1.5, 2 ** 53, -(2 ** 53), 1e308, Number.MAX_SAFE_INTEGER + 2),
    trickyString(),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(trickyString(12), tie('value'), { maxKeys: 5 }),
  ),
})).value;

/**
 * A mutation of a valid object: one field dropped, replaced by any JSON value, given a tricky
 * string, or one unknown field added.
 */
export function mutated(valid: fc.Arbitrary<Record<string, unknown>>): fc.Arbitrary<unknown> {
  return fc
    .tuple(valid, fc.nat(), fc.constantFrom('drop', 'replace', 'tricky', 'add'), trickyJson, trickyString(20))
    .map(([object, index, how, value, text]) => {
      const keys = Object.keys(object);
      const key = keys.length > 0 ? keys[index % keys.length]! : 'x';
      const copy: Record<string, unknown> = { ...object };
      if (how === 'drop') delete copy[key];
      else if (how === 'replace') copy[key] = value;
      else if (how === 'tricky') copy[key] = text;
      else copy[text || 'extra'] = value;
      return copy;
    });
}

/** Every string in a JSON value, keys included. */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null) return [];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  return Object.entries(value).flatMap(([key, inner]) => [key, ...stringsIn(inner)]);
}

export const isWellFormed = (text: string) => !/[\p{Cs}\u0000]/u.test(text);
