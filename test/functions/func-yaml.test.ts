import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidParameterError } from '../../src/core/errors.js';
import { defaultEntrypoint, parseFuncYaml } from '../../src/functions/func-yaml.js';
import { buildArgv, buildEnv, splitCommand } from '../../src/functions/launch.js';
import { NoSandbox } from '../../src/functions/sandbox.js';
import { buildCallHeaders, mapResponseHeaders } from '../../src/functions/protocol.js';
import { fixtureSpec } from './helpers.js';

describe('parseFuncYaml', () => {
  it('reads a real fn func.yaml and ignores build-only keys', () => {
    const y = parseFuncYaml(
      'schema_version: 20180708\nname: hello\nversion: 0.0.3\nruntime: node\nbuild_image: fnproject/node:dev\n' +
        'run_image: fnproject/node\nentrypoint: node func.js\nmemory: 256\ntimeout: 45\n' +
        'config:\n  A: "x"\ntriggers:\n- name: t\n  type: http\n  source: /hello\n',
    );
    assert.deepEqual(y, { name: 'hello', version: '0.0.3', runtime: 'node', entrypoint: 'node func.js', memory: 256, timeout: 45, config: { A: 'x' } });
  });

  it('applies defaults: memory 128, timeout 30, version 0.0.1, node entrypoint', () => {
    const y = parseFuncYaml('name: f\nruntime: node\n');
    assert.equal(y.memory, 128);
    assert.equal(y.timeout, 30);
    assert.equal(y.version, '0.0.1');
    assert.equal(y.entrypoint, 'node func.js');
    assert.deepEqual(y.config, {});
    assert.match(parseFuncYaml('name: f\nruntime: python3.11\n').entrypoint, /^python3 -c .*fdk\.scripts\.fdk/);
    assert.equal(defaultEntrypoint('go'), undefined);
  });

  it('keeps scalars verbatim (failsafe schema): versions and config values are never re-typed', () => {
    const y = parseFuncYaml('name: f\nruntime: node\nversion: 1.10\nconfig:\n  RATIO: 1.10\n  ON: true\n  ZIP: 0800\n  EMPTY:\n');
    assert.equal(y.version, '1.10');
    assert.deepEqual(y.config, { RATIO: '1.10', ON: 'true', ZIP: '0800', EMPTY: '' });
  });

  const bad: Array<[string, RegExp]> = [
    ['name: [', /not valid YAML/],
    ['- a\n- b\n', /must be a mapping/],
    ['runtime: node\n', /name is required/],
    ['name: "a b"\nruntime: node\n', /name "a b"/],
    ['name: f\n', /runtime is required/],
    ['name: f\nruntime: go\n', /entrypoint is required for runtime "go"/],
    ['name: f\nruntime: node\nmemory: lots\n', /memory must be a whole number/],
    ['name: f\nruntime: node\nmemory: 9000\n', /memory must be between 1 and 8192/],
    ['name: f\nruntime: node\ntimeout: 0\n', /timeout must be between 1 and 300/],
    ['name: f\nruntime: node\nconfig: [a]\n', /config must be a mapping/],
    ['name: f\nruntime: node\nconfig:\n  A: [1]\n', /config A must be a plain value/],
    ['name: f\nruntime: node\nconfig:\n  "A=B": x\n', /config key "A=B"/],
    ['name: f\nname: g\nruntime: node\n', /unique/],
    ['name: {a: 1}\nruntime: node\n', /name must be a string/],
  ];
  for (const [text, re] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseFuncYaml(text), (e: unknown) => e instanceof InvalidParameterError && re.test(e.message));
    });
  }
});

describe('launch: argv and environment', () => {
  it('splits command lines without a shell', () => {
    assert.deepEqual(splitCommand('node  func.js'), ['node', 'func.js']);
    assert.deepEqual(splitCommand(`python3 -c "print('a b'); x=\\"q\\""`), ['python3', '-c', `print('a b'); x="q"`]);
    assert.deepEqual(splitCommand(`a 'b $HOME' c\\ d ''`), ['a', 'b $HOME', 'c d', '']);
    assert.deepEqual(splitCommand('echo $(rm -rf /) ; ls | x'), ['echo', '$(rm', '-rf', '/)', ';', 'ls', '|', 'x']);
    assert.throws(() => splitCommand('a "b'), InvalidParameterError);
  });

  it('runs node as this Node with a heap cap of memoryMb, and python and Fn\'s /python scripts through the configured python', () => {
    const spec = fixtureSpec('echo', { memoryMb: 256 });
    const view = { python: undefined, python3: '/usr/bin/python3', node: '/opt/node' };
    assert.deepEqual(buildArgv(spec, view), ['/opt/node', '--max-old-space-size=256', 'func.js']);
    assert.deepEqual(buildArgv({ ...spec, entrypoint: '/usr/bin/node --max-old-space-size=99 f.js' }, view), ['/usr/bin/node', '--max-old-space-size=99', 'f.js']);
    assert.deepEqual(buildArgv({ ...spec, runtime: 'python', entrypoint: 'python3 func.py' }, view), ['/usr/bin/python3', 'func.py']);
    // fn init's Python entrypoint: pip wrote its building interpreter into the script's shebang.
    const fnInit = { ...spec, runtime: 'python', entrypoint: '/python/bin/fdk /function/func.py handler' };
    assert.deepEqual(buildArgv(fnInit, { ...view, python: '/python' }), ['/usr/bin/python3', '/python/bin/fdk', '/function/func.py', 'handler']);
    assert.deepEqual(buildArgv({ ...spec, entrypoint: './func --flag' }, view), ['./func', '--flag'], 'a custom runtime runs as its author wrote it');
    assert.deepEqual(buildArgv({ ...spec, entrypoint: '' }, view).slice(2), ['func.js']);
    assert.throws(() => buildArgv({ ...spec, runtime: 'go', entrypoint: ' ' }), InvalidParameterError);
  });

  it('builds a minimal env where the reserved FN_ variables win over config', () => {
    const spec = fixtureSpec('echo', { config: { A: '1', FN_FN_ID: 'spoofed', PATH: '/custom' } });
    const view = { code: '/function', python: undefined, listenerDir: '/tmp/iofs', home: '/tmp', path: '/usr/bin' };
    const env = buildEnv(spec, view);
    assert.deepEqual(env, {
      PATH: '/custom',
      HOME: '/tmp',
      A: '1',
      FN_LISTENER: 'unix:/tmp/iofs/lsnr.sock',
      FN_FORMAT: 'http-stream',
      FN_APP_ID: 'app-1',
      FN_FN_ID: 'fn-echo',
      FN_APP_NAME: 'fixtures',
      FN_FN_NAME: 'echo',
      FN_NAME: 'echo',
      FN_MEMORY: '128',
      FN_TYPE: 'sync',
    });
    const python = buildEnv({ ...spec, runtime: 'python3.11' }, { ...view, python: '/python' });
    assert.equal(python['PYTHONUNBUFFERED'], '1');
    assert.equal(python['PYTHONPATH'], '/function:/python', "as Fn's Python run image");
  });

  it('maps Fn\'s /function and /python to the host folders when functions run without a sandbox', () => {
    const sandbox = new NoSandbox({ python3: '/usr/bin/python3', node: '/opt/node', path: '/usr/bin' });
    const spec = { ...fixtureSpec('echo'), runtime: 'python', entrypoint: '/python/bin/fdk /function/func.py handler', dir: '/srv/fn/abc', pythonDir: '/srv/fn/abc/.herald/python' };
    const plan = sandbox.plan(spec, '/tmp/herald-fn-1', (view) => ({ argv: buildArgv(spec, view), env: buildEnv(spec, view) }));
    assert.deepEqual([plan.command, ...plan.args], ['/usr/bin/python3', '/srv/fn/abc/.herald/python/bin/fdk', '/srv/fn/abc/func.py', 'handler']);
    assert.equal(plan.cwd, '/srv/fn/abc');
    assert.equal(plan.env['PYTHONPATH'], '/srv/fn/abc:/srv/fn/abc/.herald/python');
    assert.equal(plan.env['FN_LISTENER'], 'unix:/tmp/herald-fn-1/lsnr.sock');
  });
});

describe('protocol: headers to and from the FDK', () => {
  const deadline = new Date('2026-01-01T00:00:30.000Z');

  it('plain invoke forwards caller headers as-is, minus hop-by-hop and runtime-owned ones', () => {
    const h = buildCallHeaders(
      { body: Buffer.alloc(0), contentType: 'text/plain', headers: { 'fn-intent': 'httprequest', 'X-OCI-NS-MessageId': 'm1', Connection: 'keep-alive', 'Fn-Call-Id': 'spoof', 'Content-Length': '9', 'X-Bad': 'a\r\nb' } },
      'call-1',
      deadline,
    );
    assert.deepEqual(h, { 'Fn-Call-Id': 'call-1', 'Fn-Deadline': '2026-01-01T00:00:30.000Z', 'Content-Type': 'text/plain', 'fn-intent': 'httprequest', 'X-OCI-NS-MessageId': 'm1' });
  });

  it('gateway mode wraps caller headers as Fn-Http-H-* and adds method, url and intent', () => {
    const h = buildCallHeaders({ body: Buffer.alloc(0), method: 'get', url: 'http://h/t/app/x?q=1', headers: { 'Content-Type': 'application/json', 'X-A': '1' } }, 'c', deadline);
    assert.deepEqual(h, {
      'Fn-Call-Id': 'c',
      'Fn-Deadline': '2026-01-01T00:00:30.000Z',
      'Content-Type': 'application/json',
      'Fn-Intent': 'httprequest',
      'Fn-Http-Method': 'GET',
      'Fn-Http-Request-Url': 'http://h/t/app/x?q=1',
      'Fn-Http-H-X-A': '1',
    });
  });

  it('maps response headers: strips Fn-Http-H-, extracts Fn-Http-Status, drops hop-by-hop', () => {
    const raw = { 'content-type': 'text/plain', 'fn-http-status': '201', 'fn-http-h-x-a': '1', 'x-plain': 'p', 'x-a': 'plain', 'transfer-encoding': 'chunked', 'content-length': '3', 'set-cookie': ['a=1', 'b=2'] };
    assert.deepEqual(mapResponseHeaders(raw, false), { headers: { 'content-type': 'text/plain', 'x-plain': 'p', 'x-a': '1', 'set-cookie': 'a=1, b=2' }, httpStatus: 201 });
    assert.deepEqual(mapResponseHeaders(raw, true), { headers: { 'content-type': 'text/plain', 'x-a': '1' }, httpStatus: 201 });
    assert.deepEqual(mapResponseHeaders({ 'fn-http-status': 'abc' }, true), { headers: {} });
  });
});
