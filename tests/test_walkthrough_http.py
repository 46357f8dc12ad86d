"""The walk-through from the project's origin, over real HTTP, following links."""

from __future__ import annotations

import httpx

from tests.helpers import WALK, command, create_order, register_customer

HAL = "application/hal+json"


async def test_the_walk_through_as_written(http: httpx.AsyncClient) -> None:
    customer = await register_customer(http)
    account = customer["customerId"]
    response = await http.post("/v1/orders", json={"accountId": account})
    assert response.status_code == 201
    assert response.headers["content-type"] == HAL
    order = response.json()
    assert order["status"] == "ORDER_CREATED" and order["accountId"] == account
    assert response.headers["location"] == order["_links"]["self"]["href"]
    assert {"self", "commands", "events", "customer", "history"} <= order["_links"].keys()
    assert order["_links"]["customer"]["href"] == customer["_links"]["self"]["href"]
    assert (await http.get(order["_links"]["customer"]["href"])).json() == customer
    history = order["_links"]["history"]
    assert history["type"] == "text/html"
    assert f"/namespaces/default/workflows/order-{order['orderId']}/" in history["href"]
    assert history["href"].endswith("/history")

    commands = (await http.get(order["_links"]["commands"]["href"])).json()
    assign = commands["_links"]["assignOrder"]
    assert assign["href"].endswith("/commands/assignOrder{?restaurantId}") and assign["templated"]
    assert "prepareOrder" not in commands["_links"]

    assigned = await http.put(assign["href"].split("{")[0], params={"restaurantId": 101})
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "ORDER_ASSIGNED"
    assert assigned.json()["restaurantId"] == 101

    read = (await http.get(order["_links"]["self"]["href"])).json()
    assert read["status"] == "ORDER_ASSIGNED" and read["lastModified"] >= read["createdAt"]

    events = (await http.get(order["_links"]["events"]["href"])).json()
    listed = events["_embedded"]["orderEventList"]
    assert [e["type"] for e in listed] == ["ORDER_CREATED", "ORDER_ASSIGNED"]
    for event in listed:
        assert event["_links"]["order"]["href"] == order["_links"]["self"]["href"]
        one = await http.get(event["_links"]["self"]["href"])
        assert one.status_code == 200 and one.json() == event

    # …and on through the lifecycle, with location updates along the way.
    for name, params, status in WALK[1:]:
        moved = await command(http, order, "updateOrderLocation", lat=52.52, lon=13.405)
        assert moved.status_code == 200 and moved.json()["status"] == read["status"]
        response = await command(http, order, name, **params)
        assert response.status_code == 200, response.text
        read = response.json()
        assert read["status"] == status
    assert read["driverId"] == 7 and read["lat"] == 52.52 and read["lon"] == 13.405

    events = (await http.get(order["_links"]["events"]["href"], params={"size": 100})).json()
    types = [e["type"] for e in events["_embedded"]["orderEventList"]]
    assert types[-1] == "ORDER_DELIVERED" and types.count("ORDER_LOCATION_UPDATED") == 6
    assert [e["eventId"] for e in events["_embedded"]["orderEventList"]] == list(range(1, 15))
    final = (await http.get(order["_links"]["commands"]["href"])).json()
    assert final["commands"] == [] and set(final["_links"]) == {"self", "order"}


async def test_post_is_accepted_for_commands_too(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    href = order["_links"]["commands"]["href"] + "/cancelOrder"
    response = await http.post(href, params={"reason": "changed my mind"})
    assert response.status_code == 200 and response.json()["status"] == "ORDER_CANCELLED"
    events = (await http.get(order["_links"]["events"]["href"])).json()
    assert events["_embedded"]["orderEventList"][-1]["reason"] == "changed my mind"


async def test_update_order_status_over_http(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    response = await command(http, order, "updateOrderStatus", status="ORDER_PREPARED")
    assert response.status_code == 200 and response.json()["status"] == "ORDER_PREPARED"
    commands = (await http.get(order["_links"]["commands"]["href"])).json()["commands"]
    assert commands == ["assignDriver", "updateOrderLocation", "updateOrderStatus"]


async def test_events_are_paged_with_links(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    for i in range(4):
        await command(http, order, "updateOrderLocation", lat=i, lon=i)
    first = (await http.get(order["_links"]["events"]["href"], params={"size": 2})).json()
    assert first["page"] == {"size": 2, "totalElements": 5, "totalPages": 3, "number": 0}
    assert "prev" not in first["_links"]
    second = (await http.get(first["_links"]["next"]["href"])).json()
    assert [e["eventId"] for e in second["_embedded"]["orderEventList"]] == [3, 4]
    last = (await http.get(second["_links"]["next"]["href"])).json()
    assert [e["eventId"] for e in last["_embedded"]["orderEventList"]] == [5]
    assert (
        "next" not in last["_links"]
        and last["_links"]["prev"]["href"] == first["_links"]["next"]["href"]
    )


async def test_append_a_domain_event_directly(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    events_href = order["_links"]["events"]["href"]
    response = await http.post(events_href, json={"type": "ORDER_ASSIGNED", "restaurantId": 9})
    assert response.status_code == 201, response.text
    event = response.json()
    assert event["eventId"] == 2 and event["orderStatus"] == "ORDER_ASSIGNED"
    assert response.headers["location"] == event["_links"]["self"]["href"]
    assert (await http.get(order["_links"]["self"]["href"])).json()["restaurantId"] == 9

    not_now = await http.post(events_href, json={"type": "ORDER_DELIVERED"})
    assert not_now.status_code == 409
    assert not_now.json()["orderStatus"] == "ORDER_ASSIGNED"
    for body in (
        {"type": "ORDER_CREATED"},
        {"type": "ORDER_SHIPPED"},
        {"type": "DRIVER_ASSIGNED"},
        {"type": "ORDER_LOCATION_UPDATED", "lat": 100, "lon": 0},
        {"type": "ORDER_PREPARING", "colour": "red"},
    ):
        response = await http.post(events_href, json=body)
        assert response.status_code == 422, (body, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    events = (await http.get(events_href)).json()
    assert events["page"]["totalElements"] == 2
