import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import {
  FILE_ID_PATTERN,
  TUS_VERSION,
  UPLOAD_CONTENT_TYPE,
  contentDisposition,
  fileOfferBody,
  filesQuery,
  type FileCard,
  type FileOfferReply,
  type FilesReply,
} from '../../protocol/index.ts';
import type { Accounts } from '../accounts/accounts.ts';
import { ParleyError } from '../errors.ts';
import type { Files } from '../files/files.ts';
import type { Transfers } from '../files/transfers.ts';
import { requireUser } from './authenticate.ts';
import { parseBody } from './parse-body.ts';

type WithId = { Params: { id: string } };

/** The file API (docs/PROTOCOL.md, "Files"): offers and decisions as JSON, bytes as tus-style upload and ranged download. */
export function fileRoutes(app: FastifyInstance, deps: { accounts: Accounts; files: Files; transfers: Transfers; maxFileBytes: number }): void {
  const { accounts, files, transfers } = deps;
  const fileId = (request: FastifyRequest<WithId>) => {
    if (!FILE_ID_PATTERN.test(request.params.id)) throw new ParleyError('NOT_FOUND', 'No such file.');
    return request.params.id;
  };

  // Upload bodies are streamed by the handler, never buffered by fastify (and so not bound by bodyLimit).
  app.addContentTypeParser(UPLOAD_CONTENT_TYPE, (_request, _payload, done) => done(null));

  app.post('/api/files', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const offer = await files.offer(user, parseBody(fileOfferBody, request.body));
    reply.status(201);
    return offer satisfies FileOfferReply;
  });

  app.get('/api/files', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { files: await files.list(user, parseBody(filesQuery, request.query)) } satisfies FilesReply;
  });

  app.get<WithId>('/api/files/:id', async (request) => {
    const { user } = await requireUser(accounts, request);
    return { file: await files.get(user, fileId(request)) } satisfies { file: FileCard };
  });

  for (const action of ['accept', 'decline', 'cancel', 'delivered'] as const) {
    app.post<WithId>(`/api/files/:id/${action}`, async (request) => {
      const { user } = await requireUser(accounts, request);
      return { file: await files[action](user, fileId(request)) } satisfies { file: FileCard };
    });
  }

  app.options('/api/files/:id/upload', async (_request, reply) => {
    tusHeaders(reply).header('Tus-Version', TUS_VERSION).header('Tus-Max-Size', deps.maxFileBytes).status(204);
  });

  app.head<WithId>('/api/files/:id/upload', async (request, reply) => {
    tusHeaders(reply).header('Cache-Control', 'no-store');
    checkTusVersion(request);
    const { user } = await requireUser(accounts, request);
    const { offset, size } = await transfers.offset(user, fileId(request));
    return reply.header('Upload-Offset', offset).header('Upload-Length', size).status(200).send();
  });

  app.patch<WithId>('/api/files/:id/upload', {
    // Checked before any body parser runs: another type (JSON above all) would otherwise be read
    // by fastify's own parser and the request answered 204 with its bytes silently dropped.
    onRequest: async (request, reply) => {
      const type = request.headers['content-type']?.split(';')[0]!.trim().toLowerCase();
      if (type === UPLOAD_CONTENT_TYPE) return;
      // The body is not read, so the connection cannot carry another request.
      tusHeaders(reply).header('Connection', 'close');
      throw new ParleyError('UNSUPPORTED_MEDIA_TYPE', `Send the bytes as ${UPLOAD_CONTENT_TYPE}.`);
    },
  }, async (request, reply) => {
    tusHeaders(reply);
    try {
      checkTusVersion(request);
      const { user } = await requireUser(accounts, request);
      const { offset } = await transfers.append(user, fileId(request), {
        offset: headerInteger(request.headers['upload-offset'], 'Upload-Offset'),
        contentLength: request.headers['content-length'] === undefined ? null : headerInteger(request.headers['content-length'], 'Content-Length'),
        body: request.raw,
      });
      return reply.header('Upload-Offset', offset).status(204).send();
    } catch (error) {
      // An answer before the whole body was read closes the connection: otherwise Node would
      // read (and discard) the rest of a body that may be gigabytes long, or that lies.
      if (!request.raw.readableEnded) reply.header('Connection', 'close');
      throw error;
    }
  });

  app.get<WithId>('/api/files/:id/content', async (request, reply) => {
    const { user } = await requireUser(accounts, request);
    const ifRange = request.headers['if-range'] as string | undefined;
    const got = await transfers.download(user, fileId(request), {
      ...(request.headers.range === undefined ? {} : { range: request.headers.range }),
      ...(ifRange === undefined ? {} : { ifRange }),
    });
    reply.header('Accept-Ranges', 'bytes').header('ETag', got.etag);
    if (got.range === 'unsatisfiable') {
      reply.header('Content-Range', `bytes */${got.file.size}`);
      throw new ParleyError('RANGE_NOT_SATISFIABLE');
    }
    // Never rendered by the browser whatever the name or declared type: an attachment of opaque
    // bytes, sniffing off (global hook), and a sandbox should anything still try.
    reply
      .header('Content-Type', 'application/octet-stream')
      .header('Content-Disposition', contentDisposition(got.file.name))
      .header('Content-Security-Policy', "default-src 'none'; sandbox")
      .header('Cache-Control', 'private, no-store')
      .header('Repr-Digest', `sha-256=:${Buffer.from(got.file.sha256, 'hex').toString('base64')}:`)
      .header('Content-Length', got.end! - got.start! + 1);
    if (got.range) reply.status(206).header('Content-Range', `bytes ${got.start}-${got.end}/${got.file.size}`);
    return reply.send(got.stream ?? Buffer.alloc(0));
  });
}

function tusHeaders(reply: FastifyReply): FastifyReply {
  return reply.header('Tus-Resumable', TUS_VERSION);
}

function checkTusVersion(request: FastifyRequest): void {
  const version = request.headers['tus-resumable'];
  if (version !== undefined && version !== TUS_VERSION) throw new ParleyError('TUS_VERSION_UNSUPPORTED');
}

function headerInteger(value: string | string[] | undefined, name: string): number {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,16}$/.test(text)) throw new ParleyError('BAD_REQUEST', `${name} must be a whole number of bytes.`);
  return Number(text);
}
