import type { Locale } from '../i18n/i18n.ts';

const cache = new Map<string, Intl.DateTimeFormat>();

function format(locale: Locale, options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let formatter = cache.get(key);
  if (!formatter) cache.set(key, (formatter = new Intl.DateTimeFormat(locale, options)));
  return formatter;
}

/** "1:40 PM" (en), "13:40" (zh-CN) in the user's time zone: no leading zero on the hour. */
export function clockTime(ts: number, locale: Locale): string {
  return format(locale, { hour: 'numeric', minute: '2-digit' }).format(ts);
}

/** Full date and time, for a tooltip. */
export function fullTime(ts: number, locale: Locale): string {
  return format(locale, { dateStyle: 'full', timeStyle: 'short' }).format(ts);
}

/** The local calendar day of a time, as a stable key "2025-03-09". */
export function dayKey(ts: number): string {
  const d = new Date(ts);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export type DayLabel = { kind: 'today' } | { kind: 'yesterday' } | { kind: 'date'; text: string };

export function dayLabel(ts: number, locale: Locale, now = Date.now()): DayLabel {
  const key = dayKey(ts);
  if (key === dayKey(now)) return { kind: 'today' };
  const yesterday = new Date(now);
  yesterday.setDate(yesterday.getDate() - 1);
  if (key === dayKey(yesterday.getTime())) return { kind: 'yesterday' };
  const sameYear = new Date(ts).getFullYear() === new Date(now).getFullYear();
  const options: Intl.DateTimeFormatOptions = sameYear
    ? { weekday: 'long', month: 'long', day: 'numeric' }
    : { year: 'numeric', month: 'long', day: 'numeric' };
  return { kind: 'date', text: format(locale, options).format(ts) };
}

/** For the sidebar: the time today, else a short date. */
export function shortStamp(ts: number, locale: Locale, now = Date.now()): string {
  if (dayKey(ts) === dayKey(now)) return clockTime(ts, locale);
  const ageDays = (now - ts) / 86_400_000;
  if (ageDays < 6) return format(locale, { weekday: 'short' }).format(ts);
  return format(locale, { month: 'numeric', day: 'numeric' }).format(ts);
}
