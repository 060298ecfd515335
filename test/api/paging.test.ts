import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { limitOnly, pageRequest } from '../../src/api/paging.js';
import { HeraldError } from '../../src/core/errors.js';
import { encodePageToken } from '../../src/core/pagination.js';

/** The refusal's message, or 'ok'. */
function refusal(read: () => unknown): string {
  try {
    read();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof HeraldError);
    assert.equal(err.code, 'InvalidParameter');
    return err.message;
  }
}

const BAD_LIMIT = 'limit must be an integer from 1 to 1000.';
const BAD_PAGE = 'The page token is invalid.';

describe('list paging (src/api/paging.ts)', () => {
  it('reads limit (default 100, 1..1000) and the page token', () => {
    assert.deepEqual(pageRequest({}), { offset: 0, limit: 100 });
    assert.deepEqual(pageRequest({ limit: '', page: '' }), { offset: 0, limit: 100 });
    assert.deepEqual(pageRequest({ limit: '7', page: encodePageToken(21) }), { offset: 21, limit: 7 });
    for (const limit of ['0', '1001', '2.5', 'x', '-1']) assert.equal(refusal(() => pageRequest({ limit })), BAD_LIMIT, limit);
    for (const page of ['x', encodePageToken(-1), 'e30']) assert.equal(refusal(() => pageRequest({ page })), BAD_PAGE, page);
  });

  it('keeps which error a request with both bad gets: limit first (ONS, Functions), page first (Identity)', () => {
    assert.equal(refusal(() => pageRequest({ limit: '0', page: 'x' })), BAD_LIMIT);
    assert.equal(refusal(() => pageRequest({ limit: '0', page: 'x' }, 'page-first')), BAD_PAGE);
  });

  it('limit-only lists: the default applies only when limit is absent, and the cap only to accepted values', () => {
    assert.equal(limitOnly({}), 100);
    assert.equal(limitOnly({}, { whenAbsent: 20, atMost: 200 }), 20);
    assert.equal(limitOnly({ limit: '' }, { whenAbsent: 20, atMost: 200 }), 100);
    assert.equal(limitOnly({ limit: '500' }, { whenAbsent: 20, atMost: 200 }), 200);
    assert.equal(refusal(() => limitOnly({ limit: '2000' }, { whenAbsent: 20, atMost: 200 })), BAD_LIMIT);
  });
});
