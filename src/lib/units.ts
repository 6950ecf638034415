/**
 * Sizes and durations as people read them, in one convention for the web client and the CLI:
 * binary multiples with their own symbols ("195 KiB" is 200,000 bytes; "KB" would leave the
 * reader guessing between 1,000 and 1,024), three significant digits.
 */

const numberFormats = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: string, options: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = `${locale}|${JSON.stringify(options)}`;
  let format = numberFormats.get(key);
  if (!format) numberFormats.set(key, (format = new Intl.NumberFormat(locale, options)));
  return format;
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** "0 B", "300 KiB", "12.4 MiB", "2 GiB". */
export function formatBytes(bytes: number, locale = 'en'): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${numberFormat(locale, { maximumFractionDigits: digits }).format(value)} ${UNITS[unit]}`;
}

/** "307,200": an exact count, grouped for reading. */
export function formatCount(n: number, locale = 'en'): string {
  return numberFormat(locale, { maximumFractionDigits: 0 }).format(n);
}

/**
 * The figure of "in T s": "12.3", "1.25", "0.043"; a fast local transfer still shows a real
 * figure (two significant digits), never "0.0".
 */
export function formatSecondsFigure(s: number, locale = 'en'): string {
  const value = Math.max(0, s);
  if (value >= 10) return numberFormat(locale, { maximumFractionDigits: 1 }).format(value);
  if (value >= 1) return numberFormat(locale, { maximumFractionDigits: 2 }).format(value);
  if (value < 0.001) return `< ${numberFormat(locale, {}).format(0.001)}`;
  return numberFormat(locale, { maximumSignificantDigits: 2 }).format(value);
}
