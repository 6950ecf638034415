import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { en } from './en.ts';
import { zhCN } from './zh-CN.ts';

const WEB = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'build' || entry.name === 'public' ? [] : sources(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts') && !path.includes(`${join('web', 'i18n')}`) ? [path] : [];
  });
}

describe('the translation catalogues', () => {
  it('have the same keys and the same placeholders in Chinese and English', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
    for (const key of Object.keys(en) as (keyof typeof en)[]) {
      const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      expect(names(zhCN[key]), key).toEqual(names(en[key]));
      expect(zhCN[key].trim(), key).not.toBe('');
    }
  });

  it('are all used, and components hold no user-visible text of their own', () => {
    const code = sources(WEB).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
    const all = code.map((c) => c.text).join('\n');
    const unused = Object.keys(en).filter((key) => !all.includes(`'${key}'`) && !key.startsWith('error.') && key !== 'locale.name');
    expect(unused).toEqual([]);
    for (const { path, text } of code.filter((c) => c.path.endsWith('.tsx'))) expect(literalUiText(path, text), path).toEqual([]);
  });
});

/** JSX text with letters in it, and string-literal labels (aria-label, title, placeholder, alt), found by parsing. */
function literalUiText(path: string, text: string): string[] {
  const found: string[] = [];
  const visit = (node: ts.Node) => {
    if (ts.isJsxText(node) && /[\p{L}]/u.test(node.text)) found.push(node.text.trim());
    if (ts.isJsxAttribute(node) && ['aria-label', 'title', 'placeholder', 'alt'].includes(node.name.getText()) && node.initializer && ts.isStringLiteral(node.initializer)) {
      found.push(node.initializer.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TSX));
  return found;
}
