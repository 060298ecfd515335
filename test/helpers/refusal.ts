import assert from 'node:assert/strict';
import { STATUS_BY_CODE } from '../../src/api/errors.js';
import { HeraldError } from '../../src/core/errors.js';

/** What the API would answer for a refused service call: the OCI code and the HTTP status it maps to. */
export async function refusal(call: Promise<unknown>): Promise<{ code: string; status: number; message: string }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof HeraldError, `expected a HeraldError, got ${String(err)}`);
    return { code: err.code, status: STATUS_BY_CODE[err.code], message: err.message };
  }
  assert.fail('the call was not refused');
}
