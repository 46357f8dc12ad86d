"""Nothing is accepted that can never complete: a customer request the database could never
store answers 422 (an id out of range 404) at once and starts no workflow; one the database
refuses all the same ends as `failed` on its status resource, never pending forever."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.worker import Replayer

from orderflow.database.engine import create_database_engine
from orderflow.settings import Settings
from tests.helpers import (
    assert_problem,
    eventually,
    isolated_settings,
    register_customer,
    running_api,
)
from worker import build_customer_worker
from workflows.customer_names import request_workflow_id
from workflows.customer_workflows import RegisterCustomerWorkflow, UpdateCustomerWorkflow

BEYOND_64_BITS = 2**63
BEYOND_32_BITS = 2**31
# Values a column cannot hold, or no customer text may: each is refused before any workflow.
UNSTORABLE: list[tuple[dict[str, Any], str]] = [
    ({"firstName": "a\u0000b"}, "firstName"),
    ({"lastName": "Hop\u0007per"}, "lastName"),
    ({"firstName": "Grace\u001f"}, "firstName"),  # a control character strip() would eat
    ({"lastName": "Hop\u0085per"}, "lastName"),
    ({"email": "gr\u0000ace@example.com"}, "email"),
    ({"email": "gr\u0001ace@example.com"}, "email"),
    ({"email": "\u0130" * 200 + "@example.com"}, "email"),  # 412 characters once lower-cased
    ({"phone": "+" + "1" * 32}, "phone"),  # the column holds 32
    ({"phone": "+1 202\u0000555 0100"}, "phone"),
    ({"address": {"street": "1 Navy Way\u0000"}}, "address.street"),
    ({"address": {"city": "Arling\nton"}}, "address.city"),
    ({"address": {"postalCode": "2" * 21}}, "address.postalCode"),  # the column holds 20
    ({"address": {"country": "U" * 101}}, "address.country"),  # the column holds 100
]


def unique_email() -> str:
    return f"domains-{uuid.uuid4().hex[:12]}@example.com"


async def assert_no_request(http: httpx.AsyncClient, request_id: str) -> None:
    """No workflow was started for ``request_id``: its status resource does not exist."""
    assert_problem(await http.get(f"/v1/customers/requests/{request_id}"), 404, "not-found")


@pytest.mark.parametrize(("change", "bad"), UNSTORABLE, ids=[bad for _, bad in UNSTORABLE])
async def test_a_registration_that_could_never_be_stored_is_422_at_once(
    http: httpx.AsyncClient, change: dict[str, Any], bad: str
) -> None:
    key = str(uuid.uuid4())
    body = {"firstName": "Grace", "lastName": "Hopper", "email": unique_email(), **change}
    response = await http.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
    problem = assert_problem(response, 422, "invalid-parameter")
    assert bad in [e["name"] for e in problem["errors"]]
    await assert_no_request(http, f"register-{key}")


@pytest.mark.parametrize(("change", "bad"), UNSTORABLE, ids=[bad for _, bad in UNSTORABLE])
async def test_an_update_that_could_never_be_stored_is_422_at_once(
    http: httpx.AsyncClient, change: dict[str, Any], bad: str
) -> None:
    customer = await register_customer(http)
    key = str(uuid.uuid4())
    href = customer["_links"]["self"]["href"]
    response = await http.patch(href, json=change, headers={"Idempotency-Key": key})
    problem = assert_problem(response, 422, "invalid-parameter")
    assert bad in [e["name"] for e in problem["errors"]]
    await assert_no_request(http, f"update-{customer['customerId']}-{key}")
    assert (await http.get(href)).json() == customer


@pytest.mark.parametrize("customer_id", ["0", str(BEYOND_64_BITS), str(2**64 + 1)])
async def test_a_customer_id_out_of_range_is_404_at_once(
    http: httpx.AsyncClient, customer_id: str
) -> None:
    key = str(uuid.uuid4())
    href = f"/v1/customers/{customer_id}"
    patched = await http.patch(href, json={"lastName": "X"}, headers={"Idempotency-Key": key})
    assert_problem(patched, 404, "not-found")
    await assert_no_request(http, f"update-{customer_id}-{key}")
    assert_problem(await http.get(href), 404, "not-found")
    assert_problem(await http.get(f"{href}/events"), 404, "not-found")


async def test_ids_past_32_bits_are_ids_like_any_other(http: httpx.AsyncClient) -> None:
    for customer_id in (BEYOND_32_BITS, 2**63 - 1):
        href = f"/v1/customers/{customer_id}"
        assert_problem(await http.patch(href, json={"lastName": "X"}), 404, "not-found")
        assert_problem(await http.get(href), 404, "not-found")
        assert_problem(await http.get(f"{href}/events"), 404, "not-found")
        assert_problem(await http.get(f"/v1/orders/{customer_id}"), 404, "not-found")
        placed = await http.post("/v1/orders", json={"accountId": customer_id})
        assert_problem(placed, 422, "invalid-parameter")


async def test_finding_an_email_no_customer_can_have_finds_none(http: httpx.AsyncClient) -> None:
    found = await http.get("/v1/customers", params={"email": "gr\u0000ace@example.com"})
    assert found.status_code == 200 and found.json()["_embedded"]["customers"] == []


# The database refuses what passes the API: a rule of its own (a real CHECK constraint).
REFUSED_NAME = "Refused-By-The-Database"


@pytest_asyncio.fixture
async def refusing_database(own_postgres_url: str) -> AsyncIterator[str]:
    raw = own_postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as connection:
        connection.execute(
            f"ALTER TABLE customer ADD CONSTRAINT refuses CHECK (last_name <> '{REFUSED_NAME}')"
        )
    yield own_postgres_url


async def test_a_request_the_database_refuses_ends_as_failed(
    client: Client, settings: Settings, refusing_database: str
) -> None:
    waiting = isolated_settings(
        settings, database_url=refusing_database, customers_task_queue=f"customers-{uuid.uuid4()}"
    )
    answering_at_once = isolated_settings(waiting, customer_request_wait_seconds=0)
    engine = create_database_engine(refusing_database)
    body = {"firstName": "Hedy", "lastName": REFUSED_NAME, "email": unique_email()}
    with ThreadPoolExecutor(waiting.worker_max_concurrent_activities) as executor:
        async with (
            build_customer_worker(client, waiting, engine, executor),
            running_api(waiting) as http,
            running_api(answering_at_once) as quick,
        ):
            # Finished within the wait: the request itself answers 422.
            key = str(uuid.uuid4())
            response = await http.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
            problem = assert_problem(response, 422, "invalid-parameter")
            assert "CheckViolation" in problem["detail"] and body["email"] not in problem["detail"]
            status = (await http.get(f"/v1/customers/requests/register-{key}")).json()
            assert status["status"] == "failed" and status["detail"] == problem["detail"]
            again = await http.post("/v1/customers", json=body, headers={"Idempotency-Key": key})
            assert_problem(again, 422, "invalid-parameter")
            # Failing is a history today's workflow code replays.
            handle = client.get_workflow_handle(request_workflow_id(f"register-{key}"))
            replayer = Replayer(
                workflows=[RegisterCustomerWorkflow, UpdateCustomerWorkflow],
                data_converter=client.data_converter,
            )
            await replayer.replay_workflow(await handle.fetch_history())

            # Answered 202 first: the status link says failed within a bounded wait.
            accepted = await quick.post("/v1/customers", json={**body, "email": unique_email()})
            assert accepted.status_code == 202, accepted.text
            href = accepted.headers["location"]

            async def failed() -> dict[str, Any]:
                status = await quick.get(href)
                assert status.status_code == 200 and status.json()["status"] == "failed"
                body: dict[str, Any] = status.json()
                return body

            status = await eventually(failed, timeout=15, interval=0.1)
            assert status["detail"] and "customerId" not in status

            # An update the database refuses: 422, and the customer is as it was.
            customer = await register_customer(http)
            href = customer["_links"]["self"]["href"]
            refused = await http.patch(href, json={"lastName": REFUSED_NAME})
            assert_problem(refused, 422, "invalid-parameter")
            assert (await http.get(href)).json() == customer
    engine.dispose()
