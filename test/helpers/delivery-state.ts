import { eventually } from './eventually.js';
import type { SignedCaller } from './oci.js';
import type { Received, Receiver } from './receiver.js';

interface TraceWire {
  deliveries: { subscriptionId: string; state: string; attempts: number }[];
}

/**
 * The message's delivery to the subscription, once its trace (`GET /herald/v1/messages/{id}`) shows it in
 * one of `states`: what the product recorded, which a receiver having the request does not yet prove.
 */
export function deliveryIn(api: SignedCaller, messageId: string, subscriptionId: string, states: string[]): Promise<{ state: string; attempts: number }> {
  return eventually(async () => {
    const t = await api.call<TraceWire>('GET', `/herald/v1/messages/${messageId}`);
    const d = t.deliveries.find((x) => x.subscriptionId === subscriptionId);
    return d !== undefined && states.includes(d.state) ? d : undefined;
  }, 20_000, `the delivery of ${messageId} to ${subscriptionId} in ${states.join('/')}`);
}

/** What a receiver got apart from the confirmation handshake. */
export const messagesAt = (rx: Receiver): Received[] => rx.requests.filter((r) => r.headers['x-oci-ns-confirmationurl'] === undefined);
