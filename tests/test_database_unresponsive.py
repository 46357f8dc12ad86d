"""Every route that reads the database answers 503 + Retry-After within seconds when the
database refuses connections or stops answering, and serves again once it is back.

Before database calls were bounded, a silent database (the relay's black hole) held these
reads for as long as the client waited (20 s here); only /readyz answered, in 2 s.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from orderflow.settings import Settings
from tests.helpers import (
    eventually,
    isolated_settings,
    new_order_id,
    register_customer,
    running_api,
)
from tests.tcp_proxy import TcpProxy

# A hang check, not a benchmark: the bound is ~3 s, a hang is as long as the client waits.
ANSWERED_WITHIN = 6.0
CLIENT_WAITS = 20.0


@dataclass(frozen=True)
class Read:
    method: str
    path: str
    params: dict[str, str] | None = None
    body: dict[str, Any] | None = None


@dataclass(frozen=True)
class Answer:
    read: Read
    response: httpx.Response | None  # None: no answer while the client waited
    seconds: float

    def __str__(self) -> str:
        outcome = self.response.status_code if self.response is not None else "no answer"
        return f"{self.read.method} {self.read.path}: {outcome} in {self.seconds:.2f} s"


def reads_of(customer: dict[str, Any]) -> list[Read]:
    """One request per route that needs the database."""
    customer_id = customer["customerId"]
    return [
        Read("GET", f"/v1/customers/{customer_id}"),
        Read("GET", "/v1/customers", params={"email": customer["email"]}),
        Read("GET", f"/v1/customers/{customer_id}/events"),
        Read("GET", "/v1/events"),
        Read("POST", "/v1/orders", body={"accountId": customer_id}),  # the customer must exist
        # An order Temporal does not know is looked up in the archive (the outbox).
        Read("GET", f"/v1/orders/{new_order_id()}"),
        Read("GET", "/readyz"),
    ]


async def send(http: httpx.AsyncClient, read: Read) -> Answer:
    started = time.monotonic()
    try:
        response: httpx.Response | None = await http.request(
            read.method, read.path, params=read.params, json=read.body, timeout=CLIENT_WAITS
        )
    except httpx.TimeoutException:
        response = None
    return Answer(read, response, time.monotonic() - started)


async def send_all(http: httpx.AsyncClient, reads: list[Read]) -> list[Answer]:
    """All at once: each is timed on its own, and they meet in the pool."""
    return list(await asyncio.gather(*(send(http, read) for read in reads)))


def served(answers: list[Answer]) -> bool:
    return all(a.response is not None and a.response.status_code < 500 for a in answers)


def report(answers: list[Answer]) -> str:
    return "\n".join(map(str, answers))


@pytest.mark.parametrize("fault", ["cut", "black_hole"])
async def test_database_reads_answer_503_within_seconds_and_recover(
    fault: str, http: httpx.AsyncClient, settings: Settings, postgres_url: str
) -> None:
    customer = await register_customer(http)
    reads = reads_of(customer)
    real = make_url(postgres_url)
    async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as proxy:
        through_proxy = real.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        )
        # The session's workers keep the direct database; only this API goes through the relay.
        own = isolated_settings(
            settings, database_url=through_proxy, orders_task_queue=settings.orders_task_queue
        )
        async with running_api(own) as api:
            # Pooled connections first: a black hole must catch established ones too.
            warm = await send_all(api, reads)
            assert served(warm), report(warm)

            await getattr(proxy, fault)()
            for _ in range(2):  # the second round meets whatever the first left in the pool
                down = await send_all(api, reads)
                for answer in down:
                    response = answer.response
                    assert response is not None and response.status_code == 503, report(down)
                    assert response.headers["content-type"] == "application/problem+json"
                    assert int(response.headers["retry-after"]) > 0
                    assert answer.seconds < ANSWERED_WITHIN, report(down)

            await proxy.restore()

            async def recovered() -> None:
                back = await send_all(api, reads)
                assert served(back), report(back)

            await eventually(recovered, timeout=30, interval=0.5)
            order = await api.post("/v1/orders", json={"accountId": customer["customerId"]})
            assert order.status_code == 201, order.text
