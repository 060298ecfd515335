import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointKeyOf } from '../../src/core/endpoints.js';

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
