import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import * as common from 'oci-common';
import * as fnsdk from 'oci-functions';
import { pino } from 'pino';
import { resolveConfig } from '../../src/config/config.js';
import type { FunctionInvoker } from '../../src/core/functions.js';
import { generateApiKeyPair } from '../../src/core/identity.js';
import { addTenancy } from '../helpers/tenancies.js';
import { packFunctionDir } from '../../src/functions/bundles.js';
import { startHerald, type RunningHerald } from '../../src/server/herald.js';
import { eventually } from '../helpers/eventually.js';
import { KINDS, type StoreKind, type TestHerald } from '../helpers/herald.js';
import { dropSchema, PG_URL } from '../helpers/pg.js';
import { expectOciError, SignedCaller } from '../helpers/oci.js';

// Many deliberate errors in a row would otherwise open the SDK's default circuit breaker.
process.env.OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED ??= 'false';

const FIXTURE = join(process.cwd(), 'test', 'fixtures', 'deploy', 'hello');

/** What the fake function answers to the body "headers": every header the invoke route must drop, and two it must keep. */
const FUNCTION_HEADERS: Record<string, string> = {
  'Content-Type': 'text/x-fn',
  'X-Custom': 'kept',
  'Set-Cookie': 'herald_console=stolen; Path=/; HttpOnly',
  'set-cookie2': 'a=b',
  Connection: 'close, X-Hop',
  'X-Hop': 'named by Connection',
  'Keep-Alive': 'timeout=999',
  'Proxy-Authenticate': 'Basic realm="x"',
  'Proxy-Authorization': 'Basic eDp5',
  TE: 'trailers',
  Trailer: 'X-Checksum',
  Trailers: 'X-Checksum',
  'Transfer-Encoding': 'chunked',
  Upgrade: 'websocket',
  'Access-Control-Allow-Origin': 'https://evil.example',
  'access-control-allow-credentials': 'true',
  'Access-Control-Expose-Headers': 'opc-request-id',
  'Strict-Transport-Security': 'max-age=0',
  'Content-Security-Policy': "default-src *; script-src 'unsafe-inline'",
  'Content-Length': '1',
  'opc-request-id': 'fn-chosen-request-id',
};
const HEADERS_BODY = 'a body longer than the Content-Length the function claims';

type InvokeCall = { fnName: string; body: string; contentType?: string; headers: Record<string, string>; detached: boolean };

/**
 * IN-TEST FunctionInvoker, for the invoke route's HTTP mapping only (the real
 * runtime's end-to-end invoke test belongs to the runtime): echoes the body
 * upper-cased, "fail" → 502 with a body, "slow" → 504 with no body.
 */
function fakeInvoker(calls: InvokeCall[]): FunctionInvoker {
  return {
    async invoke(target, request, opts): ReturnType<FunctionInvoker['invoke']> {
      const body = request.body.toString('utf8');
      calls.push({ fnName: target.fn.displayName, body, contentType: request.contentType, headers: request.headers, detached: opts?.detached === true });
      if (body === 'fail') return { status: 502, body: Buffer.from('{"code":"FunctionInvokeExecutionFailed","message":"boom"}'), headers: { 'content-type': 'application/json' }, error: 'boom' };
      if (body === 'slow') return { status: 504, body: Buffer.alloc(0), headers: {}, error: 'function timed out' };
      if (body === 'headers') return { status: 200, body: Buffer.from(HEADERS_BODY), headers: { ...FUNCTION_HEADERS } };
      return { status: 200, body: Buffer.from(body.toUpperCase()), headers: { 'content-type': 'text/plain', 'fn-call-id': 'call-1' } };
    },
  };
}

interface FnHerald {
  herald: RunningHerald;
  provider: common.ConfigFileAuthenticationDetailsProvider;
  mgmt: fnsdk.FunctionsManagementClient;
  signed: SignedCaller;
  tenancyId: string;
  calls: InvokeCall[];
  stop(): Promise<void>;
}

/** Like startTestHerald, plus the in-test invoker (StartOptions.functionInvoker) and the oci-functions client. */
async function startFnHerald(kind: StoreKind): Promise<FnHerald> {
  const dataDir = await mkdtemp(join(tmpdir(), 'herald-fn-'));
  const schema = kind === 'postgres' ? `t_${randomBytes(6).toString('hex')}` : undefined;
  const config = resolveConfig({ port: '0', host: '127.0.0.1', dataDir, store: kind === 'sqlite' ? 'sqlite' : PG_URL }, {});
  const calls: InvokeCall[] = [];
  const herald = await startHerald(config, { logger: pino({ level: process.env.HERALD_TEST_LOG ?? 'silent' }), schema, functionInvoker: fakeInvoker(calls) });
  const provider = new common.ConfigFileAuthenticationDetailsProvider(herald.ociConfigPath ?? join(dataDir, 'oci', 'config'), 'DEFAULT');
  const mgmt = new fnsdk.FunctionsManagementClient({ authenticationDetailsProvider: provider });
  // The provider's region already set an endpoint: override it after construction.
  mgmt.endpoint = herald.url;
  const signed = new SignedCaller({ herald, provider } as unknown as TestHerald);
  return {
    herald, provider, mgmt, signed, calls, tenancyId: provider.getTenantId(),
    async stop() {
      mgmt.close();
      await herald.close();
      await rm(dataDir, { recursive: true, force: true });
      if (schema !== undefined) await dropSchema(schema);
    },
  };
}

interface OtherTenancy {
  tenancyId: string;
  mgmt: fnsdk.FunctionsManagementClient;
  signed: SignedCaller;
  close(): void;
}

/** A second tenancy with its own admin and API key, written straight into the store (as auth.sdk.test.ts does). */
async function otherTenancy(h: FnHerald, name: string): Promise<OtherTenancy> {
  const kp = generateApiKeyPair();
  const { tenancyId, userId } = await addTenancy(h.herald.store, name, kp);
  const provider = new common.SimpleAuthenticationDetailsProvider(tenancyId, userId, kp.fingerprint, kp.privateKeyPem, null, common.Region.US_ASHBURN_1);
  const mgmt = new fnsdk.FunctionsManagementClient({ authenticationDetailsProvider: provider });
  mgmt.endpoint = h.herald.url;
  const signed = new SignedCaller({ herald: h.herald, provider } as unknown as TestHerald);
  return { tenancyId, mgmt, signed, close: () => mgmt.close() };
}

/** The fixture folder with a different version in func.yaml: other bytes, so another digest. */
async function variantBundle(version: string): Promise<Buffer> {
  const dir = await mkdtemp(join(tmpdir(), 'herald-fn-variant-'));
  try {
    await cp(FIXTURE, dir, { recursive: true });
    const yaml = await readFile(join(dir, 'func.yaml'), 'utf8');
    await writeFile(join(dir, 'func.yaml'), yaml.replace(/^version: .*$/m, `version: ${version}`));
    return await packFunctionDir(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

for (const kind of KINDS) {
  describe(`OCI Functions management and invoke through the oci-functions SDK (${kind})`, () => {
    let h: FnHerald;
    let image: string;
    let bundle: Buffer;
    before(async () => {
      h = await startFnHerald(kind);
      bundle = await packFunctionDir(FIXTURE);
      const up = await h.signed.raw('POST', '/herald/v1/functionBundles', bundle, { 'content-type': 'application/gzip' });
      assert.equal(up.status, 200, up.text);
      image = String(up.json.image);
    });
    after(async () => {
      await h.stop();
    });

    const newApp = async (displayName: string, compartmentId = h.tenancyId) =>
      (await h.mgmt.createApplication({ createApplicationDetails: { compartmentId, displayName, subnetIds: [] } })).application;
    const newFn = async (applicationId: string, displayName: string, memoryInMBs = 128) =>
      (await h.mgmt.createFunction({ createFunctionDetails: { applicationId, displayName, image, memoryInMBs } })).function;

    it('uploads bundles content-addressed and refuses non-gzip, manifest-less and oversized ones', async () => {
      assert.match(image, /^herald\/bundle@sha256:[0-9a-f]{64}$/);
      const again = await h.signed.raw('POST', '/herald/v1/functionBundles', bundle, { 'content-type': 'application/gzip' });
      assert.equal(again.status, 200);
      assert.equal(again.json.image, image);
      assert.equal(again.json.size, bundle.length);
      assert.equal(`herald/bundle@${String(again.json.digest)}`, image);
      const notGzip = await h.signed.raw('POST', '/herald/v1/functionBundles', Buffer.from('plain text'), { 'content-type': 'application/gzip' });
      assert.equal(notGzip.status, 400);
      assert.equal(notGzip.json.code, 'InvalidParameter');
      const notTar = await h.signed.raw('POST', '/herald/v1/functionBundles', gzipSync(Buffer.alloc(2048, 1)), { 'content-type': 'application/gzip' });
      assert.equal(notTar.status, 400, notTar.text);
      const huge = await h.signed.raw('POST', '/herald/v1/functionBundles', Buffer.alloc(50 * 1024 * 1024 + 1), { 'content-type': 'application/gzip' });
      assert.equal(huge.status, 413);
      assert.equal(huge.json.code, 'PayloadTooLarge');
      assert.match(String(huge.json.message), /50 MB/);
    });

    it("refuses another tenancy's bundle exactly like a missing one, until the tenancy uploads the bytes itself", async () => {
      const other = await otherTenancy(h, 'bundle-thief');
      try {
        const theirs = image.slice('herald/bundle@'.length);
        const missing = 'sha256:' + '0'.repeat(64);
        const app = (await other.mgmt.createApplication({ createApplicationDetails: { compartmentId: other.tenancyId, displayName: 'thief', subnetIds: [] } })).application;
        const createRaw = (details: Record<string, unknown>) =>
          other.signed.raw('POST', '/20181201/functions', JSON.stringify({ applicationId: app.id, displayName: 'stolen', memoryInMBs: 128, ...details }));
        // Same status, code and message (with the digest asked for) as for a digest nobody uploaded.
        const sameAsMissing = async (asked: (digest: string) => Promise<Awaited<ReturnType<typeof createRaw>>>) => {
          const absent = await asked(missing);
          const foreign = await asked(theirs);
          assert.equal(absent.status, 400, absent.text);
          assert.equal(absent.json.code, 'InvalidParameter');
          assert.deepEqual(
            [foreign.status, foreign.json.code, foreign.json.message, Object.keys(foreign.json).sort()],
            [absent.status, absent.json.code, absent.json.message?.replace(missing, theirs), Object.keys(absent.json).sort()],
          );
          assert.equal(foreign.headers['content-type'], absent.headers['content-type']);
        };
        await sameAsMissing((d) => createRaw({ image: `herald/bundle@${d}` }));
        await sameAsMissing((d) => createRaw({ image: 'iad.ocir.io/ns/hello:0.0.1', imageDigest: d }));
        await expectOciError(other.mgmt.createFunction({ createFunctionDetails: { applicationId: app.id, displayName: 'stolen', image, memoryInMBs: 128 } }), 400, 'InvalidParameter');

        // Its own function cannot be switched to the other tenancy's bundle either.
        const ownUp = await other.signed.raw('POST', '/herald/v1/functionBundles', await variantBundle('9.9.9'), { 'content-type': 'application/gzip' });
        assert.equal(ownUp.status, 200, ownUp.text);
        assert.notEqual(ownUp.json.image, image);
        const own = (await other.mgmt.createFunction({ createFunctionDetails: { applicationId: app.id, displayName: 'own', image: String(ownUp.json.image), memoryInMBs: 128 } })).function;
        const updateRaw = (details: Record<string, unknown>) => other.signed.raw('PUT', `/20181201/functions/${own.id}`, JSON.stringify(details));
        await sameAsMissing((d) => updateRaw({ image: `herald/bundle@${d}` }));
        await sameAsMissing((d) => updateRaw({ imageDigest: d }));
        await expectOciError(other.mgmt.updateFunction({ functionId: own.id, updateFunctionDetails: { image } }), 400, 'InvalidParameter');
        assert.equal((await other.mgmt.getFunction({ functionId: own.id })).function.image, ownUp.json.image);

        // Uploading the same bytes makes the digest its own too: stored once, the same answer, now usable.
        const up = await other.signed.raw('POST', '/herald/v1/functionBundles', bundle, { 'content-type': 'application/gzip' });
        assert.deepEqual([up.status, up.json.image, up.json.digest], [200, image, theirs]);
        const made = (await other.mgmt.createFunction({ createFunctionDetails: { applicationId: app.id, displayName: 'shared', image, memoryInMBs: 128 } })).function;
        assert.equal(made.imageDigest, theirs);
        assert.equal((await other.mgmt.updateFunction({ functionId: own.id, updateFunctionDetails: { image } })).function.imageDigest, theirs);
        // And the first tenancy's use of it is untouched.
        const mine = await newApp('bundle-owner');
        assert.equal((await newFn(mine.id, 'still-mine')).imageDigest, theirs);
      } finally {
        other.close();
      }
    });

    it('creates, gets, updates and deletes an application with etags', async () => {
      const created = await h.mgmt.createApplication({
        createApplicationDetails: { compartmentId: h.tenancyId, displayName: 'orders', subnetIds: ['ocid1.subnet.oc1..s'], config: { A: '1' }, freeformTags: { t: 'x' } },
      });
      const a = created.application;
      assert.match(a.id, /^ocid1\.fnapp\.oc1\.iad\./);
      assert.equal(a.lifecycleState, 'ACTIVE');
      assert.deepEqual(a.config, { A: '1' });
      assert.deepEqual(a.subnetIds, ['ocid1.subnet.oc1..s']);
      assert.match(created.etag ?? '', /^[0-9a-f]{8}$/);
      assert.ok(!Number.isNaN(Date.parse(String(a.timeCreated))));
      const got = await h.mgmt.getApplication({ applicationId: a.id });
      assert.equal(got.etag, created.etag);
      await expectOciError(h.mgmt.updateApplication({ applicationId: a.id, updateApplicationDetails: { config: {} }, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      const upd = await h.mgmt.updateApplication({ applicationId: a.id, updateApplicationDetails: { config: { B: '2' } }, ifMatch: got.etag });
      assert.deepEqual(upd.application.config, { B: '2' });
      assert.notEqual(upd.etag, got.etag);
      assert.deepEqual(upd.application.freeformTags, { t: 'x' });
      await expectOciError(h.mgmt.deleteApplication({ applicationId: a.id, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      await h.mgmt.deleteApplication({ applicationId: a.id, ifMatch: upd.etag });
      await expectOciError(h.mgmt.getApplication({ applicationId: a.id }), 404, 'NotAuthorizedOrNotFound');
      await newApp('orders');
    });

    it('creates, gets, updates and deletes a function, and guards its application', async () => {
      const app = await newApp('fn-crud');
      const created = await h.mgmt.createFunction({
        createFunctionDetails: { applicationId: app.id, displayName: 'hello', image, memoryInMBs: 256, timeoutInSeconds: 20, config: { GREETING: 'hi' } },
      });
      const f = created.function;
      assert.match(f.id, /^ocid1\.fnfunc\.oc1\.iad\./);
      assert.equal(f.invokeEndpoint, h.herald.url);
      assert.equal(f.imageDigest, image.slice('herald/bundle@'.length));
      assert.equal(f.memoryInMBs, 256);
      assert.equal(f.timeoutInSeconds, 20);
      assert.equal(f.compartmentId, h.tenancyId);
      assert.equal(f.lifecycleState, 'ACTIVE');
      const got = await h.mgmt.getFunction({ functionId: f.id });
      assert.equal(got.etag, created.etag);
      assert.deepEqual(got.function.config, { GREETING: 'hi' });

      await expectOciError(h.mgmt.updateFunction({ functionId: f.id, updateFunctionDetails: { memoryInMBs: 512 }, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      const upd = await h.mgmt.updateFunction({ functionId: f.id, updateFunctionDetails: { memoryInMBs: 512, timeoutInSeconds: 60, config: { X: 'y' } }, ifMatch: got.etag });
      assert.deepEqual([upd.function.memoryInMBs, upd.function.timeoutInSeconds, upd.function.config], [512, 60, { X: 'y' }]);
      await expectOciError(h.mgmt.updateFunction({ functionId: f.id, updateFunctionDetails: { memoryInMBs: 100 } }), 400, 'InvalidParameter');
      await expectOciError(h.mgmt.updateFunction({ functionId: f.id, updateFunctionDetails: { timeoutInSeconds: 301 } }), 400, 'InvalidParameter');

      await expectOciError(h.mgmt.createFunction({ createFunctionDetails: { applicationId: app.id, displayName: 'hello', image, memoryInMBs: 128 } }), 409, 'Conflict');
      await expectOciError(h.mgmt.createFunction({ createFunctionDetails: { applicationId: app.id, displayName: 'm', image, memoryInMBs: 100 } }), 400, 'InvalidParameter');
      await expectOciError(
        h.mgmt.createFunction({ createFunctionDetails: { applicationId: app.id, displayName: 'nobundle', image: 'herald/bundle@sha256:' + '0'.repeat(64), memoryInMBs: 128 } }),
        400,
        'InvalidParameter',
      );
      // Any image name works together with the digest of an uploaded bundle.
      const named = await h.mgmt.createFunction({
        createFunctionDetails: { applicationId: app.id, displayName: 'named', image: 'iad.ocir.io/ns/hello:0.0.1', imageDigest: f.imageDigest, memoryInMBs: 128 },
      });
      assert.equal(named.function.image, 'iad.ocir.io/ns/hello:0.0.1');
      await expectOciError(
        h.mgmt.createFunction({ createFunctionDetails: { applicationId: 'ocid1.fnapp.oc1.iad.aaaaaaaanosuchapp', displayName: 'x', image, memoryInMBs: 128 } }),
        404,
        'NotAuthorizedOrNotFound',
      );

      await expectOciError(h.mgmt.deleteApplication({ applicationId: app.id }), 409, 'Conflict');
      await expectOciError(h.mgmt.deleteFunction({ functionId: f.id, ifMatch: 'deadbeef' }), 412, 'NoEtagMatch');
      await h.mgmt.deleteFunction({ functionId: f.id, ifMatch: upd.etag });
      await h.mgmt.deleteFunction({ functionId: named.function.id });
      await expectOciError(h.mgmt.getFunction({ functionId: f.id }), 404, 'NotAuthorizedOrNotFound');
      await expectOciError(h.mgmt.getFunction({ functionId: 'nope' }), 400, 'InvalidParameter');
      await h.mgmt.deleteApplication({ applicationId: app.id });
    });

    it('pages applications and functions with opc-next-page, filters and sorts', async () => {
      const c = await h.signed.call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'fn-paging', description: 'p' });
      const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo'];
      for (const n of names) await newApp(n, c.id);
      const first = await h.mgmt.listApplications({ compartmentId: c.id, limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.opcNextPage);
      const all: string[] = [];
      for await (const a of h.mgmt.listApplicationsRecordIterator({ compartmentId: c.id, limit: 2 })) all.push(String(a.displayName));
      assert.deepEqual(all, [...names].sort());
      const byTime: string[] = [];
      const sortBy = fnsdk.requests.ListApplicationsRequest.SortBy.TimeCreated;
      for await (const a of h.mgmt.listApplicationsRecordIterator({ compartmentId: c.id, limit: 3, sortBy, sortOrder: fnsdk.requests.ListApplicationsRequest.SortOrder.Desc })) {
        byTime.push(String(a.displayName));
      }
      assert.deepEqual(byTime, [...names].reverse());
      const one = await h.mgmt.listApplications({ compartmentId: c.id, displayName: 'echo', lifecycleState: 'ACTIVE' });
      assert.deepEqual(one.items.map((a) => a.displayName), ['echo']);

      const appId = one.items[0]!.id;
      for (const n of names) await newFn(appId, n);
      const fns: string[] = [];
      for await (const f of h.mgmt.listFunctionsRecordIterator({ applicationId: appId, limit: 2 })) fns.push(String(f.displayName));
      assert.deepEqual(fns, [...names].sort());
      const page = await h.mgmt.listFunctions({ applicationId: appId, limit: 4 });
      assert.equal(page.items[0]?.invokeEndpoint, h.herald.url);
      assert.ok(page.opcNextPage);
      await expectOciError(h.mgmt.listFunctions({ applicationId: appId, page: 'garbage!' }), 400, 'InvalidParameter');
      await expectOciError(h.mgmt.listFunctions({ applicationId: appId, sortBy: 'size' as never }), 400, 'InvalidParameter');
      await expectOciError(h.mgmt.listFunctions({ applicationId: 'ocid1.fnapp.oc1.iad.aaaaaaaanosuchapp' }), 404, 'NotAuthorizedOrNotFound');
    });

    it('replays a create for the same opc-retry-token and refuses it with another body', async () => {
      // The oci-functions SDK sends no opc-retry-token on creates; other clients (OCI CLI, raw HTTP) do.
      const body = (name: string) => JSON.stringify({ compartmentId: h.tenancyId, displayName: name, subnetIds: [] });
      const a = await h.signed.raw('POST', '/20181201/applications', body('retry-a'), { 'opc-retry-token': 'fn-tok-1' });
      const b = await h.signed.raw('POST', '/20181201/applications', body('retry-a'), { 'opc-retry-token': 'fn-tok-1' });
      assert.equal(a.status, 200, a.text);
      assert.equal(b.json.id, a.json.id);
      const c = await h.signed.raw('POST', '/20181201/applications', body('retry-b'), { 'opc-retry-token': 'fn-tok-1' });
      assert.deepEqual([c.status, c.json.code], [409, 'InvalidatedRetryToken']);
    });

    it('moves an application and its functions to another compartment', async () => {
      const c = await h.signed.call<{ id: string }>('POST', '/herald/v1/compartments', { name: 'fn-move', description: 'm' });
      const app = await newApp('mover');
      const f = await newFn(app.id, 'moved');
      await h.mgmt.changeApplicationCompartment({ applicationId: app.id, changeApplicationCompartmentDetails: { compartmentId: c.id } });
      assert.equal((await h.mgmt.getApplication({ applicationId: app.id })).application.compartmentId, c.id);
      assert.equal((await h.mgmt.getFunction({ functionId: f.id })).function.compartmentId, c.id);
    });

    it('maps invoke answers through FunctionsInvokeClient: sync 200 round trip, 502, 504, detached 202', async () => {
      const app = await newApp('invoke');
      const f = await newFn(app.id, 'echo');
      const inv = new fnsdk.FunctionsInvokeClient({ authenticationDetailsProvider: h.provider });
      inv.endpoint = String(f.invokeEndpoint);
      try {
        const ok = await inv.invokeFunction({ functionId: f.id, invokeFunctionBody: 'hello', fnIntent: fnsdk.requests.InvokeFunctionRequest.FnIntent.Httprequest });
        assert.equal(await new Response(ok.value as ReadableStream).text(), 'HELLO');
        assert.ok(ok.opcRequestId);
        const seen = h.calls.at(-1)!;
        assert.deepEqual([seen.fnName, seen.body, seen.detached, seen.headers['fn-intent']], ['echo', 'hello', false, 'httprequest']);
        assert.equal(seen.headers.authorization, undefined);

        await expectOciError(inv.invokeFunction({ functionId: f.id, invokeFunctionBody: 'fail' }), 502, 'FunctionInvokeExecutionFailed');
        await expectOciError(inv.invokeFunction({ functionId: f.id, invokeFunctionBody: 'slow' }), 504, 'FunctionInvokeTimeout');
        await expectOciError(inv.invokeFunction({ functionId: 'ocid1.fnfunc.oc1.iad.aaaaaaaanosuchfn', invokeFunctionBody: 'x' }), 404, 'NotAuthorizedOrNotFound');

        const before = h.calls.length;
        await inv.invokeFunction({ functionId: f.id, invokeFunctionBody: 'later', fnInvokeType: fnsdk.requests.InvokeFunctionRequest.FnInvokeType.Detached });
        const raw = await h.signed.raw('POST', `/20181201/functions/${f.id}/actions/invoke`, 'again', { 'fn-invoke-type': 'detached' });
        assert.equal(raw.status, 202);
        await eventually(() => h.calls.length >= before + 2, 15_000, 'both detached calls');
        assert.deepEqual(h.calls.slice(before).map((c) => [c.body, c.detached]), [['later', true], ['again', true]]);

        // Raw bytes from non-SDK clients pass through untouched.
        const bin = await h.signed.raw('POST', `/20181201/functions/${f.id}/actions/invoke`, Buffer.from([0xde, 0xad, 0xbe, 0xef]), { 'content-type': 'application/octet-stream' });
        assert.equal(bin.status, 200);
        assert.equal(h.calls.at(-1)?.contentType, 'application/octet-stream');
        assert.equal(bin.headers['fn-call-id'], 'call-1');
      } finally {
        inv.close();
      }
    });

    it("returns the function's own headers but none that matter to Herald's origin or connection", async () => {
      const app = await newApp('headers');
      const f = await newFn(app.id, 'headers');
      const res = await h.signed.raw('POST', `/20181201/functions/${f.id}/actions/invoke`, 'headers', { 'content-type': 'text/plain' });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.text, HEADERS_BODY);
      // Ordinary headers pass.
      assert.equal(res.headers['content-type'], 'text/x-fn');
      assert.equal(res.headers['x-custom'], 'kept');
      // Dropped outright.
      for (const name of [
        'set-cookie', 'set-cookie2', 'x-hop', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers', 'transfer-encoding',
        'upgrade', 'access-control-allow-origin', 'access-control-allow-credentials', 'access-control-expose-headers',
        'strict-transport-security', 'content-security-policy',
      ]) {
        assert.equal(res.headers[name], undefined, `${name} must not reach the caller`);
      }
      // Herald's own values, not the function's (Node sets its own Connection and Keep-Alive).
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(HEADERS_BODY)));
      assert.notEqual(res.headers.connection, FUNCTION_HEADERS.Connection);
      assert.notEqual(res.headers['keep-alive'], FUNCTION_HEADERS['Keep-Alive']);
      assert.ok(res.headers['opc-request-id']);
      assert.notEqual(res.headers['opc-request-id'], FUNCTION_HEADERS['opc-request-id']);
    });

    it('serves recent call records at /herald/v1/functions/{id}/logs', async () => {
      const app = await newApp('logs');
      const f = await newFn(app.id, 'logged');
      for (let i = 0; i < 3; i++) {
        await h.herald.store.functions.insertFunctionCall({ functionId: f.id, callId: `call-${i}`, startedAt: Date.now() + i, durationMs: 5, status: 'success', logs: `line ${i}` });
      }
      const res = await h.signed.raw('GET', `/herald/v1/functions/${f.id}/logs?limit=2`);
      assert.equal(res.status, 200, res.text);
      const rows = JSON.parse(res.text) as { callId: string; logs: string }[];
      assert.deepEqual(rows.map((r) => r.callId), ['call-2', 'call-1']);
      const missing = await h.signed.raw('GET', `/herald/v1/functions/ocid1.fnfunc.oc1.iad.aaaaaaaanosuchfn/logs`);
      assert.equal(missing.status, 404);
    });
  });
}
