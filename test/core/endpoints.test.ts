import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointKeyOf, endpointKeys } from '../../src/core/endpoints.js';

describe('endpointKeyOf', () => {
  it('keys HTTP protocols by URL origin, so every subscription on one host shares one endpoint', () => {
    assert.equal(endpointKeyOf('HTTPS', 'https://u:p@Hooks.Example.com:8443/a/b?c=d'), 'HTTPS:https://hooks.example.com:8443');
    assert.equal(endpointKeyOf('SLACK', 'https://hooks.slack.com/services/T/B/X'), 'SLACK:https://hooks.slack.com');
    assert.equal(endpointKeyOf('SLACK', 'https://hooks.slack.com/services/T/B/Y'), endpointKeyOf('SLACK', 'https://hooks.slack.com/services/T/B/X'));
    assert.equal(endpointKeyOf('PAGERDUTY', 'http://127.0.0.1:9000/integration/k'), 'PAGERDUTY:http://127.0.0.1:9000');
  });

  it('keeps protocols apart on the same origin', () => {
    assert.notEqual(endpointKeyOf('HTTPS', 'https://h.example/x'), endpointKeyOf('CUSTOM_HTTPS', 'https://h.example/x'));
  });

  it('keys EMAIL and SMS by protocol (one relay, one provider) and functions by function', () => {
    assert.equal(endpointKeyOf('EMAIL', 'a@example.com'), endpointKeyOf('EMAIL', 'b@example.org'));
    assert.equal(endpointKeyOf('SMS', '+14255550100'), 'SMS');
    assert.equal(endpointKeyOf('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1..a'), 'ORACLE_FUNCTIONS:ocid1.fnfunc.oc1..a');
    assert.notEqual(endpointKeyOf('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1..a'), endpointKeyOf('ORACLE_FUNCTIONS', 'ocid1.fnfunc.oc1..b'));
  });
});

describe('remembered endpoint keys', () => {
  it('answers endpointKeyOf for each protocol and endpoint, one origin per HTTP endpoint whatever its path', () => {
    const keyOf = endpointKeys();
    const subs = [
      { protocol: 'CUSTOM_HTTPS' as const, endpoint: 'https://hooks.example.com:8443/a?x=1' },
      { protocol: 'CUSTOM_HTTPS' as const, endpoint: 'https://hooks.example.com:8443/b' },
      { protocol: 'SLACK' as const, endpoint: 'https://hooks.example.com:8443/a?x=1' },
      { protocol: 'EMAIL' as const, endpoint: 'ops@example.com' },
      { protocol: 'ORACLE_FUNCTIONS' as const, endpoint: 'ocid1.fnfunc.oc1..aaaa' },
    ];
    // Asked twice: the second answers come from what it remembered.
    for (let round = 0; round < 2; round++) {
      for (const s of subs) assert.equal(keyOf(s), endpointKeyOf(s.protocol, s.endpoint), `${s.protocol} ${s.endpoint}`);
    }
    assert.equal(keyOf(subs[0]!), keyOf(subs[1]!));
    assert.notEqual(keyOf(subs[0]!), keyOf(subs[2]!), 'the same URL under another protocol is another endpoint');
  });
});
