import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../protocol/errors.ts';
import { errorText } from '../components/error-text.ts';
import { en } from './en.ts';
import { zhCN } from './zh-CN.ts';

const BASES = Object.keys(en).flatMap((key) => (key.endsWith('.other') ? [key.slice(0, -'.other'.length)] : []));
/** A plural form: `base.<category>` where the English catalogue has `base.other`. */
const PLURAL = new RegExp(`^(${BASES.map((b) => b.replace(/\./g, '\\.')).join('|')})\\.(zero|one|two|few|many|other)$`);

/** Codes the web client never provokes (it sends well-formed frames to its own origin); "Something went wrong" is honest for them. */
const ONLY_BROKEN_CLIENTS = new Set<ErrorCode>([
  'BAD_JSON', 'BAD_REQUEST', 'UNKNOWN_TYPE', 'HELLO_REQUIRED', 'ALREADY_GREETED', 'FORBIDDEN_ORIGIN', 'HOST_NOT_ALLOWED',
  'UNSUPPORTED_MEDIA_TYPE', 'UPLOAD_OFFSET_MISMATCH', 'UPLOAD_IN_PROGRESS', 'UPLOAD_INTERRUPTED', 'RANGE_NOT_SATISFIABLE',
  'TUS_VERSION_UNSUPPORTED', 'INTERNAL', 'HEADERS_TOO_LARGE',
]);

const WEB = fileURLToPath(new URL('..', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'build' || entry.name === 'public' ? [] : sources(path);
    return /\.tsx?$/.test(entry.name) && !entry.name.endsWith('.test.ts') && !path.includes(`${join('web', 'i18n')}`) ? [path] : [];
  });
}

describe('the translation catalogues', () => {
  it('have the same keys and the same placeholders in Chinese and English, each plural in the forms its language has', () => {
    const singular = (keys: string[]) => keys.filter((key) => !PLURAL.test(key)).sort();
    expect(singular(Object.keys(zhCN))).toEqual(singular(Object.keys(en)));
    const names = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
    for (const [locale, catalogue] of [['en', en], ['zh-CN', zhCN]] as const) {
      const messages: Record<string, string | undefined> = catalogue;
      const categories = new Intl.PluralRules(locale).resolvedOptions().pluralCategories;
      for (const key of Object.keys(en)) {
        const base = PLURAL.exec(key)?.[1];
        const text = messages[key];
        if (base) expect(text !== undefined, `${locale} ${key}`).toBe(categories.includes(key.slice(base.length + 1) as Intl.LDMLPluralRule));
        else expect(text?.trim(), `${locale} ${key}`).toBeTruthy();
        if (text !== undefined) expect(names(text), `${locale} ${key}`).toEqual(names(en[key as keyof typeof en]));
      }
    }
  });

  it('say in both languages what every error code of the protocol means, but for those only a broken client meets', () => {
    const missing = (Object.keys(ERRORS) as ErrorCode[]).filter((code) => !ONLY_BROKEN_CLIENTS.has(code) && !(`error.${code}` in en));
    expect(missing).toEqual([]);
    expect(errorText('TEXT_ILL_FORMED')).toBe('error.TEXT_ILL_FORMED');
    expect(errorText('BAD_JSON')).toBe('error.generic');
  });

  it('are all used, and components hold no user-visible text of their own', () => {
    const code = sources(WEB).map((path) => ({ path, text: readFileSync(path, 'utf8') }));
    const all = code.map((c) => c.text).join('\n');
    const unused = Object.keys(en).filter((key) => !all.includes(`'${key.replace(PLURAL, '$1')}'`) && !key.startsWith('error.') && key !== 'locale.name');
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
