/**
 * Where the browser keeps the bytes of a download while it runs, so that it resumes after a page
 * reload rather than starting over: in IndexedDB, as Blobs (Chromium keeps large IndexedDB Blobs
 * on disk, so memory stays bounded), one record per stretch of bytes, keyed by file id. Next to
 * them a small record says which file the bytes belong to (its size and SHA-256) and the ETag they
 * came with, for `Range` + `If-Range`. Where there is no IndexedDB (Node, tests, a private window
 * that refuses it) the bytes are kept in memory and a reload starts over.
 */

/** What is held of one download. */
export interface HeldDownload {
  id: string;
  sha256: string;
  size: number;
  /** Bytes held (persisted). */
  have: number;
  /** The ETag the held bytes came with, for If-Range. */
  etag: string;
}

/** The bytes of one download so far. */
export interface DownloadParts {
  readonly have: number;
  readonly etag: string | null;
  /** Keeps the next stretch of bytes (they follow the ones held). */
  append(blob: Blob, etag: string): Promise<void>;
  /** All the bytes held, as one Blob (backed by disk when it comes from IndexedDB). */
  assembled(): Promise<Blob>;
  /** Forgets the bytes. */
  clear(): Promise<void>;
}

const DB_NAME = 'parley-downloads';
const FILES = 'downloads';
const CHUNKS = 'chunks';
const OCTETS = 'application/octet-stream';

let opened: Promise<IDBDatabase | null> | null = null;

/** The database, or null where IndexedDB is missing or refused. */
function database(): Promise<IDBDatabase | null> {
  if (typeof indexedDB === 'undefined') return Promise.resolve(null);
  return (opened ??= new Promise<IDBDatabase | null>((resolve) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => {
      request.result.createObjectStore(FILES, { keyPath: 'id' });
      // Key [id, n]: the n-th stretch of bytes of file id, so one key range holds a whole file.
      request.result.createObjectStore(CHUNKS);
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
    request.onblocked = () => resolve(null);
  }));
}

function done<T>(request: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB request failed'));
  });
}

function committed(tx: IDBTransaction): Promise<void> {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
    tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });
}

const chunksOf = (id: string) => IDBKeyRange.bound([id, 0], [id, Number.MAX_SAFE_INTEGER]);

/** The bytes held of `card`'s download: what an earlier page left, if it is the same file; else none. */
export async function openParts(card: { id: string; size: number; sha256: string }): Promise<DownloadParts> {
  const db = await database();
  if (!db) return memoryParts();
  let held = (await done(db.transaction(FILES).objectStore(FILES).get(card.id))) as (HeldDownload & { chunks: number }) | undefined;
  if (held && (held.sha256 !== card.sha256 || held.size !== card.size)) {
    await forget(db, card.id);
    held = undefined;
  }
  let have = held?.have ?? 0;
  let etag: string | null = held?.etag ?? null;
  let chunks = held?.chunks ?? 0;
  return {
    get have() {
      return have;
    },
    get etag() {
      return etag;
    },
    async append(blob, nextEtag) {
      const tx = db.transaction([FILES, CHUNKS], 'readwrite');
      tx.objectStore(CHUNKS).put(blob, [card.id, chunks]);
      const record = { id: card.id, sha256: card.sha256, size: card.size, have: have + blob.size, etag: nextEtag, chunks: chunks + 1 };
      tx.objectStore(FILES).put(record);
      await committed(tx);
      have = record.have;
      etag = nextEtag;
      chunks = record.chunks;
    },
    async assembled() {
      const blobs = (await done(db.transaction(CHUNKS).objectStore(CHUNKS).getAll(chunksOf(card.id)))) as Blob[];
      return new Blob(blobs, { type: OCTETS });
    },
    async clear() {
      await forget(db, card.id);
      have = 0;
      etag = null;
      chunks = 0;
    },
  };
}

function memoryParts(): DownloadParts {
  let parts: Blob[] = [];
  let have = 0;
  let etag: string | null = null;
  return {
    get have() {
      return have;
    },
    get etag() {
      return etag;
    },
    async append(blob, nextEtag) {
      parts.push(blob);
      have += blob.size;
      etag = nextEtag;
    },
    async assembled() {
      return new Blob(parts, { type: OCTETS });
    },
    async clear() {
      parts = [];
      have = 0;
      etag = null;
    },
  };
}

async function forget(db: IDBDatabase, id: string): Promise<void> {
  const tx = db.transaction([FILES, CHUNKS], 'readwrite');
  tx.objectStore(FILES).delete(id);
  tx.objectStore(CHUNKS).delete(chunksOf(id));
  await committed(tx);
}

/** Downloads an earlier page left unfinished (for "Paused at N %" after a reload). */
export async function heldDownloads(): Promise<HeldDownload[]> {
  const db = await database();
  if (!db) return [];
  const records = (await done(db.transaction(FILES).objectStore(FILES).getAll())) as (HeldDownload & { chunks: number })[];
  return records.map(({ id, sha256, size, have, etag }) => ({ id, sha256, size, have, etag }));
}

/** Forgets the held bytes of one download (saved, failed, or the file is gone). */
export async function forgetDownload(id: string): Promise<void> {
  const db = await database();
  if (db) await forget(db, id);
}

/** Forgets every held download: on sign-out, nothing of this account's files stays in the browser. */
export async function forgetAllDownloads(): Promise<void> {
  const db = await database();
  if (!db) return;
  const tx = db.transaction([FILES, CHUNKS], 'readwrite');
  tx.objectStore(FILES).clear();
  tx.objectStore(CHUNKS).clear();
  await committed(tx);
}
