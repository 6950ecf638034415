import { describe, expect, it } from 'vitest';
import { clockTime as format } from './time.ts';

// ICU puts a narrow no-break space before "PM" in some versions.
const clockTime = (ts: number, locale: 'en' | 'zh-CN') => format(ts, locale).replace(/\s/gu, ' ');

describe('the time on a message', () => {
  it('has no leading zero in English: "1:40 PM", "9:05 AM"', () => {
    expect(clockTime(new Date(2026, 0, 5, 13, 40).getTime(), 'en')).toBe('1:40 PM');
    expect(clockTime(new Date(2026, 0, 5, 9, 5).getTime(), 'en')).toBe('9:05 AM');
  });

  it('is on a 24-hour clock in Chinese: "13:40"', () => {
    expect(clockTime(new Date(2026, 0, 5, 13, 40).getTime(), 'zh-CN')).toBe('13:40');
  });
});
