import { useEffect, useRef, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import { t, type MessageKey } from '../i18n/i18n.ts';
import { authenticate } from '../state/auth.ts';
import { durationText } from '../lib/duration-text.ts';
import { errorText } from './error-text.ts';
import { EyeIcon, EyeOffIcon, Logo } from './icons.tsx';
import { LanguageSwitch } from './language-switch.tsx';

type Mode = 'sign-in' | 'register';

/** Sign in and register on one screen, with errors inline and in the user's language. */
export function SignIn({ notice }: { notice?: MessageKey }) {
  const [mode, setMode] = useState<Mode>('sign-in');
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [reveal, setReveal] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ key: MessageKey; until?: number } | null>(notice ? { key: notice } : null);
  const [now, setNow] = useState(Date.now());
  const nameInput = useRef<HTMLInputElement>(null);

  useEffect(() => nameInput.current?.focus(), []);
  // A rate-limit message counts down and clears itself.
  useEffect(() => {
    if (!error?.until) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= error.until!) setError(null);
    }, 250);
    return () => clearInterval(timer);
  }, [error]);

  const waiting = error?.until !== undefined && error.until > now;

  async function submit(event: Event) {
    event.preventDefault();
    if (busy || waiting) return;
    setBusy(true);
    setError(null);
    try {
      await authenticate(mode, { name: name.trim(), password });
    } catch (failure) {
      const code = failure instanceof ParleyClientError ? failure.code : 'NETWORK';
      const retry = failure instanceof ParleyClientError ? failure.retryAfterMs : undefined;
      setError({ key: errorText(code), ...(retry ? { until: Date.now() + retry } : {}) });
      setNow(Date.now());
      setBusy(false);
    }
  }

  const passwordProps = {
    name: 'password',
    autoComplete: mode === 'register' ? 'new-password' : 'current-password',
    value: password,
    required: true,
    'aria-invalid': error?.key === 'error.PASSWORD_INVALID' || error?.key === 'error.PASSWORD_TOO_COMMON' || error?.key === 'error.WRONG_CREDENTIALS',
    'aria-describedby': mode === 'register' ? 'password-hint' : undefined,
    onInput: (e: Event) => setPassword((e.currentTarget as HTMLInputElement).value),
  };
  /** The tabs keep the focus when they switch (arrow keys go on working); the link below them hands it to the form. */
  const switchMode = (next: Mode, focusForm = false) => {
    setMode(next);
    setError(null);
    if (focusForm) nameInput.current?.focus();
  };
  const seconds = error?.until ? Math.max(1, Math.ceil((error.until - now) / 1000)) : 0;

  return (
    <div class="auth-page">
      <div class="auth-topbar">
        <LanguageSwitch />
      </div>
      <div class="auth-layout">
        <section class="auth-brand" aria-hidden="true">
          <Logo size={56} />
          <p class="auth-brand-name">{t('app.name')}</p>
          <p class="auth-tagline">{t('app.tagline')}</p>
          <div class="auth-preview">
            <div class="preview-bubble preview-in">
              <span class="preview-dot" />
              <span class="preview-line w70" />
            </div>
            <div class="preview-bubble preview-out">
              <span class="preview-line w50" />
            </div>
            <div class="preview-bubble preview-in">
              <span class="preview-dot alt" />
              <span class="preview-line w85" />
            </div>
          </div>
        </section>
        <main class="auth-card">
          <div class="auth-card-logo">
            <Logo size={44} />
          </div>
          <h1 class="auth-title">{mode === 'sign-in' ? t('auth.welcomeBack') : t('auth.welcomeNew')}</h1>
          <div
            class="segmented"
            role="tablist"
            aria-label={t('auth.modeTabs')}
            onKeyDown={(event) => {
              // Tabs pattern: arrow keys move between the two, the tab key moves on to the form.
              if (event.key !== 'ArrowLeft' && event.key !== 'ArrowRight') return;
              event.preventDefault();
              const next = mode === 'sign-in' ? 'register' : 'sign-in';
              switchMode(next);
              (event.currentTarget.querySelector(`[data-mode="${next}"]`) as HTMLElement | null)?.focus();
            }}
          >
            {(['sign-in', 'register'] as const).map((m) => (
              <button
                key={m}
                type="button"
                role="tab"
                data-mode={m}
                aria-selected={mode === m}
                aria-controls="auth-form"
                tabIndex={mode === m ? 0 : -1}
                class={mode === m ? 'segment active' : 'segment'}
                onClick={() => switchMode(m)}
              >
                {m === 'sign-in' ? t('auth.signIn') : t('auth.register')}
              </button>
            ))}
          </div>
          <form id="auth-form" class="auth-form" onSubmit={submit} noValidate>
            <label class="field">
              <span class="field-label">{t('auth.name')}</span>
              <input
                ref={nameInput}
                name="name"
                autoComplete="username"
                autoCapitalize="off"
                spellcheck={false}
                value={name}
                maxLength={64}
                required
                aria-invalid={error?.key === 'error.NAME_INVALID' || error?.key === 'error.NAME_TAKEN'}
                aria-describedby={mode === 'register' ? 'name-hint' : undefined}
                onInput={(e) => setName(e.currentTarget.value)}
              />
              {mode === 'register' && (
                <span id="name-hint" class="field-hint">
                  {t('auth.nameHint')}
                </span>
              )}
            </label>
            <label class="field">
              <span class="field-label">{t('auth.password')}</span>
              <span class="password-wrap">
                {/* Same element either way (Preact reuses it), so focus and caret survive the toggle. */}
                {reveal ? <input type="text" {...passwordProps} /> : <input type="password" {...passwordProps} />}
                <button
                  type="button"
                  class="reveal"
                  aria-label={reveal ? t('auth.hidePassword') : t('auth.showPassword')}
                  aria-pressed={reveal}
                  onClick={() => setReveal(!reveal)}
                >
                  {reveal ? <EyeOffIcon size={18} /> : <EyeIcon size={18} />}
                </button>
              </span>
              {mode === 'register' && (
                <span id="password-hint" class="field-hint">
                  {t('auth.passwordHint')}
                </span>
              )}
            </label>
            <p class="form-error" role="alert" data-testid="auth-error">
              {error ? t(error.key, { wait: durationText(seconds) }) : ''}
            </p>
            <button type="submit" class="primary-button" disabled={busy || waiting} data-testid="auth-submit">
              {busy ? t('auth.working') : mode === 'sign-in' ? t('auth.signIn') : t('auth.register')}
            </button>
          </form>
          <button type="button" class="link-button" onClick={() => switchMode(mode === 'sign-in' ? 'register' : 'sign-in', true)}>
            {mode === 'sign-in' ? t('auth.switchToRegister') : t('auth.switchToSignIn')}
          </button>
        </main>
      </div>
    </div>
  );
}
