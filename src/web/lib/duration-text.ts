import { t } from '../i18n/i18n.ts';
import { splitDuration } from './format.ts';

/** A wait or a time left, in the current language: "9 s", "14 min 58 s", "2 h 5 min" (never "898 s"). */
export function durationText(totalSeconds: number): string {
  const { h, m, s } = splitDuration(totalSeconds);
  return h > 0 ? t('time.hours', { h, m }) : m > 0 ? t('time.minutes', { m, s }) : t('time.seconds', { n: s });
}
