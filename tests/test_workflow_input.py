"""No input fails a workflow task: hostile signals and queries against a real worker."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory
from temporalio.common import RawValue
from temporalio.worker import Replayer, UnsandboxedWorkflowRunner
from temporalio.workflow import NondeterminismError

from tests.order_handles import OrderHandle, outcome, send, start_order
from tests.record_history import HISTORIES
from workflows import order_commands
from workflows import order_names as names
from workflows.order_machine import COMMANDS, OrderStatus
from workflows.order_signals import CommandSignal
from workflows.order_types import CommandResult, EventsRequest
from workflows.order_workflow import OrderWorkflow

if TYPE_CHECKING:
    from orderflow.settings import Settings


@pytest_asyncio.fixture
async def order(client: Client, settings: Settings, worker: None) -> OrderHandle:
    return await start_order(client, settings.orders_task_queue)


async def still_works(handle: OrderHandle) -> CommandResult:
    """After whatever came before: a valid command applies, the order answers its queries,
    and no workflow task has failed. Signals are applied in order, so once the valid one
    has an outcome, everything sent before it has been handled."""
    command_id = f"valid-{uuid.uuid4()}"
    await send(handle, "updateOrderLocation", command_id, {"lat": 1, "lon": 2})
    result = await outcome(handle, command_id)
    assert result.outcome.refusal is None, result
    assert (await handle.query(OrderWorkflow.order)).lat == 1
    history = await handle.fetch_history()
    failed = [
        e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED
    ]
    assert not failed, failed[0].workflow_task_failed_event_attributes.failure.message
    return result


async def test_an_id_beyond_bigint_is_refused_not_a_stuck_order(order: OrderHandle) -> None:
    await order.signal("assignOrder", CommandSignal("too-big", {"restaurantId": 2**63}))
    await still_works(order)
    refused = await order.query(OrderWorkflow.outcome, "too-big")
    assert refused is not None and refused.outcome.refusal == "invalid"
    assert "restaurantId" in refused.outcome.detail


# Hostile signals: any command name, any number of payloads, any JSON, raw bytes in any
# encoding. Closing commands are left out so that one order lives through every example.
TARGETS = [*sorted(set(COMMANDS) - {"cancelOrder", "orderDelivered"}), "noSuchCommand", "x" * 300]
OPEN = [s.value for s in OrderStatus if not s.is_terminal and s != "ORDER_DELIVERING"]
leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**63, -(2**63), 10**400, 2**63 - 1, 0, -1])
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["101", " 101", "1_01", "nan", "1e999", "\x00", "a\nb", *OPEN])
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
parameter_names = st.sampled_from(["restaurantId", "driverId", "lat", "lon", "status", "reason"])
command_signals = st.fixed_dictionaries(
    {},
    optional={
        "command_id": st.uuids().map(str)
        | json_values
        | st.sampled_from(["", "a b", "é", "x" * 300]),
        "parameters": st.dictionaries(
            parameter_names | st.text(max_size=8), json_values, max_size=3
        )
        | json_values,
        "extra": json_values,
    },
)
raw_payloads = st.builds(
    lambda encoding, data: RawValue(Payload(metadata={"encoding": encoding}, data=data)),
    st.sampled_from(
        [b"json/plain", b"binary/plain", b"binary/null", b"json/protobuf", b"x/unknown"]
    ),
    st.binary(max_size=20) | st.sampled_from([b"{", b"NaN", b'{"command_id": 5}', b"[1, 2]"]),
)
signal_args = st.lists(command_signals | json_values | raw_payloads, max_size=3)


@settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(name=st.sampled_from(TARGETS), args=signal_args)
async def test_no_signal_breaks_an_order(order: OrderHandle, name: str, args: list[Any]) -> None:
    await order.signal(name, args=args)
    await still_works(order)


async def test_signals_the_sdk_cannot_decode_are_refused_under_their_command_id(
    order: OrderHandle,
) -> None:
    handle = order
    sent = {
        "no-parameters-object": [{"command_id": "no-parameters-object", "parameters": [1, 2]}],
        "two-payloads": [CommandSignal("two-payloads"), CommandSignal("other")],
        "bad-key": [CommandSignal("bad key", {"lat": 1, "lon": 2})],
    }
    for args in sent.values():
        await handle.signal("updateOrderLocation", args=args)
    await handle.signal("updateOrderLocation")  # no payload at all
    await handle.signal("updateOrderLocation", {"parameters": {}})  # no command id
    await handle.signal(
        "updateOrderLocation", RawValue(Payload(metadata={"encoding": b"json/plain"}, data=b"{"))
    )
    await still_works(handle)
    for command_id in ("no-parameters-object", "two-payloads", "bad key"):
        refused = await handle.query(OrderWorkflow.outcome, command_id)
        assert refused is not None and refused.outcome.refusal == "invalid", command_id
    page = await handle.query(OrderWorkflow.events, EventsRequest(0, 10))
    assert page.total == 2  # created, and the valid one


async def test_queries_answer_absurd_questions_sanely(order: OrderHandle) -> None:
    handle = order
    for event_id in ("abc", None, -1, 0, 2**70, 1.5, True, [1], {"a": 1}):
        assert await handle.query(names.QUERY_EVENT, event_id) is None, event_id
    assert await handle.query(names.QUERY_EVENT) is None
    assert (await handle.query(names.QUERY_EVENT, 1))["event_id"] == 1
    for request in ("x", [], {"offset": -1}, {"limit": -5}, {"offset": "0"}, {"limit": 2.5}, True):
        page = await handle.query(names.QUERY_EVENTS, request)
        assert page["events"] == [] and page["total"] == 1, request
    huge = await handle.query(names.QUERY_EVENTS, {"offset": 0, "limit": 10**30})
    assert len(huge["events"]) == 1
    assert len((await handle.query(names.QUERY_EVENTS))["events"]) == 1  # the default page
    for command_id in (5, None, {"a": 1}, ["x"], "no-such-command"):
        assert await handle.query(names.QUERY_OUTCOME, command_id) is None, command_id
    await still_works(handle)


async def test_orders_recorded_before_the_value_domains_replay_their_old_rules(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """order_lenient_values_v3 was recorded by the code before workflows/values.py: it holds
    values the old rules applied (restaurantId "1_01", lat " 52.5", command ids with spaces
    or accents, a reason with a newline) and signals they dropped. It replays only because
    such an order falls back to the old rules."""
    path = HISTORIES / "order_lenient_values_v3.json"
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    # Unsandboxed, so that the monkeypatch below reaches the workflow code.
    replayer = Replayer(workflows=[OrderWorkflow], workflow_runner=UnsandboxedWorkflowRunner())
    assert (
        await replayer.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure is None
    monkeypatch.setattr(order_commands, "parse_parameters_v1", lambda command, raw: None)
    failure = (
        await replayer.replay_workflow(history, raise_on_replay_failure=False)
    ).replay_failure
    assert isinstance(failure, NondeterminismError)
