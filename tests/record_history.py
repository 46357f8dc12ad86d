"""Record a history for the replay tests: ``python -m tests.record_history NAME`` (an order's
walk; a NAME starting with ``customer_erase`` records an erasure instead, see
``record_erasure``; ``customer_requests_vN`` records a registration and an update, as
``customer_register_vN`` and ``customer_update_vN``, see ``record_customer_requests``).

Walks one order through every status with location updates, a refused command and two with
values outside their domains (one the rules before those domains took), sent by two actors
(API keys' names; since v5), then writes its
history as JSON under tests/histories/. Record a new file (never overwrite an
old one) when the workflow changes, so running orders of every version stay replayable.

Recorded histories are in plaintext on purpose, so a reviewer can read them: the replay
tests replay them through the service's encrypting converter, which reads payloads that
were written before encryption as they are (running orders from then keep working).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from temporalio.client import Client, WorkflowHistory
from temporalio.converter import DataConverter

from api.orders.options import OrderStartOptions
from api.orders.service import OrderService
from api.orders.temporal import OrderWorkflows
from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.settings import Settings
from tests.helpers import WALK, running_worker
from workflows.customer_erasure import EraseCustomerWorkflow
from workflows.customer_names import (
    erase_request_id,
    register_request_id,
    request_workflow_id,
    sweep_workflow_id,
    update_request_id,
)
from workflows.customer_types import (
    CustomerChanges,
    CustomerDetails,
    EraseCustomerInput,
    RegisterCustomerInput,
    UpdateCustomerInput,
)
from workflows.customer_workflows import RegisterCustomerWorkflow, UpdateCustomerWorkflow
from workflows.order_names import order_workflow_id

HISTORIES = Path(__file__).parent / "histories"


async def record_walk(client: Client, order_id: int, database_url: str) -> WorkflowHistory:
    """Walk order ``order_id`` through its lifecycle on ``client`` and return its history."""
    settings = Settings(
        _env_file=None,
        orders_task_queue=f"record-{uuid.uuid4()}",
        database_url=database_url,
        encryption=False,  # the worker runs on ``client``, whose converter decides
    )
    service = OrderService(OrderWorkflows(client, OrderStartOptions.from_settings(settings)))
    async with running_worker(client, settings):
        orders = service.workflows
        await orders.start(order_id, 1234, 1_700_000_000_000, fresh=True, actor="shop")
        await orders.send(order_id, "prepareOrder", "refused-too-early", {}, actor="shop")
        beyond = {"restaurantId": 2**63}
        await orders.send(order_id, "assignOrder", "beyond-bigint", beyond, actor="shop")
        lenient = {"restaurantId": " 101"}
        await orders.send(order_id, "assignOrder", "lenient-number", lenient, actor="shop")
        for step, (name, params, _) in enumerate(WALK):
            location = {"lat": 52.5 + step / 100, "lon": 13.4}
            await orders.send(order_id, "updateOrderLocation", f"loc-{step}", location, actor="gps")
            await orders.send(order_id, name, f"step-{step}", params, actor="shop")
        await client.get_workflow_handle(order_workflow_id(order_id)).result()
    return await client.get_workflow_handle(order_workflow_id(order_id)).fetch_history()


def _customer_settings(database_url: str) -> Settings:
    """Task queues of their own: one client runs one worker per queue."""
    return Settings(
        _env_file=None,
        orders_task_queue=f"record-{uuid.uuid4()}",
        customers_task_queue=f"record-customers-{uuid.uuid4()}",
        database_url=database_url,
        encryption=False,  # the worker runs on ``client``, whose converter decides
    )


async def _register_and_update(client: Client, queue: str) -> tuple[int, str, str]:
    """Register a made-up customer and change its phone number (a customers worker runs
    on ``queue``): the customer's id and both requests' workflow ids."""
    details = CustomerDetails("Ada", "Lovelace", f"ada-{uuid.uuid4()}@example.com")
    request_id = register_request_id(str(uuid.uuid4()))
    registered = await client.execute_workflow(
        RegisterCustomerWorkflow.run,
        RegisterCustomerInput(request_id, details, actor="crm"),
        id=request_workflow_id(request_id),
        task_queue=queue,
    )
    assert registered.customer is not None
    customer_id = registered.customer.customer_id
    update_id = update_request_id(customer_id, "phone")
    changes = CustomerChanges({"phone": "+44 20 7946 0000"})
    await client.execute_workflow(
        UpdateCustomerWorkflow.run,
        UpdateCustomerInput(update_id, customer_id, changes, actor="crm"),
        id=request_workflow_id(update_id),
        task_queue=queue,
    )
    return customer_id, request_workflow_id(request_id), request_workflow_id(update_id)


async def record_customer_requests(
    client: Client, database_url: str
) -> tuple[WorkflowHistory, WorkflowHistory]:
    """Register a made-up customer and update it; return both requests' histories (the
    made-up details are in them, in plaintext)."""
    settings = _customer_settings(database_url)
    async with running_worker(client, settings, customers=True):
        _, register_id, update_id = await _register_and_update(
            client, settings.customers_task_queue
        )
    register = await client.get_workflow_handle(register_id).fetch_history()
    update = await client.get_workflow_handle(update_id).fetch_history()
    return register, update


async def record_erasure(client: Client, database_url: str) -> WorkflowHistory:
    """Register a customer, update it, erase it; return the erasure's history (ids and
    counts only: nothing personal to keep out of the file)."""
    settings = _customer_settings(database_url)
    queue = settings.customers_task_queue
    async with running_worker(client, settings, customers=True):
        customer_id, _, _ = await _register_and_update(client, queue)
        erase_id = request_workflow_id(erase_request_id(customer_id))
        await client.execute_workflow(
            EraseCustomerWorkflow.run,
            EraseCustomerInput(customer_id, actor="ops", sweep_again_seconds=0),
            id=erase_id,
            task_queue=queue,
        )
        sweep = client.get_workflow_handle(sweep_workflow_id(customer_id))
        await sweep.result()  # the worker stops only once the second sweep is done
        return await client.get_workflow_handle(erase_id).fetch_history()


async def main(name: str) -> None:
    from tests.conftest import start_dev_server

    if name.startswith("customer_requests_"):
        version = name.removeprefix("customer_requests_")
        targets = [HISTORIES / f"customer_{kind}_{version}.json" for kind in ("register", "update")]
    else:
        targets = [HISTORIES / f"{name}.json"]
    for target in targets:
        if target.exists():
            raise SystemExit(f"{target} exists: record under a new name")
    env = await start_dev_server(converter=DataConverter.default)
    try:
        with tempfile.TemporaryDirectory() as folder:
            database_url = f"sqlite:///{folder}/orderflow.db"
            upgrade(create_database_engine(database_url))
            histories: tuple[WorkflowHistory, ...]
            if name.startswith("customer_erase"):
                histories = (await record_erasure(env.client, database_url),)
            elif name.startswith("customer_requests_"):
                histories = await record_customer_requests(env.client, database_url)
            else:
                histories = (await record_walk(env.client, 1, database_url),)
        for target, history in zip(targets, histories, strict=True):
            target.write_text(history.to_json())
            print(f"wrote {target}")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "order_walkthrough_v1"))
