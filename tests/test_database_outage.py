"""Nothing is lost while the database is down: the request (a registration, an erasure) is
accepted (202), completes by itself once the database is back, and is written exactly once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.engine import make_url
from temporalio.client import Client

from orderflow.database import customers as customer_store
from orderflow.database.engine import create_database_engine
from orderflow.database.outbox import read_after
from orderflow.settings import Settings
from tests.helpers import eventually, isolated_settings, running_api
from tests.tcp_proxy import TcpProxy
from worker import build_customer_worker


@asynccontextmanager
async def customers_behind_a_relay(
    client: Client, settings: Settings, postgres_url: str
) -> AsyncIterator[tuple[TcpProxy, httpx.AsyncClient]]:
    """A customers worker and an API whose database is reached through a relay the test
    can cut, and an HTTP client for the API."""
    real = make_url(postgres_url)
    async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        own = isolated_settings(
            settings,
            database_url=through_proxy,
            customers_task_queue=f"customers-{uuid.uuid4()}",
            customer_request_wait_seconds=1,
        )
        engine = create_database_engine(through_proxy)
        try:
            with ThreadPoolExecutor(own.worker_max_concurrent_activities) as executor:
                async with (
                    build_customer_worker(client, own, engine, executor),
                    running_api(own) as http,
                ):
                    yield proxy, http
        finally:
            engine.dispose()


async def completed(http: httpx.AsyncClient, status_href: str) -> httpx.Response:
    """The request's status once it reads "completed" (bounded)."""

    async def read() -> httpx.Response:
        status = await http.get(status_href)
        assert status.json()["status"] == "completed", status.text
        return status

    return await eventually(read, timeout=60, interval=0.25)


async def test_a_registration_survives_a_database_outage(
    client: Client, settings: Settings, postgres_url: str
) -> None:
    email = f"outage-{uuid.uuid4().hex[:8]}@example.com"
    body = {"firstName": "Hedy", "lastName": "Lamarr", "email": email}
    async with customers_behind_a_relay(client, settings, postgres_url) as (proxy, http):
        await proxy.cut()
        accepted = await http.post("/v1/customers", json=body)
        assert accepted.status_code == 202, accepted.text
        status_href = accepted.headers["location"]
        assert accepted.json()["status"] == "pending"
        pending = await http.get(status_href)
        assert pending.status_code == 200 and pending.json()["status"] == "pending"
        # Reads of the database answer 503 meanwhile, not 500.
        down = await http.get("/v1/customers/1")
        assert down.status_code == 503 and down.headers["retry-after"]

        await proxy.restore()

        done = await completed(http, status_href)
        customer = await http.get(done.json()["_links"]["customer"]["href"])
        assert customer.status_code == 200 and customer.json()["email"] == email

    check = create_database_engine(postgres_url)
    found = customer_store.find_by_email(check, email)
    assert found is not None
    source = f"/v1/customers/{found.customer_id}"
    assert [e.type for e in read_after(check, 0, 100_000) if e.source == source] == [
        "CustomerRegistered"
    ]
    check.dispose()


async def test_an_erasure_survives_a_database_outage(
    client: Client, settings: Settings, postgres_url: str
) -> None:
    """DELETE while the database is down: 202 with a status link, and the erasure completes
    once it is back."""
    body = {"firstName": "Zelda", "lastName": "Outage", "email": f"{uuid.uuid4()}@x.example"}
    async with customers_behind_a_relay(client, settings, postgres_url) as (proxy, http):
        registered = await http.post("/v1/customers", json=body)
        assert registered.status_code == 201, registered.text
        customer_id = registered.json()["customerId"]
        await proxy.cut()
        accepted = await http.delete(f"/v1/customers/{customer_id}")
        assert accepted.status_code == 202, accepted.text
        status_href = accepted.headers["location"]
        assert accepted.json()["status"] == "pending"

        await proxy.restore()

        done = await completed(http, status_href)
        assert done.json()["customerId"] == customer_id
        gone = await http.get(done.json()["_links"]["customer"]["href"])
        assert gone.status_code == 410
        again = await http.delete(f"/v1/customers/{customer_id}")
        assert again.status_code == 204
