/**
 * Publish ceiling: a bare `node:http` server that reads the whole POST body,
 * JSON-parses it and answers 200, the least any publish endpoint must do. Runs as
 * a child process; replies with its URL when listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serveParent } from '../lib/children.js';

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let status = 200;
    try {
      JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      status = 400;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': '2' });
    res.end('{}');
  });
});
server.keepAliveTimeout = 65_000;
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
serveParent({}, { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, pid: process.pid });
