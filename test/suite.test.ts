import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { auditSuite, suiteSources } from './support/suite-audit.ts';

const REPO = join(import.meta.dirname, '..');

describe('the test suite itself', () => {
  it('has no test that cannot fail: each reaches an expect or assert, every expect calls a matcher, every .rejects/.resolves is awaited, none is left out with .only/.skip/.todo', () => {
    const { tests, findings } = auditSuite(suiteSources(REPO));
    // The audit read the suite (hundreds of tests, this one among them), not an empty folder.
    expect(tests).toBeGreaterThan(400);
    expect(findings).toEqual([]);
  });

  it('finds each of those defects in a suite that has them', () => {
    const broken = [
      "import { describe, expect, it } from 'vitest';",
      "it('asserts nothing', async () => { await Promise.resolve(); });",
      "it('forgets the matcher', () => { expect(1); });",
      "it('does not wait for the rejection', () => { expect(Promise.reject(new Error('x'))).rejects.toThrow(); });",
      "it.only('runs alone', () => { expect(1).toBe(1); });",
      "describe.skip('never runs', () => { it('x', () => { expect(1).toBe(1); }); });",
      'function check(n: number) { expect(n).toBe(1); }',
      "it('asserts through a helper', () => { check(1); });",
      "it.each([1])('asserts in a table %s', (n) => { expect(n).toBe(1); });",
      "describe.skipIf(process.env.NONE === undefined)('skipped where a tool is missing', () => { it('y', () => { expect(1).toBe(1); }); });",
    ].join('\n');
    const { tests, findings } = auditSuite([{ path: 'test/broken.test.ts', text: broken }]);
    expect(tests).toBe(8);
    expect(findings).toEqual([
      { where: 'test/broken.test.ts:2', problem: "the test 'asserts nothing' reaches no expect or assert" },
      { where: 'test/broken.test.ts:3', problem: 'expect(…) with no matcher: it checks nothing' },
      { where: 'test/broken.test.ts:4', problem: 'a .rejects/.resolves check not awaited: it settles after the test has passed' },
      { where: 'test/broken.test.ts:5', problem: '.only: every other test is left out' },
      { where: 'test/broken.test.ts:6', problem: '.skip: left out of every run' },
    ]);
  });
});
