import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, resolveConfig } from '../../src/config/config.js';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('durations', () => {
  it('reads units from milliseconds to weeks, and sums compound forms', () => {
    const cases: [string, number][] = [
      ['500ms', 500],
      ['30s', 30_000],
      ['90m', 5_400_000],
      ['12h', 43_200_000],
      ['7d', 604_800_000],
      ['2w', 1_209_600_000],
      ['1h30m', 5_400_000],
      ['1.5s', 1500],
      [' 3S ', 3000],
    ];
    for (const [text, ms] of cases) assert.equal(parseDuration(text), ms, text);
  });

  it('refuses a bare number, an unknown unit, a sign and an empty string', () => {
    for (const text of ['7', '7x', '-1s', '', 's', '1s2', '1 s', 'ms']) assert.equal(parseDuration(text), undefined, JSON.stringify(text));
  });

  it('prints a duration in the largest exact unit', () => {
    assert.equal(formatDuration(604_800_000), '7d');
    assert.equal(formatDuration(7 * 86_400_000 + 1000), '604801s');
    assert.equal(formatDuration(30_000), '30s');
    assert.equal(formatDuration(1500), '1500ms');
  });
});

describe('--message-retention', () => {
  it('defaults to 7 days, and a flag wins over HERALD_MESSAGE_RETENTION', () => {
    assert.equal(resolveConfig({}, {}).messageRetentionMs, 604_800_000);
    assert.equal(resolveConfig({}, { HERALD_MESSAGE_RETENTION: '30s' }).messageRetentionMs, 30_000);
    assert.equal(resolveConfig({ messageRetention: '2h' }, { HERALD_MESSAGE_RETENTION: '30s' }).messageRetentionMs, 7_200_000);
  });

  it('refuses a value without a unit or under a second, saying what it takes', () => {
    for (const bad of ['7', '500ms', 'forever']) {
      assert.throws(() => resolveConfig({ messageRetention: bad }, {}), (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, /--message-retention must be a duration of at least 1s, such as 7d, 12h or 30s; got: /);
        return true;
      });
    }
  });
});

describe('--endpoint-disable-after', () => {
  it('defaults to 5 days, reads HERALD_ENDPOINT_DISABLE_AFTER, and a flag wins over the env var', () => {
    assert.equal(resolveConfig({}, {}).endpointDisableAfterMs, 432_000_000);
    assert.equal(resolveConfig({}, { HERALD_ENDPOINT_DISABLE_AFTER: '12h' }).endpointDisableAfterMs, 43_200_000);
    assert.equal(resolveConfig({ endpointDisableAfter: '3s' }, { HERALD_ENDPOINT_DISABLE_AFTER: '12h' }).endpointDisableAfterMs, 3000);
    // The same durations as elsewhere: compound forms add up.
    assert.equal(resolveConfig({}, { HERALD_ENDPOINT_DISABLE_AFTER: '1d12h' }).endpointDisableAfterMs, 129_600_000);
  });

  it('refuses a value without a unit or under a second, from the flag or the env var, saying what it takes and what it got', () => {
    for (const bad of ['5', '500ms', 'never', '-1d']) {
      for (const [flags, env] of [
        [{ endpointDisableAfter: bad }, {}],
        [{}, { HERALD_ENDPOINT_DISABLE_AFTER: bad }],
      ] as const) {
        assert.throws(() => resolveConfig(flags, env), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.equal(err.message, `--endpoint-disable-after must be a duration of at least 1s, such as 5d, 12h or 3s; got: ${bad}`);
          return true;
        });
      }
    }
  });
});
