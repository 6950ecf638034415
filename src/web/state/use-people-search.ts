import { useEffect, useState } from 'preact/hooks';
import type { RoomApi } from '../../client/rooms.ts';
import type { Person } from '../../protocol/rooms.ts';

/** Typing settles this long before the directory is asked, so a fast typist makes one request, not one per key. */
const SETTLE_MS = 150;

export interface PeopleSearch {
  /** The people whose name starts with the query (everyone for ''), by name; null until the first answer. */
  people: readonly Person[] | null;
  /** The query these people answer (the input may already say more). */
  answered: string;
  status: 'loading' | 'done' | 'error';
}

/**
 * The people directory (`GET /api/people?prefix=`) as the user types: online or not, by name.
 * Only the answer to the newest query is kept; an older one that arrives late is dropped.
 */
export function usePeopleSearch(rooms: RoomApi, query: string, limit: number, enabled = true): PeopleSearch {
  const [state, setState] = useState<PeopleSearch>({ people: null, answered: '', status: 'loading' });
  const prefix = query.trim();
  useEffect(() => {
    if (!enabled) return;
    let current = true;
    setState((before) => ({ ...before, status: 'loading' }));
    const timer = setTimeout(() => {
      rooms.people(prefix, { limit }).then(
        (reply) => current && setState({ people: reply.people, answered: prefix, status: 'done' }),
        () => current && setState((before) => ({ ...before, status: 'error' })),
      );
    }, SETTLE_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [rooms, prefix, limit, enabled]);
  return state;
}
