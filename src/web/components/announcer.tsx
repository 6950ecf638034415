import { useEffect, useRef } from 'preact/hooks';
import type { Message } from '../../protocol/frames.ts';
import { WORLD } from '../../protocol/conversations.ts';
import { t } from '../i18n/i18n.ts';
import { announcementsFor } from '../lib/announcements.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { viewingConv } from '../state/route.ts';

/** Arrivals are gathered this long and spoken together, so a burst is one sentence, not a thousand. */
const GATHER_MS = 700;
/** Lines kept in the region (a screen reader reads additions; old lines only take memory). */
const KEEP = 8;

/**
 * The chat's live region: a screen reader hears new messages from here, politely (it finishes
 * what it is saying first), and nothing else. The message list itself is not live, so loading
 * older messages while scrolling up is never read out as news.
 */
export function Announcer({ store }: { store: ChatStore }) {
  const region = useRef<HTMLDivElement>(null);

  useEffect(() => {
    let pending: Message[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    const flush = () => {
      timer = undefined;
      const arrived = pending;
      pending = [];
      const el = region.current;
      if (!el) return;
      const lines = announcementsFor(arrived, {
        me: store.me,
        viewing: viewingConv.value,
        nameOf: (conv) => {
          if (conv === WORLD) return t('conv.world');
          const summary = store.summary(conv);
          return summary?.room?.name ?? summary?.peer?.name ?? conv;
        },
      });
      // Nodes are added, never rewritten: that is what a log region announces.
      for (const line of lines) {
        const p = document.createElement('p');
        p.textContent = line;
        el.append(p);
      }
      while (el.childElementCount > KEEP) el.firstElementChild!.remove();
    };
    const stop = store.onArrival((message) => {
      pending.push(message);
      timer ??= setTimeout(flush, GATHER_MS);
    });
    return () => {
      stop();
      clearTimeout(timer);
    };
  }, [store]);

  return <div ref={region} class="sr-only" role="log" aria-live="polite" aria-relevant="additions" data-testid="announcer" />;
}
