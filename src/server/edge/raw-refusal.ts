import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode } from '../../protocol/index.ts';
import { SECURITY_HEADERS } from './security-headers.ts';

/**
 * An error answer written straight to a socket that no route will answer (a refused WebSocket
 * handshake, a request Node's HTTP parser could not read), in the catalogue's format and with the
 * security headers every answer carries; then the connection ends.
 */
export function refuseRaw(socket: Duplex, code: ErrorCode, message: string = ERRORS[code].message, extraHeaders: Readonly<Record<string, string>> = {}): void {
  if (socket.destroyed) return;
  const { status } = ERRORS[code];
  const body = JSON.stringify({ error: { code, message } });
  const headers = Object.entries({
    Connection: 'close',
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    ...SECURITY_HEADERS,
    ...extraHeaders,
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${code}\r\n${headers.join('')}\r\n${body}`);
}
