import { computed, signal } from '@preact/signals';
import { en, type MessageKey, type Messages, type PluralBase } from './en.ts';
import { zhCN } from './zh-CN.ts';

export type Locale = 'zh-CN' | 'en';
export const LOCALES: readonly Locale[] = ['zh-CN', 'en'];
const CATALOGUES: Record<Locale, Messages> = { 'zh-CN': zhCN, en };
const STORAGE_KEY = 'parley.locale';

/** The remembered choice, else the browser's first language we speak, else English. */
export function detectLocale(stored: string | null, languages: readonly string[]): Locale {
  if (stored === 'zh-CN' || stored === 'en') return stored;
  for (const language of languages) {
    const lower = language.toLowerCase();
    if (lower.startsWith('zh')) return 'zh-CN';
    if (lower.startsWith('en')) return 'en';
  }
  return 'en';
}

function readStored(): string | null {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export const locale = signal<Locale>(detectLocale(readStored(), navigator.languages ?? [navigator.language]));

export function setLocale(next: Locale): void {
  locale.value = next;
  try {
    localStorage.setItem(STORAGE_KEY, next);
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

const catalogue = computed(() => CATALOGUES[locale.value]);

/** The string for `key` in the current language, with `{name}` placeholders filled in. */
export function t(key: MessageKey, params?: Record<string, string | number>): string {
  const template = catalogue.value[key] ?? en[key];
  if (!params) return template;
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

const pluralRules = computed(() => new Intl.PluralRules(locale.value));

/** "1 character left", "2 characters left": the form of `base` that Intl.PluralRules picks for `n`. */
export function tn(base: PluralBase, n: number, params?: Record<string, string | number>): string {
  const form = `${base}.${pluralRules.value.select(n)}` as MessageKey;
  return t(form in catalogue.value ? form : (`${base}.other` as MessageKey), { n, ...params });
}

/** The name of a language in that language (for the switcher). */
export function localeName(target: Locale): string {
  return CATALOGUES[target]['locale.name'];
}

export type { MessageKey, PluralBase };
