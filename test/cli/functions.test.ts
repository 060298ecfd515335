import assert from 'node:assert/strict';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as fnsdk from 'oci-functions';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { cliFor as cli } from '../helpers/process.js';
import { ok } from '../helpers/cli.js';
import { vendorPackage } from '../helpers/vendor.js';

const SOURCE = join(process.cwd(), 'test', 'fixtures', 'deploy', 'hello');
let FIXTURE = SOURCE;

describe('herald CLI: applications and functions', () => {
  let h: TestHerald;
  let mgmt: fnsdk.FunctionsManagementClient;
  before(async () => {
    // Deploy a copy with its node_modules, as a user's folder would have after `npm install`.
    FIXTURE = join(await mkdtemp(join(tmpdir(), 'herald-deploy-')), 'hello');
    await cp(SOURCE, FIXTURE, { recursive: true });
    await vendorPackage('@fnproject/fdk', FIXTURE);
    h = await startTestHerald('sqlite');
    mgmt = new fnsdk.FunctionsManagementClient({ authenticationDetailsProvider: h.provider });
    mgmt.endpoint = h.herald.url;
  });
  after(async () => {
    mgmt.close();
    await h.stop();
    await rm(join(FIXTURE, '..'), { recursive: true, force: true });
  });

  it('creates an app, deploys, lists, configures and deletes a function, by name or OCID', async () => {
    const appId = (await ok(h, ['app', 'create', '--name', 'shop', '--config', 'REGION=eu', '--config', 'MODE=a=b', '--output', 'table'])).trim();
    assert.match(appId, /^ocid1\.fnapp\./);
    assert.deepEqual((await mgmt.getApplication({ applicationId: appId })).application.config, { REGION: 'eu', MODE: 'a=b' });
    const apps = JSON.parse(await ok(h, ['app', 'list', '--output', 'json'])) as { displayName: string }[];
    assert.deepEqual(apps.map((a) => a.displayName), ['shop']);

    const deployed = await cli(h, ['fn', 'deploy', FIXTURE, '--app', 'shop', '--output', 'table']);
    assert.equal(deployed.code, 0, deployed.stderr);
    const fnId = deployed.stdout.trim();
    assert.match(fnId, /^ocid1\.fnfunc\./);
    assert.match(deployed.stderr, /Packing .*\nUploading .* KB \.\.\.\nUploaded sha256:[0-9a-f]{64}\nCreating function hello in shop/);
    const f = (await mgmt.getFunction({ functionId: fnId })).function;
    assert.deepEqual([f.displayName, f.memoryInMBs, f.timeoutInSeconds, f.config], ['hello', 256, 20, { GREETING: 'Hello' }]);
    assert.match(String(f.image), /^herald\/bundle@sha256:/);

    // A second deploy updates the same function.
    const again = JSON.parse(await ok(h, ['fn', 'deploy', FIXTURE, '--app', appId, '--output', 'json'])) as { id: string; imageDigest: string };
    assert.equal(again.id, fnId);
    assert.equal(again.imageDigest, f.imageDigest);

    const listed = JSON.parse(await ok(h, ['fn', 'list', '--app', 'shop', '--output', 'json'])) as { id: string }[];
    assert.deepEqual(listed.map((x) => x.id), [fnId]);
    assert.match(await ok(h, ['fn', 'list', '--app', 'shop', '--output', 'table']), /displayName\s+id[\s\S]*hello/);

    assert.equal((await ok(h, ['fn', 'config', '--fn', 'hello', 'GREETING', 'Hi', '--output', 'table'])).trim(), 'GREETING=Hi');
    await ok(h, ['fn', 'config', '--fn', fnId, '--app', 'shop', 'OTHER', 'x']);
    assert.deepEqual((await mgmt.getFunction({ functionId: fnId })).function.config, { GREETING: 'Hi', OTHER: 'x' });

    assert.deepEqual(JSON.parse(await ok(h, ['fn', 'logs', 'hello', '--output', 'json'])), []);

    // The deployed code runs, with the config set above.
    assert.deepEqual(JSON.parse(await ok(h, ['fn', 'invoke', 'hello', '--body', '{"name":"x"}'])), { message: 'Hi x' });
    const calls = JSON.parse(await ok(h, ['fn', 'logs', 'hello', '--output', 'json'])) as unknown[];
    assert.equal(calls.length, 1);
    // A missing --body-file is reported as such, not blamed on the config file.
    const noBody = await cli(h, ['fn', 'invoke', 'hello', '--body-file', join(FIXTURE, 'missing.json')]);
    assert.equal(noBody.code, 1);
    assert.match(noBody.stderr, /^herald: --body-file cannot be read: ENOENT/);
    assert.doesNotMatch(noBody.stderr, /config-file/);

    const busy = await cli(h, ['app', 'delete', 'shop']);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /409 Conflict/);
    await ok(h, ['fn', 'delete', 'hello', '--app', 'shop']);
    await ok(h, ['app', 'delete', 'shop']);
    assert.deepEqual(JSON.parse(await ok(h, ['app', 'list', '--output', 'json'])), []);
  });

  it('exits 1 with the error for unknown names, bad input and missing folders', async () => {
    const unknownApp = await cli(h, ['fn', 'list', '--app', 'nope']);
    assert.equal(unknownApp.code, 1);
    assert.match(unknownApp.stderr, /^herald: No application named "nope"\.\n$/);
    const unknownFn = await cli(h, ['fn', 'delete', 'ghost']);
    assert.equal(unknownFn.code, 1);
    assert.match(unknownFn.stderr, /No function named "ghost"/);
    const badConfig = await cli(h, ['app', 'create', '--name', 'x', '--config', 'novalue']);
    assert.equal(badConfig.code, 1);
    assert.match(badConfig.stderr, /KEY=VALUE/);
    const badName = await cli(h, ['app', 'create', '--name', '9bad!']);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /400 InvalidParameter/);
    await ok(h, ['app', 'create', '--name', 'empty']);
    const noDir = await cli(h, ['fn', 'deploy', join(FIXTURE, 'missing'), '--app', 'empty']);
    assert.equal(noDir.code, 1);
    assert.match(noDir.stderr, /func\.yaml/);
  });
});
