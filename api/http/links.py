"""Absolute links: the base URL a client used (proxies included) and every path built on it."""

from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from starlette.requests import Request

_HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")
_PREFIX = re.compile(r"^(/[A-Za-z0-9._~\-]+)*$")


def request_base_url(request: Request, public_base_url: str | None = None) -> str:
    """``scheme://host[:port][/prefix]`` as the client sees this API.

    Honours RFC 7239 ``Forwarded`` and the ``X-Forwarded-Proto/Host/Port/Prefix`` headers;
    values that do not look like a scheme, host or path are ignored, not echoed back.
    """
    if public_base_url:
        return public_base_url.rstrip("/")
    headers = request.headers
    forwarded = _parse_forwarded(headers.get("forwarded", ""))
    proto = forwarded.get("proto") or _first(headers.get("x-forwarded-proto"))
    host = forwarded.get("host") or _first(headers.get("x-forwarded-host"))
    port = _first(headers.get("x-forwarded-port"))
    prefix = (_first(headers.get("x-forwarded-prefix")) or "").rstrip("/")

    if proto not in {"http", "https"}:
        proto = request.url.scheme
    if not host or not _HOST.match(host):
        host = headers.get("host") or ""
        if not _HOST.match(host):
            host = request.url.netloc
    if port and port.isdigit() and ":" not in host.rsplit("]", 1)[-1]:
        default = {"http": "80", "https": "443"}[proto]
        host = host if port == default else f"{host}:{port}"
    if not _PREFIX.match(prefix):
        prefix = ""
    return f"{proto}://{host}{prefix}"


def _first(value: str | None) -> str | None:
    return value.split(",")[0].strip() if value else None


def _parse_forwarded(value: str) -> dict[str, str]:
    # Only the first (client-nearest proxy's) element matters: host=…;proto=…
    pairs: dict[str, str] = {}
    for part in value.split(",")[0].split(";"):
        name, _, raw = part.strip().partition("=")
        if raw:
            pairs[name.lower()] = raw.strip().strip('"')
    return pairs


class Links:
    """Builds every href of the API from one base URL."""

    def __init__(self, base_url: str, *, ui_url: str, namespace: str) -> None:
        self.base = base_url
        self.ui_url = ui_url.rstrip("/")
        self.namespace = namespace

    def orders(self, **params: str | int | None) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}/v1/orders" + (f"?{query}" if query else "")

    def order(self, order_id: int) -> str:
        return f"{self.base}/v1/orders/{order_id}"

    def commands(self, order_id: int) -> str:
        return f"{self.order(order_id)}/commands"

    def command(self, order_id: int, name: str) -> str:
        return f"{self.commands(order_id)}/{name}"

    def outcome(self, order_id: int, command_id: str) -> str:
        return f"{self.order(order_id)}/outcomes/{quote(command_id, safe='')}"

    def events(self, order_id: int, **params: int) -> str:
        query = urlencode(params)
        return f"{self.order(order_id)}/events" + (f"?{query}" if query else "")

    def event(self, order_id: int, event_id: int) -> str:
        return f"{self.order(order_id)}/events/{event_id}"

    def customer(self, customer_id: int) -> str:
        return f"{self.base}/v1/customers/{customer_id}"

    def customers(self, **params: str | int | None) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"{self.base}/v1/customers" + (f"?{query}" if query else "")

    def customer_events(self, customer_id: int, **params: int) -> str:
        query = urlencode(params)
        return f"{self.customer(customer_id)}/events" + (f"?{query}" if query else "")

    def customer_request(self, request_id: str) -> str:
        return f"{self.base}/v1/customers/requests/{quote(request_id, safe='')}"

    def feed_stream(self, **params: str | int | list[str] | None) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return f"{self.base}/v1/events/stream" + (f"?{query}" if query else "")

    def feed(self, **params: str | int | list[str] | None) -> str:
        query = urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        return f"{self.base}/v1/events" + (f"?{query}" if query else "")

    def event_schema(self, message: str) -> str:
        return f"{self.base}/v1/catalog/events/{quote(message, safe='')}/schema"

    def workflow_history(self, workflow_id: str, run_id: str) -> str:
        """The order's page in the Temporal Web UI (it needs the run id, or shows 404)."""
        return (
            f"{self.ui_url}/namespaces/{quote(self.namespace, safe='')}"
            f"/workflows/{quote(workflow_id, safe='')}/{quote(run_id, safe='')}/history"
        )
