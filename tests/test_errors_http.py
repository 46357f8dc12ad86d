"""Bad input gets a clear problem+json answer and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from temporalio.client import Client

from orderflow.settings import Settings
from tests.helpers import (
    assert_problem,
    command,
    create_order,
    isolated_settings,
    register_customer,
    running_api,
    running_worker,
)


@pytest.mark.parametrize(
    ("content", "status", "kind"),
    [
        (b"{not json", 400, "malformed-request"),
        (b"[1, 2]", 400, "malformed-request"),
        (b"", 400, "malformed-request"),
        (b"{}", 422, "invalid-parameter"),
        (b'{"accountId": 0}', 422, "invalid-parameter"),
        (b'{"accountId": "1234"}', 422, "invalid-parameter"),
        (b'{"accountId": 12, "extra": 1}', 422, "invalid-parameter"),
    ],
)
async def test_bad_create_bodies(
    http: httpx.AsyncClient, content: bytes, status: int, kind: str
) -> None:
    response = await http.post(
        "/v1/orders", content=content, headers={"content-type": "application/json"}
    )
    body = assert_problem(response, status, kind)
    if status == 422:
        assert body["errors"] and all({"name", "reason"} <= e.keys() for e in body["errors"])


async def test_unknown_order_event_and_command(http: httpx.AsyncClient) -> None:
    assert_problem(await http.get("/v1/orders/987654321"), 404, "not-found")
    assert_problem(await http.get("/v1/orders/abc"), 404, "not-found")
    assert_problem(await http.get("/v1/orders/987654321/events"), 404, "not-found")
    assert_problem(await http.put("/v1/orders/987654321/commands/prepareOrder"), 404, "not-found")
    assert_problem(await http.get("/v1/nothing-here"), 404, "not-found")
    order = await create_order(http)
    assert_problem(await http.get(order["_links"]["events"]["href"] + "/99"), 404, "not-found")
    body = assert_problem(await command(http, order, "launchRocket"), 404, "not-found")
    assert "assignOrder" in body["detail"]
    assert_problem(await http.delete(order["_links"]["self"]["href"]), 405, "method-not-allowed")


async def test_not_allowed_names_the_status_and_the_allowed_commands(
    http: httpx.AsyncClient,
) -> None:
    order = await create_order(http)
    body = assert_problem(await command(http, order, "orderPickedUp"), 409, "command-not-allowed")
    assert body["orderStatus"] == "ORDER_CREATED"
    assert body["allowedCommands"] == [
        "assignOrder", "updateOrderLocation", "updateOrderStatus", "cancelOrder",
    ]  # fmt: skip
    assert "ORDER_CREATED" in body["detail"] and "assignOrder" in body["detail"]


async def test_closed_orders_refuse_commands(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    assert (await command(http, order, "cancelOrder")).status_code == 200
    body = assert_problem(
        await command(http, order, "updateOrderLocation", lat=1, lon=1), 409, "order-closed"
    )
    assert body["orderStatus"] == "ORDER_CANCELLED" and body["allowedCommands"] == []


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("assignOrder", {}, "restaurantId"),
        ("assignOrder", {"restaurantId": "zero"}, "restaurantId"),
        ("assignOrder", {"restaurantId": 0}, "restaurantId"),
        ("updateOrderLocation", {"lat": 90.5, "lon": 0}, "lat"),
        ("updateOrderLocation", {"lat": 0, "lon": 181}, "lon"),
        ("updateOrderStatus", {"status": "ORDER_LOST"}, "status"),
        ("prepareOrder", {"restaurantId": 1}, "restaurantId"),
    ],
)
async def test_invalid_parameters_change_nothing(
    http: httpx.AsyncClient, name: str, params: dict[str, Any], bad: str
) -> None:
    order = await create_order(http)
    body = assert_problem(await command(http, order, name, **params), 422, "invalid-parameter")
    assert [e["name"] for e in body["errors"]] == [bad]
    events = (await http.get(order["_links"]["events"]["href"])).json()
    assert events["page"]["totalElements"] == 1


async def test_bad_paging_parameters(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    events = order["_links"]["events"]["href"]
    assert_problem(await http.get(events, params={"size": 0}), 422, "invalid-parameter")
    assert_problem(await http.get(events, params={"page": -1}), 422, "invalid-parameter")
    assert_problem(
        await http.get("/v1/orders", params={"status": "LOST"}), 422, "invalid-parameter"
    )
    assert_problem(await http.get("/v1/orders", params={"page": "%%%"}), 422, "invalid-parameter")
    assert_problem(
        await http.get("/v1/orders", params={"page": "bm90LWEtdG9rZW4"}), 422, "invalid-parameter"
    )


async def test_a_full_event_log_is_a_clear_conflict(settings: Settings, client: Client) -> None:
    small = isolated_settings(settings, order_max_events=10)
    async with running_worker(client, small), running_api(small) as http:
        order = await create_order(http)
        for i in range(9):
            assert (
                await command(http, order, "updateOrderLocation", lat=i, lon=i)
            ).status_code == 200
        body = assert_problem(
            await command(http, order, "updateOrderLocation", lat=0, lon=0), 409, "event-log-full"
        )
        assert "10 events" in body["detail"]
        assert (await command(http, order, "cancelOrder")).status_code == 200


async def test_options_and_allow_list_every_method_of_a_path(http: httpx.AsyncClient) -> None:
    customer = await register_customer(http)
    href = customer["_links"]["self"]["href"]
    options = await http.options(href)
    assert options.status_code == 204, options.text
    assert options.headers["allow"] == "GET, PATCH, DELETE, OPTIONS"
    refused = assert_problem(await http.put(href), 405, "method-not-allowed")
    assert refused and (await http.put(href)).headers["allow"] == "GET, PATCH, DELETE, OPTIONS"
    for path, allow in [
        ("/v1/orders", "GET, POST, OPTIONS"),
        ("/v1/orders/1/commands/assignOrder", "POST, PUT, OPTIONS"),
        ("/v1/orders/1/events", "GET, POST, OPTIONS"),
        ("/v1/customers", "GET, POST, OPTIONS"),
    ]:
        assert (await http.options(path)).headers["allow"] == allow, path
        assert (await http.request("TRACE", path)).headers["allow"] == allow, path
