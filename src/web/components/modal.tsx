import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';
import { t } from '../i18n/i18n.ts';
import { CloseIcon } from './icons.tsx';

interface Props {
  /** The id of the dialog's heading (rendered by `Modal` from `title`). */
  id: string;
  title: string;
  onClose: () => void;
  /** `wide` for lists (the room directory), `medium` for longer forms, else a small form. */
  size?: 'small' | 'medium' | 'wide';
  children: ComponentChildren;
}

/**
 * A native modal dialog, the way every dialog of the app behaves: it opens before the first paint
 * with the focus on the element marked `data-autofocus` (its first field), keeps the focus inside,
 * closes on Escape, the close button or a click on the backdrop, and gives the focus back to
 * the control that opened it when it goes away, unless something else has taken it on purpose
 * (a conversation that the dialog opened focuses its composer).
 */
export function Modal({ id, title, onClose, size = 'small', children }: Props) {
  const dialog = useRef<HTMLDialogElement>(null);
  useLayoutEffect(() => {
    const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    const el = dialog.current!;
    el.showModal();
    // The dialog's first field, not its close button (which comes first in the page's order).
    el.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      const focusWasInside = el.contains(document.activeElement) || document.activeElement === document.body;
      // Closed before it leaves the page, so the page is no longer inert and can take the focus.
      el.close();
      if (focusWasInside && opener?.isConnected) opener.focus();
    };
  }, []);

  return (
    <dialog
      ref={dialog}
      class={size === 'small' ? 'dialog' : `dialog dialog-${size}`}
      aria-labelledby={`${id}-title`}
      onCancel={(event) => {
        // The app closes it (by unmounting), so focus goes back where it belongs.
        event.preventDefault();
        onClose();
      }}
      onClick={(event) => {
        // A click on the backdrop lands on the <dialog> itself, outside its content box.
        if (event.target === dialog.current) onClose();
      }}
    >
      <div class="dialog-frame">
        <header class="dialog-head">
          <h2 id={`${id}-title`} class="dialog-title">
            {title}
          </h2>
          <button type="button" class="icon-button" aria-label={t('dialog.close')} title={t('dialog.close')} onClick={onClose}>
            <CloseIcon size={18} />
          </button>
        </header>
        {children}
      </div>
    </dialog>
  );
}
