"""Hostile input over real HTTP: out-of-range integers, repeated or loosely written
parameters. Each is a clear 404 or 422 problem, never a 500, and changes nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem, command, create_order, register_customer

TOO_BIG = 2**63  # one past the largest id (BIGINT)
LARGEST = 2**63 - 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/v1/orders/{TOO_BIG}"),
        ("GET", f"/v1/orders/{TOO_BIG}/commands"),
        ("PUT", f"/v1/orders/{TOO_BIG}/commands/prepareOrder"),
        ("POST", f"/v1/orders/{TOO_BIG}/commands/prepareOrder"),
        ("GET", f"/v1/orders/{TOO_BIG}/events"),
        ("GET", f"/v1/orders/1/events/{TOO_BIG}"),
        ("GET", f"/v1/customers/{TOO_BIG}"),
        ("GET", f"/v1/customers/{TOO_BIG}/events"),
        ("GET", "/v1/orders/0"),
        ("GET", "/v1/orders/-1"),
        ("GET", "/v1/orders/1_0"),
        ("GET", "/v1/orders/+1"),
        ("GET", "/v1/orders/%201"),
        ("GET", "/v1/customers/1_0"),
    ],
)
async def test_ids_out_of_range_in_a_path_name_nothing(
    http: httpx.AsyncClient, method: str, path: str
) -> None:
    assert_problem(await http.request(method, path), 404, "not-found")


def invalid(response: httpx.Response, *names: str) -> dict[str, Any]:
    body = assert_problem(response, 422, "invalid-parameter")
    assert sorted({e["name"] for e in body["errors"]}) == sorted(names), body
    return body


async def test_out_of_range_numbers_in_queries_and_bodies(http: httpx.AsyncClient) -> None:
    invalid(await http.post("/v1/orders", json={"accountId": TOO_BIG}), "accountId")
    invalid(await http.get("/v1/events", params={"after": TOO_BIG}), "after")
    customer = await register_customer(http)
    events = customer["_links"]["events"]["href"]
    invalid(await http.get(events, params={"page": LARGEST // 500 + 1}), "page")
    invalid(await http.get(events, params={"page": TOO_BIG}), "page")
    invalid(await http.get("/v1/orders", params={"accountId": TOO_BIG}), "accountId")
    order = await create_order(http, customer["customerId"])
    invalid(await http.get(order["_links"]["events"]["href"], params={"page": 2**62}), "page")
    invalid(await command(http, order, "assignOrder", restaurantId=TOO_BIG), "restaurantId")
    # The largest values are fine.
    assert (await http.get("/v1/events", params={"after": LARGEST})).status_code == 200
    assert (await http.get(events, params={"page": LARGEST // 500})).status_code == 200


async def test_a_repeated_parameter_is_ambiguous(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    commands = order["_links"]["commands"]["href"]
    response = await http.put(f"{commands}/assignOrder?restaurantId=1&restaurantId=2")
    invalid(response, "restaurantId")
    response = await http.put(f"{commands}/updateOrderLocation?lat=1&lon=2&lon=3")
    invalid(response, "lon")
    invalid(await http.get("/v1/events?limit=1&limit=2"), "limit")
    invalid(await http.get(order["_links"]["events"]["href"] + "?size=1&size=2"), "size")
    invalid(await http.get("/v1/orders?accountId=1&accountId=2"), "accountId")
    # A list-typed parameter is meant to repeat.
    feed = await http.get("/v1/events?type=OrderCreated&type=OrderAssigned&limit=1")
    assert feed.status_code == 200, feed.text
    assert (await http.get(order["_links"]["self"]["href"])).json()["status"] == "ORDER_CREATED"


@pytest.mark.parametrize(
    "raw", ["1_0", "inf", "-inf", "nan", "0x10", " 10", "10 ", "+10", "1e1x", ""]
)
async def test_numbers_are_parsed_strictly_in_commands(http: httpx.AsyncClient, raw: str) -> None:
    order = await create_order(http)
    commands = order["_links"]["commands"]["href"]
    invalid(await http.put(f"{commands}/updateOrderLocation", params={"lat": raw, "lon": 1}), "lat")
    invalid(await http.put(f"{commands}/assignOrder", params={"restaurantId": raw}), "restaurantId")
    events = (await http.get(order["_links"]["events"]["href"])).json()
    assert events["page"]["totalElements"] == 1


@pytest.mark.parametrize("raw", ["1_0", "0x10", " 10", "+10", "1e1", "10.0", "1 0"])
async def test_numbers_are_parsed_strictly_everywhere(http: httpx.AsyncClient, raw: str) -> None:
    invalid(await http.get("/v1/events", params={"limit": raw}), "limit")
    invalid(await http.get("/v1/orders", params={"size": raw}), "size")


async def test_unknown_parameters_on_commands(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    invalid(await command(http, order, "prepareOrder", restaurantId=1), "restaurantId")
    invalid(await command(http, order, "assignOrder", restaurantId=1, extra="x"), "extra")


async def test_strictly_written_numbers_still_work(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    response = await command(http, order, "updateOrderLocation", lat="-12.5", lon="1e2")
    assert response.status_code == 200, response.text
    assert (response.json()["lat"], response.json()["lon"]) == (-12.5, 100.0)
    response = await command(http, order, "assignOrder", restaurantId="101")
    assert response.status_code == 200 and response.json()["restaurantId"] == 101


async def test_an_overlong_idempotency_key_is_invalid(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    headers = {"Idempotency-Key": "k" * 256}
    response = await http.put(
        order["_links"]["commands"]["href"] + "/assignOrder?restaurantId=1", headers=headers
    )
    invalid(response, "Idempotency-Key")
    invalid(
        await http.post("/v1/orders", json={"accountId": 1}, headers=headers), "Idempotency-Key"
    )
