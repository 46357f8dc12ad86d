"""Erasure (DELETE /v1/customers/{id}): afterwards none of the customer's personal values
can be read back through the API, the feed, the live stream, the database or Temporal; its
orders stay readable, and its email can be registered again."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import text
from temporalio.client import Client

from orderflow.database.engine import create_database_engine
from orderflow.database.outbox import newest_position
from orderflow.settings import Settings
from tests.api_keys import as_key, keyed_settings
from tests.helpers import (
    assert_problem,
    create_order,
    eventually,
    isolated_settings,
    running_api,
    workflow_gone,
)
from tests.raw_history import assert_only_ciphertext, raw_history
from tests.stream_client import stream_until_erased
from workflows.customer_names import (
    erase_request_id,
    register_request_id,
    request_workflow_id,
    update_request_id,
)
from workflows.customer_types import CustomerChanges, UpdateCustomerInput
from workflows.customer_workflows import UpdateCustomerWorkflow

# The second sweep of request histories comes this soon in these tests.
SWEEP_AGAIN_SECONDS = 1


@pytest_asyncio.fixture
async def erasing(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    """The API with a short second sweep, on the session workers' task queues."""
    own = isolated_settings(
        settings,
        orders_task_queue=settings.orders_task_queue,
        customer_erasure_sweep_again_seconds=SWEEP_AGAIN_SECONDS,
    )
    async with running_api(own) as http:
        yield http


def zelda() -> tuple[dict[str, Any], list[str]]:
    """A registration with recognisable values, and every value to look for afterwards."""
    tag = uuid.uuid4().hex[:8]
    email = f"zelda.{tag}@quartermain.example"
    body = {
        "firstName": "Zelda",
        "lastName": f"Quartermain{tag}",
        "email": email,
        "phone": "+44 7700 900123",
        "address": {
            "street": f"17 Cherry Tree Lane {tag}",
            "city": "Little Whinging",
            "postalCode": "KT22 7XQ",
        },
    }
    changes = {"phone": "+44 7700 900999", "address": {"street": f"42 Wallaby Way {tag}"}}
    values = [
        f"Quartermain{tag}",
        email,
        "900123",
        "900999",
        f"Cherry Tree Lane {tag}",
        f"Wallaby Way {tag}",
        "Little Whinging",
        "KT22 7XQ",
    ]
    return {"register": body, "update": changes}, values


def assert_none_in(values: list[str], seen: object) -> None:
    dumped = json.dumps(seen) if not isinstance(seen, str) else seen
    for value in values:
        assert value not in dumped, (value, dumped[:2000])


async def test_nothing_personal_can_be_read_back_after_erasure(
    erasing: httpx.AsyncClient, client: Client, settings: Settings, postgres_url: str
) -> None:
    http = erasing
    bodies, values = zelda()
    engine = create_database_engine(postgres_url)
    start = newest_position(engine)
    key = str(uuid.uuid4())
    registered = await http.post(
        "/v1/customers", json=bodies["register"], headers={"Idempotency-Key": key}
    )
    assert registered.status_code == 201, registered.text
    customer = registered.json()
    customer_id = customer["customerId"]
    update_key = str(uuid.uuid4())
    updated = await http.patch(
        f"/v1/customers/{customer_id}",
        json=bodies["update"],
        headers={"Idempotency-Key": update_key},
    )
    assert updated.status_code == 200, updated.text
    order = await create_order(http, customer_id)

    erased = await http.delete(f"/v1/customers/{customer_id}")
    assert erased.status_code == 204, erased.text
    assert erased.content == b""

    # The API: the customer is gone, its events are redacted and say so.
    assert_problem(await http.get(f"/v1/customers/{customer_id}"), 410, "customer-erased")
    patched = await http.patch(f"/v1/customers/{customer_id}", json={"firstName": "Zelda"})
    assert_problem(patched, 410, "customer-erased")
    found = await http.get("/v1/customers", params={"email": bodies["register"]["email"]})
    assert found.status_code == 200 and found.json()["_embedded"]["customers"] == []
    events = (await http.get(f"/v1/customers/{customer_id}/events")).json()
    listed = events["_embedded"]["events"]
    assert [e["type"] for e in listed] == [
        "CustomerRegistered",
        "CustomerUpdated",
        "CustomerErased",
    ]
    assert listed[1]["data"]["changedFields"] == ["phone", "address.street"]
    assert listed[2]["data"] == {"customerId": customer_id, "version": 3, "actor": "anonymous"}
    assert all(e["data"].get("erased", True) for e in listed)
    assert_none_in(values, events)
    # The orders stay.
    kept = await http.get(order["_links"]["self"]["href"])
    assert kept.status_code == 200 and kept.json()["accountId"] == customer_id
    assert kept.json()["status"] == "ORDER_CREATED"

    # The feed and the live stream replay only redacted events.
    feed = (await http.get("/v1/events", params={"after": start, "size": 500})).json()
    assert_none_in(values, feed)
    assert_none_in(values, await stream_until_erased(http, start, customer_id))

    # The database: the row keeps its id, version and times; nothing personal anywhere.
    with engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM customer WHERE id = :id"), {"id": customer_id}
        ).one()
        outbox = connection.execute(
            text("SELECT data FROM outbox_event WHERE source = :source"),
            {"source": f"/v1/customers/{customer_id}"},
        ).all()
    engine.dispose()
    personal = ("first_name", "last_name", "email", "email_key", "phone", "street", "city")
    assert all(row._mapping[name] is None for name in personal)
    assert row._mapping["erased_at"] is not None and row._mapping["version"] == 3
    assert_none_in(values, [list(item) for item in outbox])

    # Temporal: the registration's and the update's histories are gone; the erasure's own
    # holds nothing personal, even decrypted.
    for request_id in (register_request_id(key), update_request_id(customer_id, update_key)):
        await eventually(lambda r=request_id: workflow_gone(client, request_workflow_id(r)))
    erase_id = request_workflow_id(erase_request_id(customer_id))
    history = await client.get_workflow_handle(erase_id).fetch_history()
    assert_none_in(values, history.to_json())
    assert_only_ciphertext(await raw_history(settings, erase_id), values)

    # The email is free again.
    again = await http.post("/v1/customers", json=bodies["register"])
    assert again.status_code == 201 and again.json()["customerId"] != customer_id


async def test_erasing_again_changes_nothing_and_an_unknown_customer_is_404(
    erasing: httpx.AsyncClient, client: Client
) -> None:
    http = erasing
    body = {"firstName": "Zelda", "lastName": "Twice", "email": f"{uuid.uuid4()}@x.example"}
    key = {"Idempotency-Key": str(uuid.uuid4())}
    customer = await http.post("/v1/customers", json=body, headers=key)
    customer_id = customer.json()["customerId"]
    assert (await http.delete(f"/v1/customers/{customer_id}")).status_code == 204
    assert (await http.delete(f"/v1/customers/{customer_id}")).status_code == 204
    events = (await http.get(f"/v1/customers/{customer_id}/events")).json()
    types = [e["type"] for e in events["_embedded"]["events"]]
    assert types == ["CustomerRegistered", "CustomerErased"]
    status = await http.get(f"/v1/customers/requests/{erase_request_id(customer_id)}")
    assert status.json()["status"] == "completed"
    assert status.json()["customerId"] == customer_id
    assert_problem(await http.delete("/v1/customers/999999999999"), 404, "not-found")
    # An erased customer places no new orders.
    refused = await http.post("/v1/orders", json={"accountId": customer_id})
    assert_problem(refused, 422, "invalid-parameter")
    # A retried registration is told the customer is gone, and starts no new workflow (whose
    # history would hold the details again).
    registration = request_workflow_id(register_request_id(key["Idempotency-Key"]))
    await eventually(lambda: workflow_gone(client, registration))
    retried = await http.post("/v1/customers", json=body, headers=key)
    assert_problem(retried, 410, "customer-erased")
    await workflow_gone(client, registration)


async def test_an_update_on_its_way_during_erasure_is_swept_later(
    erasing: httpx.AsyncClient, client: Client, settings: Settings
) -> None:
    """An update workflow that starts after the first sweep (here: one no worker picks up,
    holding new details in its input) is deleted by the second sweep."""
    http = erasing
    customer = await http.post(
        "/v1/customers",
        json={"firstName": "Zelda", "lastName": "Late", "email": f"{uuid.uuid4()}@x.example"},
    )
    customer_id = customer.json()["customerId"]
    assert (await http.delete(f"/v1/customers/{customer_id}")).status_code == 204
    late = request_workflow_id(update_request_id(customer_id, "late"))
    changes = CustomerChanges({"phone": "+44 7700 900555"})
    await client.start_workflow(
        UpdateCustomerWorkflow.run,
        UpdateCustomerInput(update_request_id(customer_id, "late"), customer_id, changes),
        id=late,
        task_queue=f"nobody-{uuid.uuid4()}",
    )
    await eventually(lambda: workflow_gone(client, late), timeout=30)


async def test_erasure_needs_admin_or_customers_write(settings: Settings, worker: None) -> None:
    async with running_api(keyed_settings(settings)) as http:
        registered = await http.post(
            "/v1/customers",
            json={"firstName": "Zelda", "lastName": "Keyed", "email": f"{uuid.uuid4()}@x.ex"},
            headers=as_key("crm"),
        )
        customer_id = registered.json()["customerId"]
        for name in ("crm-reader", "shop", "feed"):
            refused = await http.delete(f"/v1/customers/{customer_id}", headers=as_key(name))
            assert_problem(refused, 403, "insufficient-scope")
        assert (await http.delete(f"/v1/customers/{customer_id}")).status_code == 401
        read = await http.get(f"/v1/customers/{customer_id}", headers=as_key("crm"))
        assert read.status_code == 200  # nothing was erased
        erased = await http.delete(f"/v1/customers/{customer_id}", headers=as_key("crm"))
        assert erased.status_code == 204
        events = await http.get(f"/v1/customers/{customer_id}/events", headers=as_key("crm"))
        assert events.json()["_embedded"]["events"][-1]["data"]["actor"] == "crm"
        again = await http.delete(f"/v1/customers/{customer_id}", headers=as_key("ops"))
        assert again.status_code == 204
