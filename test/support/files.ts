import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { FileApi } from '../../src/client/files.ts';
import type { ParleyApi } from '../../src/client/api.ts';
import { dmId, type FileCard } from '../../src/protocol/index.ts';
import { registerUser } from './clients.ts';

export const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');

/** alice and bob share a DM; carol is a stranger to it. */
export async function threeUsers(url: string) {
  const alice = await registerUser(url, 'alice');
  const bob = await registerUser(url, 'bob');
  const carol = await registerUser(url, 'carol');
  return {
    alice: { ...alice, files: new FileApi(alice.api) },
    bob: { ...bob, files: new FileApi(bob.api) },
    carol: { ...carol, files: new FileApi(carol.api) },
    conv: dmId(alice.user.id, bob.user.id),
  };
}

let offers = 0;
/** Offers `data` under `name` in `conv`. */
export async function offer(files: FileApi, conv: string, data: Buffer, name = 'notes.txt', overrides: Partial<{ size: number; sha256: string }> = {}) {
  const reply = await files.offer({ conv, clientId: `offer${++offers}`, name, size: data.length, sha256: sha256(data), type: 'text/plain', ...overrides });
  return reply.file;
}

export async function tempFile(data: Buffer, name = 'data.bin'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-files-'));
  const path = join(dir, name);
  await writeFile(path, data);
  return path;
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A request with full control over headers and body (a lying Content-Length, a chunked body
 * longer than offered). Resolves with the answer, or with status 0 when the server cut the
 * connection before answering.
 */
export function rawRequest(
  api: ParleyApi,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: Buffer | Readable,
  /** Aborting it closes the connection, mid-body or not (a sender that went away). */
  signal?: AbortSignal,
): Promise<RawReply> {
  return new Promise((resolve) => {
    const url = new URL(path, api.baseUrl);
    const req = request(url, { method, headers: { authorization: `Bearer ${api.token}`, ...headers }, ...(signal ? { signal } : {}) }, (response) => {
      let text = '';
      response.on('data', (chunk) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
      response.on('error', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: text }));
    });
    req.on('error', () => resolve({ status: 0, headers: {}, body: '' }));
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else body.pipe(req);
  });
}

export function patchUpload(api: ParleyApi, card: FileCard, offset: number, body: Buffer | Readable, headers: Record<string, string> = {}, signal?: AbortSignal) {
  return rawRequest(api, 'PATCH', `/api/files/${card.id}/upload`, {
    'content-type': 'application/offset+octet-stream',
    'tus-resumable': '1.0.0',
    'upload-offset': String(offset),
    ...(Buffer.isBuffer(body) ? { 'content-length': String(body.length) } : {}),
    ...headers,
  }, body, signal);
}

export const errorCode = (reply: RawReply) => (reply.body ? (JSON.parse(reply.body) as { error: { code: string } }).error.code : undefined);

/**
 * Waits until the partial blob of upload `id` in the data folder (`files/<id>.part`,
 * docs/ARCHITECTURE.md) holds at least `bytes`. Watched on the disk, because asking the server
 * (HEAD) stops a running upload request: the newest request of an upload wins.
 */
export async function heldOnDisk(dataDir: string, id: string, bytes: number, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const size = await stat(join(dataDir, 'files', `${id}.part`)).then((info) => info.size, () => 0);
    if (size >= bytes) return size;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${bytes} bytes of upload ${id} on disk`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
