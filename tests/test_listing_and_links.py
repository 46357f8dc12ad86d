"""Finding orders through visibility, absolute links behind proxies, and the OpenAPI docs."""

from __future__ import annotations

import time

import httpx

from tests.helpers import (
    command,
    create_order,
    eventually,
    register_customer,
)


async def test_find_orders_by_account_status_restaurant_and_driver(http: httpx.AsyncClient) -> None:
    account = (await register_customer(http))["customerId"]
    # Restaurant and driver ids no other test uses.
    place = int(time.time() * 1000) % 1_000_000_000
    orders = [await create_order(http, account) for _ in range(3)]
    await command(http, orders[0], "assignOrder", restaurantId=place)
    await command(http, orders[1], "assignOrder", restaurantId=place)
    await command(http, orders[1], "updateOrderStatus", status="ORDER_PREPARED")
    await command(http, orders[1], "assignDriver", driverId=place)

    async def found(params: dict[str, object], expected: set[int]) -> None:
        body = (await http.get("/v1/orders", params=params)).json()
        assert {o["orderId"] for o in body["_embedded"]["orders"]} == expected

    ids = [o["orderId"] for o in orders]
    await eventually(lambda: found({"accountId": account}, set(ids)))
    await eventually(lambda: found({"accountId": account, "status": "ORDER_CREATED"}, {ids[2]}))
    await eventually(lambda: found({"restaurantId": place}, {ids[0], ids[1]}))
    await eventually(lambda: found({"driverId": place, "status": "DRIVER_ASSIGNED"}, {ids[1]}))

    listed = (await http.get("/v1/orders", params={"driverId": place})).json()
    summary = listed["_embedded"]["orders"][0]
    assert summary["restaurantId"] == place and summary["accountId"] == account
    assert summary["_links"]["self"]["href"] == orders[1]["_links"]["self"]["href"]
    assert summary["_links"]["history"]["href"] == orders[1]["_links"]["history"]["href"]


async def test_orders_are_paged_with_next_links(http: httpx.AsyncClient) -> None:
    account = (await register_customer(http))["customerId"]
    created = {(await create_order(http, account))["orderId"] for _ in range(5)}

    async def five_visible() -> None:
        body = (await http.get("/v1/orders", params={"accountId": account, "size": 100})).json()
        assert len(body["_embedded"]["orders"]) == 5

    await eventually(five_visible)
    seen: list[int] = []
    href: str | None = f"/v1/orders?accountId={account}&size=2"
    while href:
        body = (await http.get(href)).json()
        seen += [o["orderId"] for o in body["_embedded"]["orders"]]
        href = body["_links"].get("next", {}).get("href")
        assert len(seen) <= 5
    assert sorted(seen) == sorted(created)


async def test_links_honour_forwarded_headers(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    path = f"/v1/orders/{order['orderId']}"
    proxied = await http.get(
        path,
        headers={
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "orders.example.com",
            "X-Forwarded-Prefix": "/api",
        },
    )
    assert proxied.json()["_links"]["self"]["href"] == f"https://orders.example.com/api{path}"
    rfc7239 = await http.get(
        path, headers={"Forwarded": 'for=1.2.3.4;host="shop.test:8443";proto=https'}
    )
    assert rfc7239.json()["_links"]["commands"]["href"] == f"https://shop.test:8443{path}/commands"
    by_host = await http.get(path, headers={"Host": "api.internal:9000"})
    assert by_host.json()["_links"]["self"]["href"] == f"http://api.internal:9000{path}"
    junk = await http.get(
        path, headers={"X-Forwarded-Host": "evil.test/<script>", "X-Forwarded-Proto": "gopher"}
    )
    assert junk.json()["_links"]["self"]["href"] == f"{str(http.base_url).rstrip('/')}{path}"


async def test_entry_point_and_docs(http: httpx.AsyncClient) -> None:
    index = (await http.get("/v1")).json()
    assert index["_links"]["orders"]["templated"] is True
    spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    assert {"post", "get"} <= paths["/v1/orders"].keys()
    # One operation per command, with the parameters of its row of the state machine.
    assign = paths["/v1/orders/{order_id}/commands/assignOrder"]
    assert {"put", "post"} <= assign.keys()
    assert [p["name"] for p in assign["put"]["parameters"] if p["in"] == "query"] == [
        "restaurantId"
    ]
    assert {"get", "post"} <= paths["/v1/orders/{order_id}/events"].keys()
    created = paths["/v1/orders"]["post"]["responses"]
    assert {"201", "400", "422", "503"} <= created.keys()
    assert "application/hal+json" in created["201"]["content"]
    assert "application/problem+json" in created["422"]["content"]
    docs = await http.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    # Served by the API itself, not a CDN: the docs work offline.
    assert "cdn" not in docs.text
    assets = await http.get("/docs-assets/swagger-ui-bundle.js")
    assert assets.status_code == 200 and len(assets.content) > 100_000
