"""Recorded order, customer request and erasure histories replay against today's workflow code without
nondeterminism.

They replay through the service's own converter, which encrypts: the recorded histories are
plaintext (written before encryption, or recorded so for review), and payloads that are not
encrypted are read as they are, as running orders from before encryption need."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.careless_change import TimerFirstOrderWorkflow
from tests.conftest import encrypting_converter
from tests.helpers import new_order_id
from tests.record_history import (
    HISTORIES,
    record_customer_requests,
    record_erasure,
    record_walk,
)
from workflows.customer_erasure import EraseCustomerWorkflow, SweepCustomerHistoriesWorkflow
from workflows.customer_workflows import RegisterCustomerWorkflow, UpdateCustomerWorkflow
from workflows.order_workflow import OrderWorkflow

RECORDED = sorted(HISTORIES.glob("order_*.json"))
ERASURES = sorted(HISTORIES.glob("customer_erase_*.json"))
REQUESTS = sorted(
    [*HISTORIES.glob("customer_register_*.json"), *HISTORIES.glob("customer_update_*.json")]
)
CUSTOMER_WORKFLOWS = [
    RegisterCustomerWorkflow,
    UpdateCustomerWorkflow,
    EraseCustomerWorkflow,
    SweepCustomerHistoriesWorkflow,
]


def load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(path.stem, path.read_text())


def test_there_is_a_recorded_history() -> None:
    assert RECORDED, "tests/histories/ has no recorded order history"
    assert ERASURES, "tests/histories/ has no recorded erasure history"
    assert REQUESTS, "tests/histories/ has no recorded customer request history"


@pytest.mark.parametrize("path", RECORDED, ids=[p.stem for p in RECORDED])
async def test_recorded_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=[OrderWorkflow], data_converter=encrypting_converter())
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


async def test_a_fresh_history_replays(client: Client, postgres_url: str) -> None:
    history = await record_walk(client, new_order_id(), postgres_url)
    await Replayer(workflows=[OrderWorkflow], data_converter=client.data_converter).replay_workflow(
        history
    )


async def test_an_incompatible_change_is_caught() -> None:
    replayer = Replayer(workflows=[TimerFirstOrderWorkflow])
    with pytest.raises(NondeterminismError):
        await replayer.replay_workflow(load(RECORDED[0]))


@pytest.mark.parametrize("path", ERASURES + REQUESTS, ids=[p.stem for p in ERASURES + REQUESTS])
async def test_recorded_customer_history_replays(path: Path) -> None:
    replayer = Replayer(workflows=CUSTOMER_WORKFLOWS, data_converter=encrypting_converter())
    result = await replayer.replay_workflow(load(path))
    assert result.replay_failure is None


async def test_fresh_customer_histories_replay(client: Client, postgres_url: str) -> None:
    """A registration, an update and an erasure, as today's code records them."""
    histories = [
        *await record_customer_requests(client, postgres_url),
        await record_erasure(client, postgres_url),
    ]
    replayer = Replayer(workflows=CUSTOMER_WORKFLOWS, data_converter=client.data_converter)
    for history in histories:
        await replayer.replay_workflow(history)
