"""Bad input changes nothing: after every rejected request the order, its event log, its
customer and the published feed are exactly as before. A corpus of hostile requests, then
hypothesis generating query strings and bodies for the command endpoints."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import create_order, eventually, register_customer

TOO_BIG = 2**63
# (method, path below the order, raw query string, body): each must be refused (4xx).
CORPUS: list[tuple[str, str, str, bytes | None]] = [
    ("PUT", "/commands/assignOrder", "restaurantId=1&restaurantId=2", None),
    ("PUT", "/commands/assignOrder", f"restaurantId={TOO_BIG}", None),
    ("PUT", "/commands/assignOrder", "restaurantId=1_0", None),
    ("PUT", "/commands/assignOrder", "restaurantId=+1", None),
    ("PUT", "/commands/assignOrder", "restaurantId=%201", None),
    ("PUT", "/commands/assignOrder", "restaurantId=0x10", None),
    ("PUT", "/commands/assignOrder", "restaurantId=1.0", None),
    ("PUT", "/commands/assignOrder", "restaurantId=-1", None),
    ("PUT", "/commands/assignOrder", "restaurantId=", None),
    ("PUT", "/commands/assignOrder", "restaurantId=1&x=1", None),
    ("POST", "/commands/assignOrder", "restaurantId=%00", None),
    ("PUT", "/commands/updateOrderLocation", "lat=1&lon=2&lon=3", None),
    ("PUT", "/commands/updateOrderLocation", "lat=1_0&lon=1", None),
    ("PUT", "/commands/updateOrderLocation", "lat=inf&lon=1", None),
    ("PUT", "/commands/updateOrderLocation", "lat=nan&lon=1", None),
    ("PUT", "/commands/updateOrderLocation", "lat=1e999&lon=1", None),
    ("PUT", "/commands/updateOrderLocation", "lat=90.000001&lon=1", None),
    ("PUT", "/commands/updateOrderLocation", "lat=%EF%BC%91&lon=1", None),  # fullwidth 1
    ("PUT", "/commands/updateOrderStatus", "status=ORDER_LOST", None),
    ("PUT", "/commands/updateOrderStatus", "status=order_assigned", None),
    ("PUT", "/commands/cancelOrder", "reason=" + quote("a\x00b"), None),
    ("PUT", "/commands/cancelOrder", "reason=" + quote("line\nbreak"), None),
    ("PUT", "/commands/cancelOrder", "reason=" + "x" * 501, None),
    ("PUT", "/commands/cancelOrder", "reason=a&reason=b", None),
    ("PUT", "/commands/prepareOrder", "restaurantId=1", None),
    ("PUT", "/commands/launchRocket", "", None),
    ("PUT", f"/commands/{'x' * 300}", "", None),
    ("DELETE", "", "", None),
    ("POST", "/events", "", b"{not json"),
    ("POST", "/events", "", b"[]"),
    ("POST", "/events", "", b'{"type": "ORDER_CREATED"}'),
    ("POST", "/events", "", b'{"type": "ORDER_ASSIGNED"}'),
    ("POST", "/events", "", b'{"type": "ORDER_ASSIGNED", "restaurantId": "101"}'),
    ("POST", "/events", "", b'{"type": "ORDER_ASSIGNED", "restaurantId": 9223372036854775808}'),
    ("POST", "/events", "", b'{"type": "ORDER_ASSIGNED", "restaurantId": 1.5}'),
    ("POST", "/events", "", b'{"type": "ORDER_ASSIGNED", "restaurantId": true}'),
    ("POST", "/events", "", b'{"type": "ORDER_LOCATION_UPDATED", "lat": 1e999, "lon": 0}'),
    ("POST", "/events", "", b'{"type": "ORDER_LOCATION_UPDATED", "lat": "1", "lon": 0}'),
    ("POST", "/events", "", b'{"type": "ORDER_CANCELLED", "reason": "a\\u0000b"}'),
    ("POST", "/events", "", b'{"type": "ORDER_ASSIGNED", "restaurantId": 1, "x": 1}'),
    ("POST", "/events", "", b'{"type": "ORDER_DELIVERED"}'),
    ("GET", "/events", "page=-1", None),
    ("GET", "/events", f"page={TOO_BIG}", None),
    ("GET", "/events", "size=1&size=2", None),
    ("GET", f"/events/{TOO_BIG}", "", None),
]


_cursor = 0  # the feed position every test here starts from (it only grows)


async def newest_position(http: httpx.AsyncClient) -> int:
    global _cursor
    while True:
        page = (await http.get("/v1/events", params={"after": _cursor, "limit": 500})).json()
        if not page["_embedded"]["events"]:
            return _cursor
        _cursor = int(page["_embedded"]["events"][-1]["sequence"])


async def published(http: httpx.AsyncClient, order: dict[str, Any]) -> list[tuple[str, str]]:
    """The feed's events about the order and its customer since the order was placed."""
    subjects = {str(order["orderId"]), str(order["accountId"])}
    found, cursor = [], order["feedStart"]
    while True:
        page = (await http.get("/v1/events", params={"after": cursor, "limit": 500})).json()
        events = page["_embedded"]["events"]
        if not events:
            return found
        found += [(e["id"], e["type"]) for e in events if e["subject"] in subjects]
        cursor = int(events[-1]["sequence"])


async def snapshot(http: httpx.AsyncClient, order: dict[str, Any]) -> dict[str, Any]:
    """Everything a request to the order could change, as a client reads it."""
    links = order["_links"]
    events = await http.get(links["events"]["href"], params={"size": 500})
    return {
        "order": (await http.get(links["self"]["href"])).json(),
        "events": events.json()["_embedded"]["orderEventList"],
        "customer": (await http.get(links["customer"]["href"])).json(),
        "feed": await published(http, order),
    }


async def settled(http: httpx.AsyncClient, order: dict[str, Any], events: int) -> None:
    """Wait until the order's ``events`` events are all in the feed (published a moment
    after they happen), so a later snapshot sees no publication still on its way."""

    async def check() -> None:
        mine = [e for e in await published(http, order) if e[1].startswith("Order")]
        assert len(mine) == events, mine

    await eventually(check, timeout=15)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def order(http: httpx.AsyncClient) -> dict[str, Any]:
    """One order for the whole corpus: a request that is refused leaves it as it was."""
    start = await newest_position(http)
    placed = await create_order(http, (await register_customer(http))["customerId"])
    placed["feedStart"] = start
    await settled(http, placed, 1)
    return placed


@pytest.mark.parametrize(("method", "below", "query", "body"), CORPUS)
async def test_a_rejected_request_changes_nothing(
    http: httpx.AsyncClient,
    order: dict[str, Any],
    method: str,
    below: str,
    query: str,
    body: bytes | None,
) -> None:
    before = await snapshot(http, order)
    url = order["_links"]["self"]["href"] + below + (f"?{query}" if query else "")
    headers = {"content-type": "application/json"} if body is not None else {}
    response = await http.request(method, url, content=body, headers=headers)
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert await snapshot(http, order) == before


# Texts a hostile client might put in a query string: numbers written every odd way,
# controls, non-ASCII digits, huge exponents, repeated names.
_ODD_TEXTS = st.one_of(
    st.sampled_from(["1_0", "+1", " 1", "1 ", "0x10", "1e999", "-0", "inf", "NaN", "", "٣"]),
    st.text(st.characters(exclude_categories=["Cs"]), max_size=12),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
_NAMES = st.sampled_from(["restaurantId", "driverId", "lat", "lon", "status", "reason", "x"])


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(["assignOrder", "updateOrderLocation", "prepareOrder", "cancelOrder"]),
    pairs=st.lists(st.tuples(_NAMES, _ODD_TEXTS), min_size=1, max_size=4),
)
async def test_hostile_command_queries_change_nothing_unless_applied(
    http: httpx.AsyncClient, order: dict[str, Any], command: str, pairs: list[tuple[str, str]]
) -> None:
    """Whatever the query string, the answer is 200 (and then the order moved), 409, or a
    4xx problem that changed nothing: never a 5xx, never a half-applied command."""
    before = await snapshot(http, order)
    query = "&".join(f"{quote(name)}={quote(value)}" for name, value in pairs)
    url = order["_links"]["commands"]["href"] + f"/{command}?{query}"
    response = await http.put(url)
    assert response.status_code < 500, response.text
    after = await snapshot(http, order)
    if response.status_code == 200:
        assert len(after["events"]) == len(before["events"]) + 1
        await settled(http, order, len(after["events"]))
        return
    assert response.headers["content-type"] == "application/problem+json"
    assert after == before
