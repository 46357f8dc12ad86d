"""Liveness and readiness: ready only while Temporal and the database both answer."""

from __future__ import annotations

import httpx
from sqlalchemy.engine import make_url

from orderflow.settings import Settings
from tests.conftest import start_dev_server
from tests.helpers import bounded, eventually, isolated_settings, running_api
from tests.tcp_proxy import TcpProxy


async def test_ready_when_everything_answers(http: httpx.AsyncClient) -> None:
    assert (await http.get("/healthz")).json() == {"status": "ok"}
    ready = await http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"temporal": "ok", "database": "ok"}}


async def test_readiness_follows_temporal_and_the_database(
    settings: Settings, postgres_url: str
) -> None:
    async with bounded("starting the dev server", 60):
        env = await start_dev_server()
    real = make_url(postgres_url)
    try:
        async with TcpProxy(real.host or "127.0.0.1", real.port or 5432) as database:
            own = isolated_settings(
                settings,
                temporal_address=env.client.service_client.config.target_host,
                database_url=real.set(host="127.0.0.1", port=database.port).render_as_string(
                    hide_password=False
                ),
            )
            async with running_api(own) as http:
                assert (await http.get("/readyz")).status_code == 200

                await database.cut()
                down = await http.get("/readyz")
                assert down.status_code == 503 and down.headers["retry-after"]
                assert down.headers["content-type"] == "application/problem+json"
                assert down.json()["checks"]["temporal"] == "ok"
                assert down.json()["checks"]["database"].startswith("unreachable")
                assert (await http.get("/healthz")).status_code == 200  # alive all the same
                await database.restore()

                async def ready() -> None:
                    assert (await http.get("/readyz")).status_code == 200

                await eventually(ready)
                async with bounded("stopping the dev server", 30):
                    await env.shutdown()
                gone = await http.get("/readyz")
                assert gone.status_code == 503
                assert gone.json()["checks"]["temporal"].startswith("unreachable")

                # Started again on the same port: ready again, without restarting the API.
                port = int(own.temporal_address.rsplit(":", 1)[1])
                async with bounded("starting the dev server again on its port", 60):
                    env = await start_dev_server(port=port)
                await eventually(ready, timeout=30)
    finally:
        async with bounded("stopping the restarted dev server", 30):
            await env.shutdown()
