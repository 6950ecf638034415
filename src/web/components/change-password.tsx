import { useEffect, useRef, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import { t, type MessageKey } from '../i18n/i18n.ts';
import { api } from '../state/auth.ts';
import { errorText } from './error-text.ts';
import { Modal } from './modal.tsx';

type Failure = { key: MessageKey; field: 'current' | 'new' | null; until?: number };

/** Which field an error code is about, so that field is marked invalid. */
function fieldOf(code: string): Failure['field'] {
  if (code === 'WRONG_CURRENT_PASSWORD') return 'current';
  if (code === 'PASSWORD_INVALID' || code === 'PASSWORD_TOO_COMMON' || code === 'BAD_REQUEST') return 'new';
  return null;
}

/**
 * Changes the password with the current one (the server ends every other session of the
 * account; this one goes on). Errors show inline; a rate limit counts down.
 */
export function ChangePasswordDialog({ onClose }: { onClose: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [repeat, setRepeat] = useState('');
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<Failure | null>(null);
  const [done, setDone] = useState(false);
  const [now, setNow] = useState(Date.now());
  const doneButton = useRef<HTMLButtonElement>(null);

  useEffect(() => {
    if (done) doneButton.current?.focus();
  }, [done]);
  useEffect(() => {
    if (!failure?.until) return;
    const timer = setInterval(() => {
      setNow(Date.now());
      if (Date.now() >= failure.until!) setFailure(null);
    }, 250);
    return () => clearInterval(timer);
  }, [failure]);

  const waiting = failure?.until !== undefined && failure.until > now;

  async function submit(event: Event) {
    event.preventDefault();
    if (busy || waiting || !current || !next) return;
    if (next !== repeat) {
      setFailure({ key: 'password.mismatch', field: 'new' });
      return;
    }
    setBusy(true);
    setFailure(null);
    try {
      await api.changePassword({ currentPassword: current, newPassword: next });
      setDone(true);
    } catch (error) {
      const code = error instanceof ParleyClientError ? error.code : 'NETWORK';
      const retry = error instanceof ParleyClientError ? error.retryAfterMs : undefined;
      setFailure({ key: errorText(code), field: fieldOf(code), ...(retry ? { until: Date.now() + retry } : {}) });
      setNow(Date.now());
    } finally {
      setBusy(false);
    }
  }

  const seconds = failure?.until ? Math.max(1, Math.ceil((failure.until - now) / 1000)) : 0;
  const input = (value: string, set: (value: string) => void) => ({
    type: 'password' as const,
    value,
    required: true,
    onInput: (e: Event) => set((e.currentTarget as HTMLInputElement).value),
  });

  return (
    <Modal id="change-password" title={t('password.title')} onClose={onClose}>
      {done ? (
        <div class="dialog-body">
          <p role="status" data-testid="password-changed">
            {t('password.done')}
          </p>
          <div class="dialog-actions">
            <button ref={doneButton} type="button" class="primary-button" onClick={onClose} data-testid="password-changed-close">
              {t('dialog.close')}
            </button>
          </div>
        </div>
      ) : (
        <form class="dialog-body" onSubmit={submit} noValidate>
          <label class="field">
            <span class="field-label">{t('password.current')}</span>
            <input {...input(current, setCurrent)} name="current-password" autoComplete="current-password" aria-invalid={failure?.field === 'current'} data-autofocus />
          </label>
          <label class="field">
            <span class="field-label">{t('password.new')}</span>
            <input
              {...input(next, setNext)}
              name="new-password"
              autoComplete="new-password"
              aria-invalid={failure?.field === 'new'}
              aria-describedby="change-password-hint"
            />
            <span id="change-password-hint" class="field-hint">
              {t('password.hint')}
            </span>
          </label>
          <label class="field">
            <span class="field-label">{t('password.repeat')}</span>
            <input {...input(repeat, setRepeat)} name="repeat-password" autoComplete="new-password" aria-invalid={failure?.key === 'password.mismatch'} />
          </label>
          <p class="form-error" role="alert" data-testid="password-error">
            {failure ? t(failure.key, { s: seconds }) : ''}
          </p>
          <div class="dialog-actions">
            <button type="button" class="secondary-button" onClick={onClose}>
              {t('nav.cancel')}
            </button>
            <button type="submit" class="primary-button" disabled={busy || waiting || !current || !next || !repeat} data-testid="change-password-submit">
              {busy ? t('auth.working') : t('password.submit')}
            </button>
          </div>
        </form>
      )}
    </Modal>
  );
}
