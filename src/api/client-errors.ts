import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { errorAnswer } from './error-reply.js';
import { HeraldError } from '../core/errors.js';

/** An opc-request-id: 32 upper-case hex digits, as OCI's. */
export function newRequestId(): string {
  return randomUUID().replace(/-/g, '').toUpperCase();
}

/**
 * Node refuses some requests before fastify sees them: headers over its 16 KB limit, bytes that are not HTTP,
 * a client too slow to send its request. Those answers are OCI-shaped too, with an opc-request-id, so a client
 * reads them like any other error (fastify's default writes its own JSON shape).
 */
export function clientErrorHandler(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const refusal =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new HeraldError('RequestHeaderFieldsTooLarge', 'The request headers are larger than 16 KB.')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new HeraldError('RequestTimeout', 'The request did not arrive in time.')
        : new HeraldError('CannotParseRequest', 'The request is not valid HTTP.');
  const requestId = newRequestId();
  // The same answer sendError would write (code, message, status), on a socket fastify never saw.
  const { status, body } = errorAnswer(refusal, requestId);
  const json = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(json)}\r\n` +
        `opc-request-id: ${requestId}\r\nConnection: close\r\n\r\n${json}`,
    );
  }
  socket.destroy(err);
}
