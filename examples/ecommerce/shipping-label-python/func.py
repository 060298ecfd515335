# shipping-label (Python): the same function as ../shipping-label/func.js, written with Fn's Python
# FDK as `fn init --runtime python` lays it out. Invoked by Herald (an ORACLE_FUNCTIONS subscription
# of the OrderProcessing topic) for every new order: it reads the order from the message, builds a
# shipping label, posts the label to the order service, and returns it. Only the standard library
# besides the FDK (urllib for HTTP), so requirements.txt stays what `fn init` wrote.
import hashlib
import io
import json
import logging
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timezone

from fdk import response


def parse_order(text):
    """
    The message body is "New Order has been placed: <orderId> by user: <userId>", a blank line,
    then the order as JSON (see examples/ecommerce/order-service.ts). A body that is only the JSON
    (e.g. from `herald fn invoke --body '{...}'`) is accepted too.
    """
    trimmed = text.strip()
    body = trimmed if trimmed.startswith("{") else trimmed[trimmed.find("\n\n") + 2:]
    if not body.startswith("{"):
        raise ValueError("The message has no order JSON after the first blank line.")
    order = json.loads(body)
    if not isinstance(order.get("orderId"), str) or not isinstance(order.get("shipTo"), dict):
        raise ValueError("The order JSON needs an orderId and a shipTo address.")
    return order


def tracking_number(order_id):
    # Derived from the order id, not random: Herald delivers at least once, and a redelivered
    # message must produce the same label (and the same tracking number) rather than a second parcel.
    return "HP" + hashlib.sha256(order_id.encode("utf-8")).hexdigest()[:12].upper()


def build_label(order, ship_from, message_id):
    to = order["shipTo"]
    return {
        "orderId": order["orderId"],
        "carrier": "Herald Parcel",
        "service": "EXPRESS" if order.get("total", 0) >= 100 else "STANDARD",
        "trackingNumber": tracking_number(order["orderId"]),
        "parcels": sum(item["quantity"] for item in order.get("items", [])),
        "shipFrom": ship_from,
        "shipTo": [to.get("name"), to.get("street"), "{0} {1}".format(to.get("postalCode"), to.get("city")), str(to.get("country")).upper()],
        "messageId": message_id,
        "createdAt": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }


def header(ctx, name):
    """A request header by name, in any case (the FDK keeps the names as sent)."""
    for key, value in ctx.Headers().items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def post_label(base, label):
    url = "{0}/orders/{1}/label".format(base.rstrip("/"), urllib.parse.quote(label["orderId"], safe=""))
    req = urllib.request.Request(url, data=json.dumps(label).encode("utf-8"), headers={"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as res:
            res.read()
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", "replace")
        raise RuntimeError("The order service answered {0} to the label of {1}: {2}".format(err.code, label["orderId"], detail)) from err


def handler(ctx, data: io.BytesIO = None):
    base = ctx.Config().get("ORDER_SERVICE_URL")
    if not base:
        raise RuntimeError("ORDER_SERVICE_URL is not configured: herald fn config --fn shipping-label-python ORDER_SERVICE_URL http://...")
    order = parse_order(data.getvalue().decode("utf-8") if data is not None else "")
    label = build_label(order, ctx.Config().get("SHIP_FROM") or "", header(ctx, "X-Oci-Ns-Messageid"))
    # An exception makes the FDK answer 502, so Herald retries the delivery on the subscription's schedule.
    post_label(base, label)
    logging.getLogger().info("label {0} for order {1}".format(label["trackingNumber"], order["orderId"]))
    return response.Response(
        ctx, response_data=json.dumps(label),
        headers={"Content-Type": "application/json"}
    )
