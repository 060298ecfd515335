import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Header, type HeaderData } from 'tar';
import { digestOf, packFunctionDir } from '../../src/functions/bundles.js';
import { KINDS, startTestHerald, type TestHerald } from '../helpers/herald.js';
import { SignedCaller } from '../helpers/oci.js';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'deploy', 'hello');
const YAML = 'schema_version: 20180708\nname: hello\nversion: 0.0.1\nruntime: node\nentrypoint: node func.js\n';

/** A .tar.gz written block by block with node-tar's low-level Header: its packer would refuse these entries. */
function tgz(entries: (HeaderData & { body?: string })[]): Buffer {
  const blocks: Buffer[] = [];
  for (const { body = '', ...data } of entries) {
    const header = Buffer.alloc(512);
    new Header({ mode: 0o644, mtime: new Date(0), ...data, size: Buffer.byteLength(body) }).encode(header, 0);
    blocks.push(header, Buffer.from(body), Buffer.alloc((512 - (Buffer.byteLength(body) % 512)) % 512));
  }
  return gzipSync(Buffer.concat([...blocks, Buffer.alloc(1024)]));
}

const MALICIOUS: { what: string; bytes: Buffer; message: RegExp }[] = [
  {
    // Each link alone stays inside; together esc resolves to the unpack directory's parent.
    what: 'a symlink that escapes through another symlink',
    bytes: tgz([
      { path: 'func.yaml', type: 'File', body: YAML },
      { path: 'd/up', type: 'SymbolicLink', linkpath: '..' },
      { path: 'esc', type: 'SymbolicLink', linkpath: 'd/up/..' },
    ]),
    message: /^The function bundle is refused: esc: symlink points outside the bundle/,
  },
  {
    what: 'a ".." path',
    bytes: tgz([{ path: 'func.yaml', type: 'File', body: YAML }, { path: '../../escaped.js', type: 'File', body: 'pwned' }]),
    message: /^The function bundle is refused: \.\.\/\.\.\/escaped\.js: path escapes the bundle\.$/,
  },
];

for (const kind of KINDS) {
  describe(`function bundle upload (${kind})`, () => {
    let h: TestHerald;
    let signed: SignedCaller;
    before(async () => {
      h = await startTestHerald(kind);
      signed = new SignedCaller(h);
    });
    after(async () => {
      await h.stop();
    });

    it('answers a malicious bundle with an OCI 400, stores nothing, and leaves the function on its previous bundle', async () => {
      const upload = (bytes: Buffer) => signed.raw('POST', '/herald/v1/functionBundles', bytes, { 'content-type': 'application/gzip' });
      const good = await upload(await packFunctionDir(FIXTURE));
      assert.equal(good.status, 200, good.text);
      const app = await signed.call<{ id: string }>('POST', '/20181201/applications', { compartmentId: h.tenancyId, displayName: 'bundle-upload', subnetIds: [] });
      const fn = await signed.call<{ id: string }>('POST', '/20181201/functions', { applicationId: app.id, displayName: 'hello', image: good.json.image, memoryInMBs: 128 });
      const before = await signed.raw('GET', `/20181201/functions/${fn.id}`);
      assert.equal(before.status, 200, before.text);
      assert.equal(before.json.image, good.json.image);

      for (const m of MALICIOUS) {
        const res = await upload(m.bytes);
        assert.equal(res.status, 400, `${m.what}: ${res.text}`);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        assert.deepEqual(Object.keys(res.json).sort(), ['code', 'message'], m.what);
        assert.equal(res.json.code, 'InvalidParameter', m.what);
        assert.match(String(res.json.message), m.message);
        const requestId = res.headers['opc-request-id'];
        assert.ok(typeof requestId === 'string' && requestId.length > 0, `${m.what}: opc-request-id`);

        // Never stored: the function cannot be switched to its digest.
        const swap = await signed.raw('PUT', `/20181201/functions/${fn.id}`, JSON.stringify({ image: `herald/bundle@${digestOf(m.bytes)}` }));
        assert.equal(swap.status, 400, `${m.what}: ${swap.text}`);
        assert.match(String(swap.json.message), /No uploaded function bundle has digest/);
      }

      const afterwards = await signed.raw('GET', `/20181201/functions/${fn.id}`);
      assert.equal(afterwards.status, 200, afterwards.text);
      assert.deepEqual(afterwards.json, before.json);
      assert.equal(afterwards.headers.etag, before.headers.etag);
    });
  });
}
