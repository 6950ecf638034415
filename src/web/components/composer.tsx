import type { RefObject } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import type { ConversationId } from '../../protocol/conversations.ts';
import { t, tn } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { PreparingFiles } from './preparing-files.tsx';
import { PaperclipIcon, SendIcon } from './icons.tsx';

/** Unsent text per conversation, so switching conversations keeps what you were writing. */
const drafts = new Map<ConversationId, string>();
/** The counter appears once this share of the limit is used. */
const COUNTER_FROM = 0.8;
const MAX_ROWS_PX = 200;

/**
 * Enter sends, Shift+Enter is a new line; the length limit shows as you get near it. In a direct
 * conversation a file can be attached, or pasted (the chat pane takes dropped files).
 */
export function Composer({
  store,
  conv,
  placeholder,
  canAttach,
  inputRef,
}: {
  store: ChatStore;
  conv: ConversationId;
  placeholder: string;
  canAttach: boolean;
  inputRef: RefObject<HTMLTextAreaElement | null>;
}) {
  const [text, setText] = useState(drafts.get(conv) ?? '');
  const input = inputRef;
  const picker = useRef<HTMLInputElement>(null);
  const max = store.maxText.value;
  const length = codePoints(text);
  const over = length - max;
  const blank = text.trim() === '';

  useEffect(() => {
    setText(drafts.get(conv) ?? '');
  }, [conv]);

  // Grow with the text up to a limit, then scroll inside.
  useLayoutEffect(() => {
    const el = input.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_ROWS_PX)}px`;
  }, [text]);

  const update = (value: string) => {
    setText(value);
    drafts.set(conv, value);
  };

  const send = () => {
    if (blank || over > 0) return;
    store.send(conv, text);
    update('');
    // Sent with the button, which is disabled now the text is empty: back to writing.
    input.current?.focus();
  };

  return (
    <form
      class="composer"
      onSubmit={(event) => {
        event.preventDefault();
        send();
      }}
    >
      {canAttach && <PreparingFiles store={store} conv={conv} />}
      <div class={['composer-box', over > 0 ? 'over' : '', canAttach ? 'with-attach' : ''].filter(Boolean).join(' ')}>
        {canAttach && (
          <>
            <button
              type="button"
              class="attach-button"
              aria-label={t('file.attach')}
              title={t('file.attach')}
              data-testid="attach"
              onClick={() => picker.current?.click()}
            >
              <PaperclipIcon size={21} />
            </button>
            <input
              ref={picker}
              type="file"
              multiple
              hidden
              data-testid="file-input"
              onChange={(event) => {
                const files = [...(event.currentTarget.files ?? [])];
                // Cleared, so picking the same file again still fires a change.
                event.currentTarget.value = '';
                if (files.length > 0) void store.files.offerAll(conv, files);
                // Offered: back to writing (with a mouse; on a touch screen that would pop the keyboard up).
                if (files.length > 0 && matchMedia('(pointer: fine)').matches) input.current?.focus();
              }}
            />
          </>
        )}
        <textarea
          ref={input}
          rows={1}
          value={text}
          placeholder={placeholder}
          aria-label={t('composer.label')}
          aria-describedby="composer-hint composer-count"
          aria-invalid={over > 0}
          data-testid="composer"
          onInput={(event) => update(event.currentTarget.value)}
          onPaste={(event) => {
            const files = [...(event.clipboardData?.files ?? [])];
            if (!canAttach || files.length === 0) return;
            event.preventDefault();
            void store.files.offerAll(conv, files);
          }}
          onKeyDown={(event) => {
            // While an input method is composing (pinyin), Enter picks a candidate: it must not send.
            if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
              event.preventDefault();
              send();
            }
          }}
        />
        <button type="submit" class="send-button" aria-label={t('composer.send')} title={t('composer.send')} disabled={blank || over > 0} data-testid="send">
          <SendIcon size={20} />
        </button>
      </div>
      <div class="composer-foot">
        <span id="composer-hint" class="composer-hint">
          {t('composer.hint')}
        </span>
        <span id="composer-count" class={over > 0 ? 'composer-count over' : 'composer-count'} aria-live="polite" data-testid="composer-count">
          {length >= max * COUNTER_FROM ? (over > 0 ? t('composer.over', { n: over }) : tn('composer.left', max - length)) : ''}
        </span>
      </div>
    </form>
  );
}

function codePoints(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
