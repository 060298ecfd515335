import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startTestHerald, type TestHerald } from '../../helpers/herald.js';

const ANNOUNCED = 45 * 1024 * 1024;

/**
 * Sends only the request head of a 45 MB upload and resolves with the answer's head. The body is never sent, so
 * an answer proves the server decided without reading it; a server that waits for the body never answers, and
 * the bound fails the test.
 */
function answerBeforeBody(url: string, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    let text = '';
    const socket = connect(Number(port), hostname, () => {
      const lines = [`POST ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Content-Type: application/octet-stream', `Content-Length: ${ANNOUNCED}`];
      for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      socket.write(lines.join('\r\n') + '\r\n\r\n');
    });
    const bound = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer to ${path} without its body: the server is waiting for the ${ANNOUNCED} bytes`));
    }, 15_000);
    socket.on('data', (c: Buffer) => {
      text += c.toString('utf8');
      if (!text.includes('\r\n\r\n')) return;
      clearTimeout(bound);
      socket.destroy();
      resolve({ status: Number(text.split(' ')[1]), text });
    });
    socket.on('error', (err) => {
      clearTimeout(bound);
      reject(err);
    });
  });
}

describe('unauthenticated uploads are refused before their body is read', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
  });
  after(async () => {
    await h.stop();
  });

  const forged = (keyId: string): string =>
    `Signature version="1",keyId="${keyId}",algorithm="rsa-sha256",headers="date (request-target) host content-length x-content-sha256",signature="${Buffer.alloc(256).toString('base64')}"`;

  it('no credentials, a forged signature, a session that does not exist: 401 while the body is still unsent', async () => {
    const cases: [string, Record<string, string>][] = [
      ['no credentials', {}],
      ['a forged signature', { Authorization: forged(`${h.tenancyId}/ocid1.user.oc1..nobody/00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff`), Date: new Date().toUTCString(), 'x-content-sha256': 'x' }],
      ['a session that does not exist', { Cookie: 'herald_console=not-a-session', 'x-csrf-token': 'x' }],
    ];
    for (const path of ['/herald/v1/functionBundles', '/20181201/topics']) {
      for (const [what, headers] of cases) {
        const res = await answerBeforeBody(h.herald.url, path, headers);
        assert.equal(res.status, 401, `${what} on ${path}: ${res.text}`);
        assert.match(res.text, /opc-request-id: [0-9A-F]{32}/i, `${what} on ${path}`);
      }
    }
    // And the server still answers normally.
    assert.equal((await fetch(`${h.herald.url}/health`)).status, 200);
  });
});
