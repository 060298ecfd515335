import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as fnsdk from 'oci-functions';
import { packFunctionDir } from '../../src/functions/bundles.js';
import { eventually } from '../helpers/eventually.js';
import { startTestHerald, type TestHerald } from '../helpers/herald.js';
import { heraldClient } from '../helpers/oci.js';
import { FIXTURES } from './helpers.js';

// Deliberate failures in a row would otherwise open the SDK's default circuit breaker.
process.env.OCI_SDK_DEFAULT_CIRCUITBREAKER_ENABLED ??= 'false';

/** What the oci-functions SDK makes of a failed invoke (an OciError). */
interface OciFailure {
  statusCode: number;
  serviceCode: string;
  message: string;
  opcRequestId: string | undefined;
}

interface CallRow {
  callId: string;
  status: string;
  logs: string;
}

/**
 * The real invoke path end to end: the oci-functions SDK signs an invoke to a running Herald, whose
 * route hands it to the RuntimeInvoker, which unpacks the uploaded bundle and runs it in a real FDK
 * process in the bubblewrap sandbox. The function (test/fixtures/functions/misbehave) hangs, hogs
 * memory or exits mid-call on request, and otherwise answers with its process's instance id.
 * What Herald defines (src/functions/types.ts, docs/architecture.md "The runtime"): a timeout is 504
 * FunctionInvokeTimeout; out of memory and a crash are 502 FunctionInvokeExecutionFailed, as Fn answers
 * them (reference: oci-functions-and-fn.md §8); each kills or discards the process.
 */
describe('invoke errors through the real runtime: timeout, out of memory and crash as OCI errors, then a fresh process', () => {
  let h: TestHerald;
  let inv: fnsdk.FunctionsInvokeClient;
  /** timeoutInSeconds 1, for the hang. */
  let impatient: string;
  /** timeoutInSeconds 60: out of memory and the crash must not be beaten by the timeout on a busy machine. */
  let patient: string;

  before(async () => {
    h = await startTestHerald('sqlite');
    const client = heraldClient(h);
    const up = await client.raw('POST', '/herald/v1/functionBundles', await packFunctionDir(join(FIXTURES, 'misbehave')), { 'content-type': 'application/gzip' });
    assert.equal(up.status, 200, up.text);
    const app = await client.call<{ id: string }>('POST', '/20181201/applications', { compartmentId: h.tenancyId, displayName: 'misbehaving', subnetIds: [] });
    const create = async (displayName: string, timeoutInSeconds: number): Promise<{ id: string; invokeEndpoint: string }> =>
      client.call('POST', '/20181201/functions', { applicationId: app.id, displayName, image: up.json['image'], memoryInMBs: 128, timeoutInSeconds });
    const a = await create('impatient', 1);
    impatient = a.id;
    patient = (await create('patient', 60)).id;
    inv = new fnsdk.FunctionsInvokeClient({ authenticationDetailsProvider: h.provider });
    inv.endpoint = a.invokeEndpoint;
  });
  after(async () => {
    inv?.close();
    await h?.stop();
  });

  /** The instance id of the process that served a successful call. */
  async function instance(functionId: string): Promise<string> {
    const r = await inv.invokeFunction({ functionId, invokeFunctionBody: 'who' });
    const out = JSON.parse(await new Response(r.value as ReadableStream).text()) as { instance?: string };
    assert.equal(typeof out.instance, 'string');
    return out.instance!;
  }

  async function failure(functionId: string, input: string): Promise<OciFailure> {
    try {
      const r = await inv.invokeFunction({ functionId, invokeFunctionBody: input });
      assert.fail(`invoking with ${input} succeeded: ${await new Response(r.value as ReadableStream).text()}`);
    } catch (err) {
      if (err instanceof assert.AssertionError) throw err;
      return err as OciFailure;
    }
  }

  /** The function's call records (herald fn logs), newest first, once `n` are there. */
  async function calls(functionId: string, n: number): Promise<CallRow[]> {
    return eventually(async () => {
      const rows = await heraldClient(h).call<CallRow[]>('GET', `/herald/v1/functions/${functionId}/logs?limit=50`);
      return rows.length >= n && rows;
    }, 15_000, `${n} call records of ${functionId}`);
  }

  /**
   * Two good calls share one warm process (so another instance id means another process), the bad call
   * fails as `expect` says, and the next call succeeds on a fresh process. Returns the bad call's record.
   */
  async function failThenRecover(functionId: string, input: string, expect: (e: OciFailure) => void): Promise<CallRow> {
    const before = await calls(functionId, 0);
    const warm = await instance(functionId);
    assert.equal(await instance(functionId), warm, 'calls in a row share the warm process');
    expect(await failure(functionId, input));
    const fresh = await instance(functionId);
    assert.notEqual(fresh, warm, 'the call after the failure ran on a fresh process');
    assert.equal(await instance(functionId), fresh, 'which is kept warm in turn');
    const rows = await calls(functionId, before.length + 5);
    assert.equal(rows.length, before.length + 5, 'the failed call ran once (the SDK did not retry it)');
    // Newest first: who, who, <bad>, who, who.
    assert.deepEqual(rows.slice(0, 5).map((r) => r.status === 'success'), [true, true, false, true, true]);
    return rows[2]!;
  }

  it('a call past its timeout is 504 FunctionInvokeTimeout, its process is killed, the next call gets a fresh one', async () => {
    const bad = await failThenRecover(impatient, 'hang', (e) => {
      assert.equal(e.statusCode, 504, e.message);
      assert.equal(e.serviceCode, 'FunctionInvokeTimeout');
      assert.equal(e.message, 'timed out');
      assert.ok(e.opcRequestId, 'an OCI error carries opc-request-id');
    });
    assert.equal(bad.status, 'timeout');
    assert.match(bad.logs, /\[herald\] timeout: timed out\n$/);
  });

  it('a call that exceeds its memory is 502 with "memory limit exceeded", its process is killed, the next call gets a fresh one', async () => {
    const bad = await failThenRecover(patient, 'hog', (e) => {
      assert.equal(e.statusCode, 502, e.message);
      assert.equal(e.serviceCode, 'FunctionInvokeExecutionFailed');
      // 128 MB × 1.2 + 32 MB of RSS allowed (src/functions/pool.ts DEFAULT_POOL_OPTIONS).
      assert.match(e.message, /^memory limit exceeded: RSS \d+ MB > limit 186 MB \(memory 128 MB\)$/);
      assert.ok(e.opcRequestId);
    });
    assert.equal(bad.status, 'oom');
    assert.match(bad.logs, /\[herald\] oom: memory limit exceeded/);
  });

  it('a process that exits during the call is 502 with the exit code and its stderr; the next call gets a fresh one', async () => {
    const bad = await failThenRecover(patient, 'exit', (e) => {
      assert.equal(e.statusCode, 502, e.message);
      assert.equal(e.serviceCode, 'FunctionInvokeExecutionFailed');
      assert.match(e.message, /^function process crashed during the call \(exit code 3\)\. stderr: .*misbehave: exiting mid-call/s);
      assert.ok(e.opcRequestId);
    });
    assert.equal(bad.status, 'crash');
    assert.match(bad.logs, /misbehave: exiting mid-call\n/);
  });
});
