import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { ParleyClientError } from '../../client/errors.ts';
import type { RoomListing } from '../../protocol/rooms.ts';
import { t, tn } from '../i18n/i18n.ts';
import type { ChatStore } from '../state/chat-store.ts';
import { openConversation } from '../state/route.ts';
import { RoomAvatar } from './avatar.tsx';
import { errorText } from './error-text.ts';
import { PlusIcon, SearchIcon } from './icons.tsx';
import { Modal } from './modal.tsx';
import { memberCount } from '../lib/room-words.ts';

/** Typing settles this long before the directory is asked again. */
const SETTLE_MS = 150;
const PAGE = 30;

interface Listing {
  rooms: RoomListing[];
  next?: string | undefined;
  status: 'loading' | 'done' | 'error';
  /** The query these rooms answer. */
  q: string;
}

/** The public rooms of the server, by name, with a search by the first letters; join one, or open it if you are in. */
export function RoomDirectoryDialog({ store, onClose, onCreate }: { store: ChatStore; onClose: () => void; onCreate: () => void }) {
  const [query, setQuery] = useState('');
  const [listing, setListing] = useState<Listing>({ rooms: [], status: 'loading', q: '' });
  const [joining, setJoining] = useState<string | null>(null);
  const [error, setError] = useState('');
  const q = query.trim();

  useEffect(() => {
    let current = true;
    setListing((before) => ({ ...before, status: 'loading' }));
    const timer = setTimeout(() => {
      store.roomApi.directory({ q, limit: PAGE }).then(
        (reply) => current && setListing({ rooms: reply.rooms, next: reply.next, status: 'done', q }),
        () => current && setListing((before) => ({ ...before, status: 'error' })),
      );
    }, SETTLE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [q]);

  // "Show more" stays in place while it loads, so it keeps the focus; then the focus goes to the
  // first room it brought (the button itself may be gone, and the reader goes on from there).
  const [loadingMore, setLoadingMore] = useState(false);
  const list = useRef<HTMLUListElement>(null);
  const focusFrom = useRef<number | null>(null);
  const more = async () => {
    if (!listing.next || loadingMore) return;
    setLoadingMore(true);
    try {
      const reply = await store.roomApi.directory({ q: listing.q, after: listing.next, limit: PAGE });
      focusFrom.current = listing.rooms.length;
      setListing((before) => ({ rooms: [...before.rooms, ...reply.rooms], next: reply.next, status: 'done', q: before.q }));
    } catch {
      setListing((before) => ({ ...before, status: 'error' }));
    } finally {
      setLoadingMore(false);
    }
  };
  useLayoutEffect(() => {
    const from = focusFrom.current;
    if (from === null) return;
    focusFrom.current = null;
    list.current?.children[from]?.querySelector<HTMLElement>('button')?.focus();
  }, [listing]);

  const join = async (room: RoomListing) => {
    setJoining(room.id);
    setError('');
    try {
      store.adopt(await store.roomApi.join(room.id));
      onClose();
      openConversation(room.id);
    } catch (failure) {
      setError(t(errorText(failure instanceof ParleyClientError ? failure.code : 'NETWORK')));
      setJoining(null);
    }
  };

  const settled = listing.status === 'done' && listing.q === q;
  const summary = settled ? (listing.rooms.length === 0 ? (q ? t('directory.noMatch', { q }) : t('directory.empty')) : tn('directory.found', listing.rooms.length)) : '';

  return (
    <Modal id="directory" title={t('directory.title')} onClose={onClose} size="wide">
      <div class="dialog-body directory">
        <div class="search-field">
          <SearchIcon size={18} />
          <input
            type="search"
            value={query}
            aria-label={t('directory.search')}
            placeholder={t('directory.search')}
            autoComplete="off"
            maxLength={64}
            data-autofocus=""
            onInput={(event) => setQuery(event.currentTarget.value)}
          />
        </div>
        <p class="sr-only" role="status">
          {summary}
        </p>
        <p class="form-error" role="alert">
          {error}
        </p>
        <ul ref={list} class="directory-list" aria-label={t('directory.title')} aria-busy={listing.status === 'loading' || loadingMore}>
          {listing.rooms.map((room) => {
            const joined = store.summaries.value.has(room.id);
            return (
              <li key={room.id} class="directory-item" data-room={room.name}>
                <RoomAvatar room={room} />
                <div class="directory-text">
                  <span class="directory-name">{room.name}</span>
                  {room.topic && <span class="directory-topic">{room.topic}</span>}
                  <span class="directory-meta">
                    {memberCount(room.memberCount)}
                    {joined && ` · ${t('directory.joined')}`}
                  </span>
                </div>
                {joined ? (
                  <button
                    type="button"
                    class="secondary-button small"
                    aria-label={t('directory.openNamed', { name: room.name })}
                    onClick={() => {
                      onClose();
                      openConversation(room.id);
                    }}
                  >
                    {t('directory.open')}
                  </button>
                ) : (
                  <button
                    type="button"
                    class="primary-button small"
                    aria-label={t('directory.joinNamed', { name: room.name })}
                    disabled={joining !== null}
                    onClick={() => void join(room)}
                  >
                    {joining === room.id ? <span class="spinner small" aria-hidden="true" /> : t('directory.join')}
                  </button>
                )}
              </li>
            );
          })}
        </ul>
        {listing.status === 'loading' && listing.rooms.length === 0 && (
          <p class="list-state">
            <span class="spinner small" aria-hidden="true" /> {t('directory.loading')}
          </p>
        )}
        {settled && listing.rooms.length === 0 && <p class="list-state">{summary}</p>}
        {listing.status === 'error' && (
          <p class="list-state" role="alert">
            {t('directory.loadFailed')}
          </p>
        )}
        {listing.next && listing.status !== 'loading' && (
          <button type="button" class="text-button list-more" aria-disabled={loadingMore} onClick={() => void more()}>
            {loadingMore && <span class="spinner small" aria-hidden="true" />}
            {t('list.more')}
          </button>
        )}
      </div>
      <footer class="dialog-foot">
        <button type="button" class="secondary-button with-icon" onClick={onCreate}>
          <PlusIcon size={17} />
          {t('rooms.new')}
        </button>
      </footer>
    </Modal>
  );
}
