"""A command answer never lies: 200 applied, 409 refused, 202 recorded with its outcome not
known yet (and a resource that tells it later), 503 only when nothing was recorded."""

from __future__ import annotations

import asyncio

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from orderflow.settings import Settings
from tests.helpers import (
    assert_problem,
    create_order,
    eventually,
    isolated_settings,
    register_customer,
    running_api,
    running_worker,
)
from tests.tcp_proxy import TcpProxy
from workflows.order_names import order_workflow_id


async def test_a_recorded_command_whose_order_cannot_answer_is_202_then_readable(
    client: Client, settings: Settings, http: httpx.AsyncClient
) -> None:
    """No worker holds the order's queue (as when its worker has crashed): the command is
    recorded, its outcome cannot be known in time, so the answer is 202 with where to read
    it — never 503 — and once a worker is back the outcome resource says applied."""
    account = (await register_customer(http))["customerId"]
    own = isolated_settings(settings, order_command_wait_seconds=1)
    async with running_api(own) as api:
        order = await create_order(api, account)  # a fresh order needs no worker to answer
        assign = order["_links"]["commands"]["href"] + "/assignOrder"
        key = {"Idempotency-Key": f"assign-{order['orderId']}"}
        response = await api.put(assign, params={"restaurantId": 5}, headers=key)
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["status"] == "pending" and body["commandId"] == key["Idempotency-Key"]
        outcome_href = response.headers["location"]
        assert outcome_href == body["_links"]["outcome"]["href"]
        pending = await api.get(outcome_href)
        assert pending.status_code == 200 and pending.json()["status"] == "pending"

        async with running_worker(client, own):

            async def applied() -> httpx.Response:
                found = await api.get(outcome_href)
                assert found.json()["status"] == "applied", found.text
                return found

            outcome = (await eventually(applied, timeout=30)).json()
            assert outcome["command"] == "assignOrder"
            assert outcome["_embedded"]["order"]["status"] == "ORDER_ASSIGNED"
            assert outcome["_embedded"]["event"]["restaurantId"] == 5
            # The retry with the same key gets the real outcome, and changes nothing.
            again = await api.put(assign, params={"restaurantId": 5}, headers=key)
            assert again.status_code == 200 and again.json()["status"] == "ORDER_ASSIGNED"
            events = (await api.get(order["_links"]["events"]["href"])).json()
            assert [e["type"] for e in events["_embedded"]["orderEventList"]] == [
                "ORDER_CREATED",
                "ORDER_ASSIGNED",
            ]


async def test_a_signal_whose_answer_is_lost_is_202_never_500(
    settings: Settings, http: httpx.AsyncClient
) -> None:
    """Temporal records the signal but its answer never reaches the API, nor does the
    answer of the query that would tell: the command may have been recorded, so the answer
    is 202 with where to read its outcome, on the asynchronous and the synchronous path
    alike (the soak found 500s here, from signals timing out under load)."""
    order = await create_order(http)
    location = f"/v1/orders/{order['orderId']}/commands/updateOrderLocation"  # on `api`
    host, port = settings.temporal_address.rsplit(":", 1)
    async with TcpProxy(host, int(port)) as relay:
        own = isolated_settings(
            settings,
            temporal_address=f"127.0.0.1:{relay.port}",
            temporal_rpc_timeout_seconds=1,
            order_command_wait_seconds=1,
        )
        async with running_api(own) as api:
            await relay.hold_answers()
            for n, prefer in enumerate(({"Prefer": "respond-async"}, {})):
                params = {"lat": 10 + n, "lon": 20}
                answer = await api.put(location, params=params, headers=prefer)
                assert answer.status_code == 202, answer.text
            await relay.restore()

    async def both_applied() -> None:
        events = (await http.get(order["_links"]["events"]["href"])).json()
        lats = [e.get("lat") for e in events["_embedded"]["orderEventList"]]
        assert lats[-2:] == [10, 11], lats

    await eventually(both_applied, timeout=30)


async def test_a_recorded_command_is_202_when_temporal_goes_away_before_its_outcome(
    client: Client, settings: Settings, http: httpx.AsyncClient
) -> None:
    """The signal is recorded, then Temporal cannot be reached while the API waits for the
    outcome: the answer is 202, never 503 (the soak found 503s here, from queries failing
    while the order worker was overloaded)."""
    account = (await register_customer(http))["customerId"]
    host, port = settings.temporal_address.rsplit(":", 1)
    async with TcpProxy(host, int(port)) as relay:
        # No worker polls this queue: the outcome's query waits for one, after the signal.
        own = isolated_settings(settings, temporal_address=f"127.0.0.1:{relay.port}")
        async with running_api(own) as api:
            order = await create_order(api, account)
            assign = f"/v1/orders/{order['orderId']}/commands/assignOrder"
            sending = asyncio.create_task(api.put(assign, params={"restaurantId": 5}))
            handle = client.get_workflow_handle(order_workflow_id(order["orderId"]))

            async def signaled() -> None:
                kinds = [event.event_type async for event in handle.fetch_history_events()]
                assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in kinds

            await eventually(signaled, timeout=10)
            await relay.cut()
            answer = await sending
            assert answer.status_code == 202, answer.text
            assert answer.json()["status"] == "pending"


async def test_a_signal_recorded_before_its_connection_broke_is_never_503(
    client: Client, settings: Settings, http: httpx.AsyncClient
) -> None:
    """Temporal records the signal, then the connection breaks before its answer and
    Temporal stays unreachable: the command may well have been recorded (here it was), so
    the answer is 202 with where to read its outcome, not 503 "not recorded" (the soak
    found this under load)."""
    order = await create_order(http)
    location = f"/v1/orders/{order['orderId']}/commands/updateOrderLocation"  # on `api`
    handle = client.get_workflow_handle(order_workflow_id(order["orderId"]))
    host, port = settings.temporal_address.rsplit(":", 1)
    for n, prefer in enumerate(({"Prefer": "respond-async"}, {})):
        async with TcpProxy(host, int(port)) as relay:
            own = isolated_settings(settings, temporal_address=f"127.0.0.1:{relay.port}")
            async with running_api(own) as api:
                await relay.hold_answers()
                params = {"lat": 30 + n, "lon": 20}
                sending = asyncio.create_task(api.put(location, params=params, headers=prefer))

                async def signaled(count: int = n + 1) -> None:
                    kinds = [event.event_type async for event in handle.fetch_history_events()]
                    signals = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED
                    assert kinds.count(signals) == count

                await eventually(signaled, timeout=10)
                await relay.cut()  # the answer is lost, and Temporal stays out of reach
                answer = await sending
                assert answer.status_code == 202, answer.text
                assert answer.json()["status"] == "pending"

    events = (await http.get(order["_links"]["events"]["href"])).json()
    lats = [e.get("lat") for e in events["_embedded"]["orderEventList"]]
    assert lats[-2:] == [30, 31], lats


async def test_a_create_with_a_key_is_answered_without_waiting_for_a_worker(
    client: Client, settings: Settings, http: httpx.AsyncClient
) -> None:
    """The order is recorded once its workflow has started: with an Idempotency-Key too,
    the create is answered from the start alone (201), not after the order's worker has
    run it, which under load can outlast the call's bound and turn into a 503. A retry
    with the key reads the order back."""
    account = (await register_customer(http))["customerId"]
    own = isolated_settings(settings)  # a task queue no worker polls yet
    key = {"Idempotency-Key": f"create-{own.orders_task_queue}"}
    async with running_api(own) as api:
        created = await api.post("/v1/orders", json={"accountId": account}, headers=key)
        assert created.status_code == 201, created.text
        assert created.json()["status"] == "ORDER_CREATED"
        async with running_worker(client, own):
            again = await api.post("/v1/orders", json={"accountId": account}, headers=key)
            assert again.status_code == 201, again.text
            assert again.json()["orderId"] == created.json()["orderId"]


async def test_the_outcome_of_a_refused_command_says_why(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    commands = order["_links"]["commands"]["href"]
    key = {"Idempotency-Key": f"too-early-{order['orderId']}"}
    assert_problem(
        await http.put(commands + "/prepareOrder", headers=key), 409, "command-not-allowed"
    )
    outcome = await http.get(f"{order['_links']['self']['href']}/outcomes/{key['Idempotency-Key']}")
    assert outcome.status_code == 200
    body = outcome.json()
    assert body["status"] == "refused" and body["refusal"] == "command-not-allowed"
    assert "ORDER_CREATED" in body["detail"]


async def test_an_unknown_command_id_has_no_outcome(http: httpx.AsyncClient) -> None:
    order = await create_order(http)
    missing = await http.get(f"{order['_links']['self']['href']}/outcomes/never-sent")
    assert_problem(missing, 404, "not-found")
