"""When Temporal (or the order worker) is out of reach the API answers 503 promptly, never 500."""

from __future__ import annotations

import time

import httpx

from orderflow.settings import Settings
from tests.conftest import start_dev_server
from tests.helpers import (
    create_order,
    free_port,
    isolated_settings,
    register_customer,
    running_api,
    running_worker,
)


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    assert response.json()["type"] == "urn:orderflow:problem:service-unavailable"


async def test_503_when_temporal_was_never_reachable(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    account = (await register_customer(http))["customerId"]
    dead = isolated_settings(settings, temporal_address=f"127.0.0.1:{free_port()}")
    async with running_api(dead) as down:
        started = time.monotonic()
        assert_unavailable(await down.post("/v1/orders", json={"accountId": account}))
        customer = {"firstName": "A", "lastName": "B", "email": "a@b.example"}
        assert_unavailable(await down.post("/v1/customers", json=customer))
        # An erasure that Temporal never recorded: nothing was erased.
        assert_unavailable(await down.delete(f"/v1/customers/{account}"))
        assert_unavailable(await down.get("/v1/orders/1"))
        assert_unavailable(await down.get("/v1/orders"))
        assert_unavailable(await down.put("/v1/orders/1/commands/prepareOrder"))
        assert_unavailable(await down.get("/v1/orders/1/events"))
        # Bounded by the client's retry budget, not hung (generous bound for a loaded CI box).
        assert time.monotonic() - started < 60
    assert (await http.get(f"/v1/customers/{account}")).status_code == 200


async def test_503_when_temporal_goes_away(settings: Settings, http: httpx.AsyncClient) -> None:
    account = (await register_customer(http))["customerId"]
    env = await start_dev_server()
    own = isolated_settings(settings, temporal_address=env.client.service_client.config.target_host)
    try:
        async with running_api(own) as http:
            async with running_worker(env.client, own):
                order = await create_order(http, account)
            await env.shutdown()
            assert_unavailable(await http.get(order["_links"]["self"]["href"]))
            assert_unavailable(await http.put(order["_links"]["commands"]["href"] + "/cancelOrder"))
    finally:
        await env.shutdown()


async def test_503_when_no_worker_answers(settings: Settings, http: httpx.AsyncClient) -> None:
    account = (await register_customer(http))["customerId"]
    lonely = isolated_settings(settings, temporal_rpc_timeout_seconds=1)
    async with running_api(lonely) as http:
        # Nobody polls this task queue: the order is placed, but cannot be read yet.
        created = await http.post("/v1/orders", json={"accountId": account})
        assert created.status_code == 201
        assert_unavailable(await http.get(created.headers["location"]))
