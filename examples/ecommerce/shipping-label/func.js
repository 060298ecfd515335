/* global require, fetch */
/* eslint-disable @typescript-eslint/no-require-imports -- Fn's Node FDK is CommonJS, as is this function */
'use strict';

// shipping-label: invoked by Herald (an ORACLE_FUNCTIONS subscription of the OrderProcessing topic)
// for every new order. It reads the order from the message, builds a shipping label, posts the label
// to the order service, and returns it (the return value shows up in `herald message get`).
const crypto = require('crypto');
const fdk = require('@fnproject/fdk');

/**
 * The message body is "New Order has been placed: <orderId> by user: <userId>", a blank line, then
 * the order as JSON (see examples/ecommerce/order-service.ts). A body that is only the JSON (e.g.
 * from `herald fn invoke --body '{...}'`) is accepted too.
 */
function parseOrder(text) {
  const trimmed = text.trim();
  const json = trimmed.startsWith('{') ? trimmed : trimmed.slice(trimmed.indexOf('\n\n') + 2);
  if (!json.startsWith('{')) throw new Error('The message has no order JSON after the first blank line.');
  const order = JSON.parse(json);
  if (typeof order.orderId !== 'string' || typeof order.shipTo !== 'object' || order.shipTo === null) {
    throw new Error('The order JSON needs an orderId and a shipTo address.');
  }
  return order;
}

// Derived from the order id, not random: Herald delivers at least once, and a redelivered message
// must produce the same label (and the same tracking number) rather than a second parcel.
function trackingNumber(orderId) {
  return 'HP' + crypto.createHash('sha256').update(orderId).digest('hex').slice(0, 12).toUpperCase();
}

function buildLabel(order, shipFrom, messageId) {
  const to = order.shipTo;
  const parcels = order.items.reduce((n, item) => n + item.quantity, 0);
  return {
    orderId: order.orderId,
    carrier: 'Herald Parcel',
    service: order.total >= 100 ? 'EXPRESS' : 'STANDARD',
    trackingNumber: trackingNumber(order.orderId),
    parcels,
    shipFrom,
    shipTo: [to.name, to.street, `${to.postalCode} ${to.city}`, String(to.country).toUpperCase()],
    messageId,
    createdAt: new Date().toISOString(),
  };
}

fdk.handle(
  async function (input, ctx) {
    const base = ctx.config.ORDER_SERVICE_URL;
    if (!base) throw new Error('ORDER_SERVICE_URL is not configured: herald fn config --fn shipping-label ORDER_SERVICE_URL http://...');
    const order = parseOrder(input);
    const label = buildLabel(order, ctx.config.SHIP_FROM || '', ctx.getHeader('X-Oci-Ns-Messageid') || null);
    const res = await fetch(`${base.replace(/\/+$/, '')}/orders/${encodeURIComponent(order.orderId)}/label`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(label),
    });
    // Throwing makes the call fail, so Herald retries the delivery on the subscription's schedule.
    if (!res.ok) throw new Error(`The order service answered ${res.status} to the label of ${order.orderId}: ${await res.text()}`);
    console.log(`label ${label.trackingNumber} for order ${order.orderId}`);
    return label;
  },
  // The body is a sentence plus JSON, not JSON: take it as text and parse it above.
  { inputMode: 'string' },
);
