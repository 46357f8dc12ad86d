"""Test helpers: bounded waits, a real uvicorn server, order walks."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from api.main import create_app
from orderflow.bench.stack import free_port
from orderflow.database.engine import DatabaseTimeouts, create_database_engine
from orderflow.encryption import new_key_entry
from orderflow.settings import Settings
from tests.contract import ResponseContract
from worker import build_customer_worker, build_worker

T = TypeVar("T")
# The suite encrypts every payload, as production does: one key ring for the session, handed
# to the processes it starts through ENCRYPTION_KEYS.
TEST_ENCRYPTION_KEYS = new_key_entry("tests-1")
# Every API the suite starts holds its responses against its OpenAPI document.
CONTRACTS: list[ResponseContract] = []

WALK = [
    ("assignOrder", {"restaurantId": 101}, "ORDER_ASSIGNED"),
    ("prepareOrder", {}, "ORDER_PREPARING"),
    ("orderReady", {}, "ORDER_PREPARED"),
    ("assignDriver", {"driverId": 7}, "DRIVER_ASSIGNED"),
    ("orderPickedUp", {}, "ORDER_PICKED_UP"),
    ("deliverOrder", {}, "ORDER_DELIVERING"),
    ("orderDelivered", {}, "ORDER_DELIVERED"),
]


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.05
) -> T:
    """Retry ``check`` until it returns without AssertionError, for at most ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        await asyncio.sleep(interval)


@asynccontextmanager
async def bounded(step: str, seconds: float) -> AsyncIterator[None]:
    """Fail naming ``step`` if it takes more than ``seconds``: a hang says where it is."""
    try:
        async with asyncio.timeout(seconds):
            yield
    except TimeoutError:
        raise AssertionError(f"{step} took more than {seconds:g} s") from None


async def workflow_gone(client: Client, workflow_id: str) -> None:
    """Assert that Temporal no longer has the workflow (deleted, or past retention)."""
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        assert error.status == RPCStatusCode.NOT_FOUND, error
        return
    raise AssertionError(f"{workflow_id} is still in Temporal")


def wait_until(check: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.1) -> None:
    """Poll ``check`` (synchronously) until it is true, for at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"condition not met within {timeout:g}s"
        time.sleep(interval)


_next_id = int(time.time() * 1000) % 10_000_000 * 100


def new_order_id() -> int:
    """Ids these tests make up themselves (the API's come from the database)."""
    global _next_id
    _next_id += 1
    return _next_id


def assert_problem(response: httpx.Response, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"] == f"urn:orderflow:problem:{kind}"
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["instance"] == response.request.url.path
    return body


def head_revision() -> str:
    """The newest schema revision (the one a migrated database is at)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from orderflow.database.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def isolated_settings(base: Settings, **changes: Any) -> Settings:
    """A validated copy of ``base`` with a fresh task queue (so tests never share a worker
    by accident). Every field is passed explicitly, so the environment cannot leak in."""
    fields = {**base.model_dump(), "orders_task_queue": f"orders-{uuid.uuid4()}", **changes}
    return Settings(_env_file=None, **fields)


@asynccontextmanager
async def running_worker(
    client: Client, settings: Settings, *, customers: bool = False
) -> AsyncIterator[Worker]:
    """The order worker for ``settings`` (and the customer worker), as worker.py builds them.

    One client may have one worker per task queue: only one test-wide customer worker.
    """
    engine = create_database_engine(settings.database_url, DatabaseTimeouts.for_workers(settings))
    with ThreadPoolExecutor(settings.worker_max_concurrent_activities) as executor:
        async with AsyncExitStack() as stack:
            worker = await stack.enter_async_context(
                build_worker(client, settings, engine, executor)
            )
            if customers:
                await stack.enter_async_context(
                    build_customer_worker(client, settings, engine, executor)
                )
            yield worker
    engine.dispose()


@asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app behind a real uvicorn server on a free port, and an HTTP client for it."""
    app = create_app(settings)
    contract = ResponseContract(app.openapi())
    CONTRACTS.append(contract)

    async def check_contract(response: httpx.Response) -> None:
        if response.headers.get("content-type", "").startswith("text/event-stream"):
            return  # a live stream never ends: nothing to read whole
        await response.aread()
        contract.check(response)

    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=free_port(),
        log_level="warning",
        timeout_graceful_shutdown=2,  # event streams stay open until cut
        server_header=False,  # as `orderflow api` runs it
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            if task.done():
                task.result()
            assert time.monotonic() < deadline, "uvicorn did not start within 30 s"
            await asyncio.sleep(0.01)
        base_url = f"http://127.0.0.1:{config.port}"
        hooks = {"response": [check_contract]}
        async with httpx.AsyncClient(base_url=base_url, timeout=30, event_hooks=hooks) as http:
            yield http
    finally:
        server.should_exit = True
        async with bounded("stopping uvicorn", 30):
            await task


async def register_customer(http: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    """Register a customer with a unique email (and any ``fields`` given)."""
    body = {"firstName": "Ada", "lastName": "Lovelace", "email": f"ada-{uuid.uuid4()}@example.com"}
    response = await http.post("/v1/customers", json={**body, **fields})
    assert response.status_code == 201, response.text
    customer: dict[str, Any] = response.json()
    return customer


async def create_order(http: httpx.AsyncClient, account_id: int | None = None) -> dict[str, Any]:
    """Place an order for ``account_id``, or for a newly registered customer."""
    if account_id is None:
        account_id = (await register_customer(http))["customerId"]
    response = await http.post("/v1/orders", json={"accountId": account_id})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def command(
    http: httpx.AsyncClient, order: dict[str, Any], name: str, **params: Any
) -> httpx.Response:
    """PUT a command, following the order's commands link as a client would."""
    href = order["_links"]["commands"]["href"] + f"/{name}"
    return await http.put(href, params=params)


async def decided_outcome(
    http: httpx.AsyncClient, location: str, *, timeout: float
) -> dict[str, Any]:
    """The outcome a 202's ``Location`` tells once it is decided. A 503 while reading is
    read again, as a client would (a read is safe to repeat; the machine may be loaded)."""

    async def decided() -> dict[str, Any]:
        response = await http.get(location)
        assert response.status_code in (200, 503), response.text
        outcome: dict[str, Any] = response.json()
        assert response.status_code == 200 and outcome["status"] != "pending"
        return outcome

    return await eventually(decided, timeout=timeout)


async def command_applied(
    http: httpx.AsyncClient, order: dict[str, Any], name: str, **params: Any
) -> dict[str, Any]:
    """PUT a command that must apply, and return the order after it. A 202 (recorded, outcome
    not known in time: e.g. a worker went away) is followed to its outcome resource."""
    response = await command(http, order, name, **params)
    if response.status_code == 200:
        applied: dict[str, Any] = response.json()
        return applied
    assert response.status_code == 202, response.text
    outcome = await decided_outcome(http, response.headers["location"], timeout=60)
    assert outcome["status"] == "applied", outcome
    order_now: dict[str, Any] = outcome["_embedded"]["order"]
    return order_now
