"""Nothing is lost while the database is down: the request (a registration, an erasure) is
accepted (202), completes by itself once the database is back, and is written exactly once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

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


async def test_a_registration_survives_a_database_outage(
    client: Client, settings: Settings, postgres_url: str
) -> None:
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
        email = f"outage-{uuid.uuid4().hex[:8]}@example.com"
        body = {"firstName": "Hedy", "lastName": "Lamarr", "email": email}
        with ThreadPoolExecutor(own.worker_max_concurrent_activities) as executor:
            async with (
                build_customer_worker(client, own, engine, executor),
                running_api(own) as http,
            ):
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

                async def completed() -> httpx.Response:
                    status = await http.get(status_href)
                    assert status.json()["status"] == "completed", status.text
                    return status

                done = await eventually(completed, timeout=60, interval=0.25)
                customer = await http.get(done.json()["_links"]["customer"]["href"])
                assert customer.status_code == 200 and customer.json()["email"] == email
        engine.dispose()

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
        body = {"firstName": "Zelda", "lastName": "Outage", "email": f"{uuid.uuid4()}@x.example"}
        with ThreadPoolExecutor(own.worker_max_concurrent_activities) as executor:
            async with (
                build_customer_worker(client, own, engine, executor),
                running_api(own) as http,
            ):
                registered = await http.post("/v1/customers", json=body)
                assert registered.status_code == 201, registered.text
                customer_id = registered.json()["customerId"]
                await proxy.cut()
                accepted = await http.delete(f"/v1/customers/{customer_id}")
                assert accepted.status_code == 202, accepted.text
                status_href = accepted.headers["location"]
                assert accepted.json()["status"] == "pending"

                await proxy.restore()

                async def completed() -> httpx.Response:
                    status = await http.get(status_href)
                    assert status.json()["status"] == "completed", status.text
                    return status

                done = await eventually(completed, timeout=60, interval=0.25)
                assert done.json()["customerId"] == customer_id
                gone = await http.get(done.json()["_links"]["customer"]["href"])
                assert gone.status_code == 410
                again = await http.delete(f"/v1/customers/{customer_id}")
                assert again.status_code == 204
        engine.dispose()
