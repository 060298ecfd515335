import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { heraldClient } from '../helpers/oci.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { cliFor as cli, runCli } from '../helpers/process.js';
import { fdkWheelDir, pipOfflineEnv } from '../helpers/python-fdk.js';
import { sharedVendorDir } from '../helpers/vendor.js';

/** The folders `fn init --runtime python|node` make, untouched (shared/vendor/fn-init). */
const FN_INIT = join(sharedVendorDir(), 'fn-init');

/**
 * Fn's own layouts run unchanged: deployed straight from an `fn init` folder, their
 * dependencies built at deploy (pip from a wheel of the vendored fdk-python, since these
 * machines reach no Python index; npm from the registry), then run in the sandbox.
 */
describe('fn init folders, deployed and invoked as they are', () => {
  let h: TestHerald;
  before(async () => {
    h = await startTestHerald('sqlite');
    assert.equal((await cli(h, ['app', 'create', '--name', 'hello'])).code, 0);
  });
  after(async () => {
    await h.stop();
  });

  async function deployAndCall(folder: string, env: Record<string, string> = {}): Promise<{ status: number; body: unknown; deployLog: string }> {
    // The operator's environment reaches pip and npm (npm keeps its cache under HOME).
    const server = ['--endpoint', h.herald.url, '--config-file', h.configFile];
    const deployed = await runCli(['fn', 'deploy', join(FN_INIT, folder), '--app', 'hello', '--output', 'json', ...server], { HOME: process.env.HOME ?? '/tmp', ...env });
    assert.equal(deployed.code, 0, deployed.stderr);
    const fnId = (JSON.parse(deployed.stdout) as { id: string }).id;
    const res = await heraldClient(h).raw('POST', `/20181201/functions/${fnId}/actions/invoke`, JSON.stringify({ name: 'Herald' }));
    return { status: res.status, body: JSON.parse(res.text) as unknown, deployLog: deployed.stderr };
  }

  it('python: fdk installed from requirements.txt at deploy; /python/bin/fdk /function/func.py handler runs', async () => {
    const r = await deployAndCall('hello-python', { ...pipOfflineEnv(await fdkWheelDir()), HERALD_FUNCTIONS_PYTHON: '/usr/bin/python3' });
    assert.match(r.deployLog, /Building: .*pip install --target .*\.herald\/python/);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { message: 'Hello Herald' });
  });

  it('node: package.json without node_modules, installed with npm at deploy; node func.js runs', async () => {
    const r = await deployAndCall('hello-node');
    assert.match(r.deployLog, /Building: npm install --omit=dev/);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(r.body, { message: 'Hello Herald' });
  });
});
