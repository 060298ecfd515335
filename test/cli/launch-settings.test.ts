import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

/**
 * Herald's memory settings live in two places a user starts it from: the `herald` bin's
 * shebang and `npm start`. They must agree (the RSS figures in docs/performance.md are
 * measured with them).
 */
describe('launch settings', () => {
  const shebang = readFileSync('src/cli/main.ts', 'utf8').split('\n', 1)[0]!;
  const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.start!;

  it('the bin sets glibc malloc tunables and the V8 heap cap through env -S', () => {
    const m = /^#!\/usr\/bin\/env -S ((?:\w+=\S+ )*)node (.+)$/.exec(shebang);
    assert.ok(m, `shebang: ${shebang}`);
    assert.match(m[1]!, /GLIBC_TUNABLES=glibc\.malloc\.trim_threshold=\d+/);
    assert.match(m[2]!, /--max-old-space-size=\d+ --max-semi-space-size=\d+/);
  });

  it('npm start runs the server with exactly the same environment and Node flags as the bin', () => {
    const m = /^#!\/usr\/bin\/env -S (.+)$/.exec(shebang)!;
    assert.ok(start.includes(`${m[1]!} dist/src/cli/main.js serve`), `npm start: ${start}`);
  });
});
