import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { request } from 'undici';
import { generateApiKeyPair } from '../../src/core/identity.js';
import { runCli as run, spawnHerald as serve, stopHerald } from '../helpers/process.js';


describe('herald serve as a process', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('reads its settings from HERALD_* variables, answers /health, bootstraps a config and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-serve-'));
    dirs.push(dataDir);
    const env = { HERALD_PORT: '0', HERALD_HOST: '127.0.0.1', HERALD_DATA_DIR: dataDir, HERALD_PUBLIC_URL: 'https://herald.example.com/' };
    const s = await serve(env);
    const health = await request(`${s.url}/health`);
    assert.equal(health.statusCode, 200);
    assert.deepEqual(await health.body.json(), { status: 'ok' });
    const config = await readFile(join(dataDir, 'oci', 'config'), 'utf8');
    assert.match(config, /^tenancy=ocid1\.tenancy\.oc1\.\./m);
    assert.match(s.logs.join(''), /"publicUrl":"https:\/\/herald\.example\.com"/);
    assert.ok(existsSync(join(dataDir, 'herald.db')));

    assert.equal(await stopHerald(s), 0);

    // A second start keeps the tenancy and does not rewrite the config file.
    const again = await serve(env);
    assert.equal(await readFile(join(dataDir, 'oci', 'config'), 'utf8'), config);
    assert.doesNotMatch(again.logs.join(''), /Created tenancy/);
    assert.equal(await stopHerald(again, 'SIGINT'), 0);
  });

  it('lets flags win over the environment and refuses a bad store spec', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-serve-'));
    dirs.push(dataDir);
    const bad = await run(['serve', '--store', 'mysql://nope'], { HERALD_DATA_DIR: dataDir });
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--store must be "sqlite" or a postgres:\/\/ URL/);
    const s = await serve({ HERALD_PORT: '1', HERALD_DATA_DIR: dataDir }, ['--port', '0']);
    assert.equal((await request(`${s.url}/health`)).statusCode, 200);
    assert.equal(await stopHerald(s), 0);
  });

  it('registers another API key with `herald key add`', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'herald-serve-'));
    dirs.push(dataDir);
    const s = await serve({ HERALD_PORT: '0', HERALD_DATA_DIR: dataDir });
    try {
      const kp = generateApiKeyPair();
      const pemFile = join(dataDir, 'second.pem');
      await writeFile(pemFile, kp.publicKeyPem);
      const env = { HERALD_ENDPOINT: s.url, OCI_CLI_CONFIG_FILE: join(dataDir, 'oci', 'config') };
      const res = await run(['key', 'add', '--public-key', pemFile, '--output', 'json'], env);
      assert.equal(res.code, 0, res.stderr);
      assert.equal(JSON.parse(res.stdout).fingerprint, kp.fingerprint);
      const dup = await run(['key', 'add', '--public-key', pemFile], env);
      assert.equal(dup.code, 1);
      assert.match(dup.stderr, /409 Conflict/);
    } finally {
      await stopHerald(s);
    }
  });
});
