import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { SubscriptionLinks } from '../../src/core/links.js';

describe('subscription links', () => {
  it('stamps the unsubscribe link of the public URL in force, the subscription protocol and token', () => {
    let base = '';
    const links = new SubscriptionLinks(randomBytes(32), () => base);
    const sub = { id: 'ocid1.onssubscription.oc1..a/b', protocol: 'CUSTOM_HTTPS' as const };
    base = 'http://127.0.0.1:1234';
    const first = links.unsubscribeUrl(sub);
    assert.equal(first, `http://127.0.0.1:1234/20181201/subscriptions/${encodeURIComponent(sub.id)}/unsubscription?token=${links.unsubscribeToken(sub.id)}&protocol=CUSTOM_HTTPS`);
    assert.equal(links.unsubscribeUrl(sub), first);
    // The server learns its address after it listens: links made later carry it, not a remembered one.
    base = 'https://herald.example';
    assert.equal(links.unsubscribeUrl(sub), first.replace('http://127.0.0.1:1234', 'https://herald.example'));
    const other = { id: 'ocid1.onssubscription.oc1..c', protocol: 'EMAIL' as const };
    assert.match(links.unsubscribeUrl(other), /subscriptions\/ocid1\.onssubscription\.oc1\.\.c\/unsubscription\?token=[\w-]+&protocol=EMAIL$/);
    assert.notEqual(links.unsubscribeToken(other.id), links.unsubscribeToken(sub.id));
  });
});
