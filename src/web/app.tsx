import { useEffect } from 'preact/hooks';
import { locale, t } from './i18n/i18n.ts';
import { Shell } from './components/shell.tsx';
import { SignIn } from './components/sign-in.tsx';
import { Logo } from './components/icons.tsx';
import { auth } from './state/auth.ts';

export function App() {
  const state = auth.value;
  useEffect(() => {
    document.documentElement.lang = locale.value;
  }, [locale.value]);
  useEffect(() => {
    if (state.kind !== 'signed-in') document.title = t('title.base');
  }, [state.kind, locale.value]);

  if (state.kind === 'loading') {
    return (
      <div class="splash" aria-busy="true">
        <Logo size={64} />
      </div>
    );
  }
  if (state.kind === 'unreachable') {
    return (
      <div class="splash" aria-busy="true">
        <div class="splash-inner">
          <Logo size={64} />
          <p class="splash-note" role="status" data-testid="boot-unreachable">
            {t('boot.unreachable')}
          </p>
        </div>
      </div>
    );
  }
  if (state.kind === 'signed-out') return <SignIn notice={state.notice} />;
  return <Shell store={state.store} />;
}
