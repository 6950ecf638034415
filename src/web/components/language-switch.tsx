import { LOCALES, locale, localeName, setLocale, t } from '../i18n/i18n.ts';
import { LanguageIcon } from './icons.tsx';

/** Two languages, so one click switches; the button names the language you switch to. */
export function LanguageSwitch({ compact = false }: { compact?: boolean }) {
  const other = LOCALES.find((candidate) => candidate !== locale.value) ?? 'en';
  return (
    <button
      type="button"
      class={compact ? 'icon-button' : 'chip-button'}
      lang={other}
      aria-label={`${t('menu.language')}: ${localeName(other)}`}
      title={`${t('menu.language')}: ${localeName(other)}`}
      data-testid="language-switch"
      onClick={() => setLocale(other)}
    >
      <LanguageIcon size={18} />
      {!compact && <span>{localeName(other)}</span>}
    </button>
  );
}
