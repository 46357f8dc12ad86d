"""schemathesis (4.x) against the live API, a worker behind it: every check, generated
requests in every phase, stateful sequences that follow the OpenAPI links. It must find
nothing: the document promises exactly what the API does. API keys are on, as in
production: schemathesis sends an admin key, and its ignored_auth check sends requests
without one (and with a wrong one), which must be refused."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from orderflow.settings import Settings
from tests.api_keys import SECRETS, keyed_settings
from tests.conftest import new_postgres_database, start_dev_server
from tests.helpers import isolated_settings, running_api, running_worker

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
ROOT = Path(__file__).parent.parent
CONFIG = Path(__file__).with_name("schemathesis.toml")
# Per operation; with the coverage and stateful phases this is well over 1,000 requests.
MAX_EXAMPLES = 25
MINIMUM_REQUESTS = 1_000


@pytest_asyncio.fixture
async def own_stack(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """A dev server, database, workers and API of its own: the orders schemathesis finds
    are all its own, never those of other tests whose workers have gone (which answer 503
    after the API's bound, truthfully)."""
    env = await start_dev_server()
    try:
        with new_postgres_database() as url:
            address = env.client.service_client.config.target_host
            own = isolated_settings(
                keyed_settings(settings), temporal_address=address, database_url=url
            )
            async with running_worker(env.client, own, customers=True), running_api(own) as http:
                yield http
    finally:
        await env.shutdown()


@pytest.mark.timeout(600)
async def test_schemathesis_finds_nothing(own_stack: httpx.AsyncClient, tmp_path: Path) -> None:
    base = str(own_stack.base_url).rstrip("/")
    events = tmp_path / "events.ndjson"
    command = [
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{base}/openapi.json",
        "--checks",
        "all",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--seed",
        "20250101",
        "--report",
        "ndjson",
        "--report-ndjson-path",
        str(events),
        "--no-color",
        # The API bounds each call to Temporal (10 s in the suite) and then answers 503;
        # the client waits longer than that, so the API's own bound is what is tested.
        "--request-timeout",
        "30",
        "--generation-database",
        ":memory:",
        "--header",
        f"X-API-Key: {SECRETS['ops']}",
        # A live event stream never ends: nothing a request/response fuzzer can judge.
        "--exclude-path",
        "/v1/events/stream",
    ]
    # The API runs in this event loop: wait for schemathesis without blocking it.
    # Run from a scratch directory: schemathesis keeps a crash cache in its working directory.
    environment = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
        "PYTHONPATH": str(ROOT),
    }
    process = await asyncio.create_subprocess_exec(
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env=environment,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    text = output.decode(errors="replace")
    print(text)
    requests = _count_requests(events)
    print(f"schemathesis sent {requests} requests")
    assert process.returncode == 0, text[-6000:]
    assert requests >= MINIMUM_REQUESTS, requests


def _count_requests(events: Path) -> int:
    """Requests recorded in the ndjson event stream (one interaction per request)."""
    count = 0
    for line in events.read_text().splitlines():
        event = json.loads(line)
        for payload in event.values():
            if isinstance(payload, dict):
                for recorded in (payload.get("recorder") or {}).get("interactions", {}).values():
                    count += 1 if recorded else 0
    return count
