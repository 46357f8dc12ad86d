"""The state machine table: every transition, every refusal, every parameter rule."""

from __future__ import annotations

import pytest

from workflows.order_machine import (
    COMMANDS,
    OPEN_STATUSES,
    EventType,
    OrderStatus,
    allowed_commands,
    decide,
    parse_parameters,
)

S = OrderStatus
# (command, from, to) exactly as DESIGN §3 has it.
TRANSITIONS = [
    ("assignOrder", S.ORDER_CREATED, S.ORDER_ASSIGNED),
    ("prepareOrder", S.ORDER_ASSIGNED, S.ORDER_PREPARING),
    ("orderReady", S.ORDER_PREPARING, S.ORDER_PREPARED),
    ("assignDriver", S.ORDER_PREPARED, S.DRIVER_ASSIGNED),
    ("orderPickedUp", S.DRIVER_ASSIGNED, S.ORDER_PICKED_UP),
    ("deliverOrder", S.ORDER_PICKED_UP, S.ORDER_DELIVERING),
    ("orderDelivered", S.ORDER_DELIVERING, S.ORDER_DELIVERED),
    ("cancelOrder", S.ORDER_CREATED, S.ORDER_CANCELLED),
    ("cancelOrder", S.ORDER_ASSIGNED, S.ORDER_CANCELLED),
    ("cancelOrder", S.ORDER_PREPARING, S.ORDER_CANCELLED),
]
VALID = {
    "assignOrder": {"restaurantId": 101},
    "assignDriver": {"driverId": 7},
    "updateOrderLocation": {"lat": 52.5, "lon": 13.4},
    "updateOrderStatus": {"status": "ORDER_PREPARED"},
}


@pytest.mark.parametrize(("name", "current", "target"), TRANSITIONS)
def test_allowed_transition(name: str, current: OrderStatus, target: OrderStatus) -> None:
    params, errors = parse_parameters(COMMANDS[name], VALID.get(name, {}))
    assert errors == []
    assert decide(current, COMMANDS[name], params).status == target


REFUSED = [
    (name, current)
    for name in COMMANDS
    if name not in ("updateOrderLocation", "updateOrderStatus")
    for current in OrderStatus
    if (name, current) not in {(n, c) for n, c, _ in TRANSITIONS}
]


@pytest.mark.parametrize(("name", "current"), REFUSED)
def test_every_other_pair_is_refused(name: str, current: OrderStatus) -> None:
    params, _ = parse_parameters(COMMANDS[name], VALID.get(name, {}))
    transition = decide(current, COMMANDS[name], params)
    assert transition.status is None
    assert transition.refusal == ("closed" if current.is_terminal else "not_allowed")
    assert str(current) in transition.detail


@pytest.mark.parametrize("current", sorted(OPEN_STATUSES))
def test_location_updates_keep_the_status_of_any_open_order(current: OrderStatus) -> None:
    command = COMMANDS["updateOrderLocation"]
    assert decide(current, command, {"lat": 1.0, "lon": 2.0}).status == current


def test_update_order_status_sets_any_other_status_and_can_close() -> None:
    command = COMMANDS["updateOrderStatus"]
    assert decide(S.ORDER_CREATED, command, {"status": "ORDER_PREPARED"}).status == S.ORDER_PREPARED
    assert decide(S.ORDER_PICKED_UP, command, {"status": "ORDER_DELIVERED"}).status.is_terminal  # type: ignore[union-attr]
    same = decide(S.ORDER_ASSIGNED, command, {"status": "ORDER_ASSIGNED"})
    assert same.refusal == "not_allowed" and "already" in same.detail
    assert decide(S.ORDER_CANCELLED, command, {"status": "ORDER_CREATED"}).refusal == "closed"


def test_terminal_statuses_allow_nothing() -> None:
    assert allowed_commands(S.ORDER_DELIVERED) == []
    assert allowed_commands(S.ORDER_CANCELLED) == []
    assert allowed_commands(S.ORDER_CREATED) == [
        "assignOrder", "updateOrderLocation", "updateOrderStatus", "cancelOrder",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "raw", "problem"),
    [
        ("assignOrder", {}, ("restaurantId", "is required")),
        ("assignOrder", {"restaurantId": "0"}, ("restaurantId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": "-3"}, ("restaurantId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": "1.5"}, ("restaurantId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": True}, ("restaurantId", "must be a positive integer")),
        ("assignDriver", {"driverId": "abc"}, ("driverId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": 2**63}, ("restaurantId", "no larger than 9223372036854775807")),
        ("assignOrder", {"restaurantId": " 101"}, ("restaurantId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": "1_01"}, ("restaurantId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": "\u0661\u0660\u0661"}, ("restaurantId", "must be a positive integer")),
        ("assignOrder", {"restaurantId": 101.0}, ("restaurantId", "must be a positive integer")),
        ("updateOrderLocation", {"lat": "91", "lon": "0"}, ("lat", "between -90 and 90")),
        ("updateOrderLocation", {"lat": "0", "lon": "-180.5"}, ("lon", "between -180 and 180")),
        ("updateOrderLocation", {"lat": "nan", "lon": "0"}, ("lat", "must be a number")),
        ("updateOrderLocation", {"lat": float("nan"), "lon": 0}, ("lat", "must be a finite number")),
        ("updateOrderLocation", {"lat": 10**400, "lon": 0}, ("lat", "between -90 and 90")),
        ("updateOrderLocation", {"lat": True, "lon": 0}, ("lat", "must be a number")),
        ("updateOrderStatus", {"status": 3}, ("status", "must be one of")),
        ("updateOrderLocation", {"lat": "0"}, ("lon", "is required")),
        ("updateOrderStatus", {"status": "LOST"}, ("status", "must be one of")),
        ("prepareOrder", {"restaurantId": "1"}, ("restaurantId", "takes no parameter")),
        ("cancelOrder", {"reason": "x" * 501}, ("reason", "at most 500 characters")),
        ("cancelOrder", {"reason": "two\nlines"}, ("reason", "U+000A at position 3")),
        ("cancelOrder", {"reason": "a\x00b"}, ("reason", "control characters")),
        ("cancelOrder", {"reason": True}, ("reason", "must be a string")),
        ("cancelOrder", [], ("parameters", "must be an object")),
    ],
)  # fmt: skip
def test_bad_parameters_are_named(
    name: str, raw: dict[str, object], problem: tuple[str, str]
) -> None:
    _, errors = parse_parameters(COMMANDS[name], raw)
    assert any(e.name == problem[0] and problem[1] in e.reason for e in errors), errors


def test_parameters_from_query_strings_are_typed() -> None:
    params, errors = parse_parameters(COMMANDS["updateOrderLocation"], {"lat": "-90", "lon": "180"})
    assert errors == [] and params == {"lat": -90.0, "lon": 180.0}
    params, _ = parse_parameters(COMMANDS["assignOrder"], {"restaurantId": "101"})
    assert params == {"restaurantId": 101}
    params, _ = parse_parameters(COMMANDS["cancelOrder"], {})
    assert params == {}


def test_event_types_are_the_statuses_and_two_more() -> None:
    assert {e.value for e in EventType} == {s.value for s in OrderStatus} | {
        "ORDER_LOCATION_UPDATED", "ORDER_STATUS_UPDATED",
    }  # fmt: skip
    for command in COMMANDS.values():
        if command.to is not None:
            assert command.event_type == command.to.value
    assert EventType.ORDER_ASSIGNED.message == "OrderAssigned"
