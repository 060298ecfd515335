import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { chooseLogFormat, createLogger } from '../../src/server/logging.js';

function capture(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let out = '';
  stream.on('data', (d: Buffer) => (out += d.toString()));
  return { stream, text: () => out };
}

describe('the log format', () => {
  it('is JSON when stdout is not a terminal and pretty when it is, unless forced', () => {
    assert.equal(chooseLogFormat(undefined, false), 'json');
    assert.equal(chooseLogFormat(undefined, true), 'pretty');
    assert.equal(chooseLogFormat('pretty', false), 'pretty');
    assert.equal(chooseLogFormat('json', true), 'json');
  });

  it('writes one JSON object per line in json', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', destination: out.stream });
    logger.info({ url: 'https://127.0.0.1:8443' }, 'Herald is listening');
    logger.debug('below the level');
    const lines = out.text().trim().split('\n');
    assert.equal(lines.length, 1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(line.msg, 'Herald is listening');
    assert.equal(line.url, 'https://127.0.0.1:8443');
    assert.equal(line.service, 'herald');
  });

  it('writes a readable line with the level, the message and the fields in pretty', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'pretty', destination: out.stream, colorize: false });
    logger.warn({ keyFile: '/etc/herald/key.pem' }, 'The TLS key is readable by its group');
    const text = out.text();
    assert.throws(() => JSON.parse(text));
    assert.match(text, /^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] WARN: The TLS key is readable by its group\n/);
    assert.match(text, /keyFile: "\/etc\/herald\/key\.pem"/);
    assert.ok(!text.includes('\u001b['), 'no colour codes when colour is off');
  });
});
