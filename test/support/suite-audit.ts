import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

/**
 * Reads the test suite's own source (parsed by the TypeScript compiler, not by regular
 * expressions) and reports the tests that cannot fail: a test body that reaches no `expect` or
 * `assert`, an `expect(…)` that calls no matcher, a `.rejects`/`.resolves` nobody awaits (it
 * settles after the test has passed), and tests left out for good (`.only`, `.skip`, `.todo`;
 * a conditional `skipIf`/`runIf` is how a missing Chromium or PostgreSQL is reported, and stays).
 */
export interface Finding {
  where: string;
  problem: string;
}

export interface SourceFile {
  path: string;
  text: string;
}

/**
 * The suite's files: everything under test/, and under src/ the unit tests and the shared contract
 * suites (store, bus, blob store). Code under test is left out, so an `assert` it uses for its own
 * invariants never counts as a test's check.
 */
export function suiteSources(repo: string): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string, keep: (path: string) => boolean) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path, keep);
      else if (entry.name.endsWith('.ts') && keep(relative(repo, path))) files.push({ path: relative(repo, path), text: readFileSync(path, 'utf8') });
    }
  };
  walk(join(repo, 'test'), () => true);
  walk(join(repo, 'src'), (path) => /\.test\.ts$|contract/.test(path));
  return files;
}

export function auditSuite(sources: readonly SourceFile[]): { tests: number; findings: Finding[] } {
  const parsed = sources.map(({ path, text }) => ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true));
  const helpers = namedFunctions(parsed);
  const asserting = new Map<string, boolean>();
  /** Whether a body calls expect/assert itself or through a named helper (a suite's `check(…)`, `stillServing(…)`). */
  const reachesAssertion = (body: ts.Node, visiting: Set<string>): boolean => {
    let found = false;
    const visit = (node: ts.Node): void => {
      if (found) return;
      if (ts.isIdentifier(node) && (node.text === 'expect' || node.text === 'assert')) {
        found = true;
        return;
      }
      if (ts.isCallExpression(node)) {
        const name = calleeName(node.expression);
        if (name !== undefined && helpers.has(name) && !visiting.has(name)) {
          if (!asserting.has(name)) {
            visiting.add(name);
            asserting.set(name, helpers.get(name)!.some((helper) => reachesAssertion(helper, visiting)));
          }
          if (asserting.get(name)) {
            found = true;
            return;
          }
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(body);
    return found;
  };

  const findings: Finding[] = [];
  let tests = 0;
  for (const file of parsed) {
    const where = (node: ts.Node) => `${file.fileName}:${file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1}`;
    const visit = (node: ts.Node): void => {
      if (ts.isCallExpression(node) && isTestCall(node.expression)) {
        const modifier = leftOutModifier(node.expression);
        if (modifier) findings.push({ where: where(node), problem: modifier === 'only' ? '.only: every other test is left out' : `.${modifier}: left out of every run` });
        const body = node.arguments.find((argument) => ts.isArrowFunction(argument) || ts.isFunctionExpression(argument));
        if (body && isTestName(node.expression)) {
          tests++;
          if (!reachesAssertion((body as ts.ArrowFunction).body, new Set())) {
            findings.push({ where: where(node), problem: `the test ${node.arguments[0]?.getText(file) ?? ''} reaches no expect or assert` });
          }
        }
      }
      if (ts.isExpressionStatement(node)) {
        const problem = danglingExpect(node.expression);
        if (problem) findings.push({ where: where(node), problem });
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return { tests, findings };
}

/** `it`, `test` and `describe` with their modifiers: `it.each(…)(…)`, `describe.skipIf(…)(…)`. */
function isTestCall(callee: ts.Expression): boolean {
  const root = rootName(callee);
  return root === 'it' || root === 'test' || root === 'describe';
}

function isTestName(callee: ts.Expression): boolean {
  const root = rootName(callee);
  return root === 'it' || root === 'test';
}

function rootName(callee: ts.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee) || ts.isCallExpression(callee)) return rootName(callee.expression);
  return undefined;
}

function leftOutModifier(callee: ts.Expression): string | undefined {
  if (ts.isPropertyAccessExpression(callee)) {
    if (['only', 'skip', 'todo'].includes(callee.name.text)) return callee.name.text;
    return leftOutModifier(callee.expression);
  }
  if (ts.isCallExpression(callee)) return leftOutModifier(callee.expression);
  return undefined;
}

/** An `expect(…)` statement with no matcher called, or a `.rejects`/`.resolves` not awaited or returned. */
function danglingExpect(statement: ts.Expression): string | undefined {
  const awaited = ts.isAwaitExpression(statement);
  let node: ts.Expression = awaited ? (statement as ts.AwaitExpression).expression : statement;
  let matcherCalled = false;
  let settles = false;
  for (;;) {
    if (ts.isCallExpression(node)) {
      if (ts.isIdentifier(node.expression) && node.expression.text === 'expect') break;
      matcherCalled = true;
      node = node.expression;
    } else if (ts.isPropertyAccessExpression(node)) {
      if (node.name.text === 'rejects' || node.name.text === 'resolves') settles = true;
      node = node.expression;
    } else {
      return undefined;
    }
  }
  if (!matcherCalled) return 'expect(…) with no matcher: it checks nothing';
  if (settles && !awaited) return 'a .rejects/.resolves check not awaited: it settles after the test has passed';
  return undefined;
}

function calleeName(callee: ts.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

/** Function declarations, functions assigned to a name, and methods, by name (the suite's helpers). */
function namedFunctions(files: readonly ts.SourceFile[]): Map<string, ts.Node[]> {
  const functions = new Map<string, ts.Node[]>();
  const add = (name: string, body: ts.Node) => functions.set(name, [...(functions.get(name) ?? []), body]);
  for (const file of files) {
    const visit = (node: ts.Node): void => {
      if (ts.isFunctionDeclaration(node) && node.name && node.body) add(node.name.text, node.body);
      else if (ts.isMethodDeclaration(node) && ts.isIdentifier(node.name) && node.body) add(node.name.text, node.body);
      else if (
        ts.isVariableDeclaration(node) &&
        ts.isIdentifier(node.name) &&
        node.initializer &&
        (ts.isArrowFunction(node.initializer) || ts.isFunctionExpression(node.initializer))
      ) {
        add(node.name.text, node.initializer.body);
      }
      ts.forEachChild(node, visit);
    };
    visit(file);
  }
  return functions;
}
