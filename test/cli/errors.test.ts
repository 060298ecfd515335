import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EXIT_CODES, type CliErrorKind } from '../../src/cli/errors.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { cliFor as cli, runCli, type CliRun } from '../helpers/process.js';

/** What an answer of the server looks like on stderr ("herald: 404 NotAuthorizedOrNotFound: ..."); the CLI's own errors must not. */
const SERVER_ANSWER = /^herald: \d{3} \w+: /;

/** A CLI error: exactly "herald: <message>" on stderr, the kind's exit code, nothing on stdout. */
function cliError(r: CliRun, kind: CliErrorKind, message: string): void {
  assert.equal(r.code, EXIT_CODES[kind], r.stderr);
  assert.equal(r.stderr, `herald: ${message}\n`);
  assert.doesNotMatch(r.stderr, SERVER_ANSWER);
  assert.equal(r.stdout, '');
}

describe('herald CLI: its own errors are not dressed up as server answers', () => {
  let h: TestHerald;
  let work: string;
  before(async () => {
    h = await startTestHerald('sqlite');
    work = await mkdtemp(join(tmpdir(), 'herald-cli-errors-'));
  });
  after(async () => {
    await h.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('reports bad arguments as usage errors, without asking the server', async () => {
    const file = join(work, 'body.txt');
    await writeFile(file, 'hello');
    // Nothing listens on port 9: a server answer is impossible, so any error is the CLI's.
    const offline = (args: string[]) => runCli([...args, '--endpoint', 'http://127.0.0.1:9', '--config-file', h.configFile]);
    cliError(await offline(['publish', '--topic', 'news', '--body', 'x', '--body-file', file]), 'usage', 'Give --body or --body-file, not both.');
    cliError(
      await offline(['subscription', 'create', '--topic', 'news', '--protocol', 'EMAIL', '--subscription-endpoint', 'x@example.com', '--max-retry-duration', 'soon']),
      'usage',
      '--max-retry-duration wants milliseconds, got "soon".',
    );
    cliError(await offline(['subscription', 'get', 'news']), 'usage', '"news" is not a subscription OCID (ocid1.onssubscription...); see herald subscription list.');
  });

  it('reports names that resolve to nothing as not-found errors', async () => {
    cliError(await cli(h, ['topic', 'get', 'ghost']), 'not-found', 'No topic named "ghost" in the tenancy or its compartments.');
    cliError(await cli(h, ['publish', '--topic', 'ghost', '--body', 'x']), 'not-found', 'No topic named "ghost" in the tenancy or its compartments.');
    cliError(await cli(h, ['iam', 'user', 'get', 'nobody@example.com']), 'not-found', 'No user named "nobody@example.com" in the tenancy.');
    cliError(await cli(h, ['fn', 'list', '--app', 'nope']), 'not-found', 'No application named "nope".');
  });

  it('still prints what the server answered with its status and code', async () => {
    const missing = await cli(h, ['topic', 'get', 'ocid1.onstopic.oc1..doesnotexist']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^herald: 404 NotAuthorizedOrNotFound: /);
  });

  it('says a missing config file is the likely cause of a bare ENOENT', async () => {
    const r = await runCli(['topic', 'list', '--endpoint', h.herald.url, '--config-file', join(work, 'no-such-config')]);
    assert.equal(r.code, EXIT_CODES['not-found']);
    assert.match(r.stderr, /^herald: ENOENT[^\n]*no-such-config[^\n]* \(is --config-file right\? [^\n]*\)\n$/);
  });
});
