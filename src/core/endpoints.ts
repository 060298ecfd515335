import { InvalidParameterError } from './errors.js';
import { isOcid } from './ids.js';
import { memoize } from './memo.js';
import { PROTOCOLS, type Protocol, type Subscription } from './models.js';

export const MAX_ENDPOINT_LENGTH = 512;

const EMAIL_RE = /^[^\s@<>(),;:"]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const E164_RE = /^\+[1-9]\d{6,14}$/;

export function parseProtocol(raw: string): Protocol {
  const p = raw.toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(p)) {
    throw new InvalidParameterError(`protocol must be one of ${PROTOCOLS.join(', ')}.`);
  }
  return p as Protocol;
}

/**
 * Per-protocol endpoint rules. HTTP endpoints may be plain http: Herald is
 * self-hosted and receivers are often on a private network; the egress guard
 * in the delivery engine decides what may actually be reached.
 */
export function checkEndpoint(protocol: Protocol, endpoint: string): string {
  if (endpoint.length > MAX_ENDPOINT_LENGTH) {
    throw new InvalidParameterError(`endpoint must be at most ${MAX_ENDPOINT_LENGTH} characters.`);
  }
  switch (protocol) {
    case 'EMAIL':
      if (!EMAIL_RE.test(endpoint) || endpoint.length > 254) throw new InvalidParameterError(`endpoint ${endpoint} is not a valid email address.`);
      return endpoint;
    case 'SMS':
      if (!E164_RE.test(endpoint)) throw new InvalidParameterError('SMS endpoint must be an E.164 phone number such as +14255550100.');
      return endpoint;
    case 'ORACLE_FUNCTIONS':
      if (!isOcid(endpoint, 'fnfunc')) throw new InvalidParameterError('ORACLE_FUNCTIONS endpoint must be a function OCID.');
      return endpoint;
    case 'CUSTOM_HTTPS':
    case 'HTTPS':
    case 'SLACK':
    case 'PAGERDUTY':
      return checkHttpUrl(endpoint, protocol);
  }
}

function checkHttpUrl(endpoint: string, protocol: Protocol): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new InvalidParameterError(`${protocol} endpoint must be an absolute http(s) URL.`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new InvalidParameterError(`${protocol} endpoint must use https or http.`);
  }
  if (url.hash !== '') throw new InvalidParameterError(`${protocol} endpoint must not contain a fragment.`);
  if (protocol === 'SLACK' && url.search !== '') throw new InvalidParameterError('SLACK endpoint must not contain query parameters.');
  return endpoint;
}

/**
 * The endpoint a subscription's deliveries go to, as one node's delivery limits count it: an
 * HTTP protocol's URL origin, a function, and for EMAIL and SMS the one relay or provider every
 * delivery of the protocol goes through. Stored with each subscription and delivery, so claims
 * can leave out a full endpoint's deliveries whatever subscription they belong to.
 */
export function endpointKeyOf(protocol: Protocol, endpoint: string): string {
  switch (protocol) {
    case 'EMAIL':
    case 'SMS':
      return protocol;
    case 'ORACLE_FUNCTIONS':
      return `${protocol}:${endpoint}`;
    case 'CUSTOM_HTTPS':
    case 'HTTPS':
    case 'SLACK':
    case 'PAGERDUTY':
      return `${protocol}:${originOf(endpoint)}`;
  }
}

/**
 * endpointKeyOf, remembered per protocol and endpoint: for code that asks on every delivery (an HTTP endpoint's key is
 * its origin, and parsing the URL each time cost ~0.7 µs a delivery). Each caller keeps its own (one per thread).
 */
export function endpointKeys(): (sub: Pick<Subscription, 'protocol' | 'endpoint'>) => string {
  const byProtocol = new Map<Protocol, (endpoint: string) => string>();
  return (sub) => {
    let keys = byProtocol.get(sub.protocol);
    if (keys === undefined) {
      const protocol = sub.protocol;
      keys = memoize(10_000, (endpoint) => endpointKeyOf(protocol, endpoint));
      byProtocol.set(protocol, keys);
    }
    return keys(sub.endpoint);
  };
}

function originOf(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return endpoint;
  }
}
