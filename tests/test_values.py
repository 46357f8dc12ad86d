"""Value domains and the state machine's input, property-based: whatever arrives, nothing
raises, and only values inside their domains are accepted."""

from __future__ import annotations

import math
import unicodedata
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from workflows import values
from workflows.order_machine import COMMANDS, OrderStatus, ParameterError, decide, parse_parameters
from workflows.order_signals import CommandSignal, UnreadableSignal
from workflows.order_types import EventsRequest

checked = settings(max_examples=200, deadline=None, database=None)

TRICKY_TEXTS = [
    "101", "0", "-1", "007", " 101", "101 ", "+101", "1_01", "0x10", "1e3", "1.0", "\u0661\u0660\u0661", "\uff11\uff10\uff11",
    "9223372036854775807", "9223372036854775808", "9" * 5000, "nan", "NaN", "inf", "-inf",
    "1e999", "52.5", "-90", "90.0000001", "", " ", "\x00", "a\tb", "a\nb", "a\u2028b", "\ud800",
    "ORDER_PREPARED", "order_prepared", "ORDER_CANCELLED",
]  # fmt: skip
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.sampled_from([0, 1, -1, 2**63 - 1, 2**63, -(2**63), 10**400, 90, -180, 181])
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
    | st.sampled_from(TRICKY_TEXTS)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
names = st.sampled_from(sorted({p.name for c in COMMANDS.values() for p in c.parameters}))
raw_parameters = (
    st.dictionaries(names | st.text(max_size=12), json_values, max_size=4) | json_values
)


def in_domain(kind: str, value: object) -> bool:
    if kind == "id":
        return type(value) is int and 1 <= value <= 2**63 - 1
    if kind in ("latitude", "longitude"):
        bound = 90 if kind == "latitude" else 180
        return type(value) is float and math.isfinite(value) and -bound <= value <= bound
    if kind == "status":
        return isinstance(value, OrderStatus)
    return (
        type(value) is str
        and len(value) <= 500
        and not any(unicodedata.category(c) in ("Cc", "Cs", "Zl", "Zp") for c in value)
    )


@pytest.mark.parametrize("name", COMMANDS)
@checked
@given(raw=raw_parameters, status=st.sampled_from(OrderStatus))
def test_parse_and_decide_take_anything_and_accept_only_domain_values(
    name: str, raw: Any, status: OrderStatus
) -> None:
    command = COMMANDS[name]
    params, errors = parse_parameters(command, raw)
    kinds = {p.name: p.kind for p in command.parameters}
    assert set(params) <= set(kinds)
    for key, value in params.items():
        assert in_domain(kinds[key], value), (key, value)
    assert len(errors) <= 10 and all(len(e.name) <= 41 for e in errors)
    if not errors:
        assert all(p.name in params for p in command.parameters if p.required)
    transition = decide(status, command, params)
    assert (transition.status is None) != (transition.refusal is None)
    # decide holds up even when handed what parse_parameters would refuse.
    if isinstance(raw, dict):
        assert decide(status, command, raw).refusal in (None, "closed", "not_allowed", "invalid")


@checked
@given(number=st.integers(min_value=1, max_value=2**63 - 1))
def test_every_id_in_the_domain_is_accepted_as_number_and_text(number: int) -> None:
    assert values.check_id(number) == values.check_id(str(number)) == number


@checked
@given(
    lat=st.floats(min_value=-90, max_value=90),
    lon=st.floats(min_value=-180, max_value=180),
)
def test_every_coordinate_in_range_is_accepted(lat: float, lon: float) -> None:
    params, errors = parse_parameters(COMMANDS["updateOrderLocation"], {"lat": lat, "lon": lon})
    assert errors == [] and params == {"lat": lat, "lon": lon}
    assert values.check_latitude(repr(lat)) == lat  # as a query string carries it


@checked
@given(value=json_values)
def test_checks_raise_only_value_errors(value: Any) -> None:
    for check in (
        values.check_id,
        values.check_latitude,
        values.check_longitude,
        values.check_text,
        values.check_key,
    ):
        try:
            check(value)
        except ValueError as error:
            assert str(error).startswith("must")


@checked
@given(text=st.text(st.characters(codec=None, exclude_categories=()), max_size=600))
def test_texts_are_single_lines_without_control_characters(text: str) -> None:
    try:
        assert values.check_text(text) == text
    except ValueError:
        assert not in_domain("text", text)
    else:
        assert in_domain("text", text)


@pytest.mark.parametrize("text", ["a\tb", "a\nb", "a\rb", "a\x00b", "a\x7fb", "a\x85b", "a\u2029b"])
def test_tab_newline_and_other_controls_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="control characters"):
        values.check_text(text)


def test_unicode_letters_and_emoji_are_text() -> None:
    assert values.check_text("Zoë 🍕 — 東京") == "Zoë 🍕 — 東京"


@checked
@given(
    payloads=st.lists(
        json_values
        | st.fixed_dictionaries(
            {"command_id": json_values},
            optional={"parameters": raw_parameters, "extra": json_values},
        ),
        max_size=3,
    )
)
def test_a_signal_is_one_command_signal_or_unreadable(payloads: list[Any]) -> None:
    try:
        signal = CommandSignal.read(payloads)
    except UnreadableSignal as problem:
        assert problem.command_id is None or 0 < len(problem.command_id) <= 255
    else:
        assert len(payloads) == 1 and isinstance(signal.command_id, str)
        assert isinstance(signal.parameters, dict)


def test_extra_signal_fields_are_ignored() -> None:
    signal = CommandSignal.read([{"command_id": "c1", "parameters": {"lat": 1}, "later": True}])
    assert signal == CommandSignal("c1", {"lat": 1})


@checked
@given(
    request=json_values
    | st.fixed_dictionaries({}, optional={"offset": json_values, "limit": json_values})
)
def test_an_events_request_is_read_or_none(request: Any) -> None:
    page = EventsRequest.read(request)
    assert page is None or (page.offset >= 0 and page.limit >= 0)


def test_problems_are_reported_in_bounded_number() -> None:
    raw = {f"unknown{i}": i for i in range(1000)}
    _, errors = parse_parameters(COMMANDS["prepareOrder"], raw)
    assert len(errors) == 10 and errors[-1] == ParameterError("parameters", "991 more problems")


def test_a_pydantic_model_can_apply_a_domain() -> None:
    """The recipe of workflows/values.py's docstring, for the API."""
    from typing import Annotated

    from pydantic import BaseModel, BeforeValidator, ValidationError, WithJsonSchema

    class Assign(BaseModel):
        restaurant_id: Annotated[
            values.Id, BeforeValidator(values.ID.check), WithJsonSchema(values.ID.json_schema)
        ]

    assert Assign(restaurant_id="101").restaurant_id == 101
    with pytest.raises(ValidationError, match="no larger than 9223372036854775807"):
        Assign(restaurant_id=2**63)
    schema = Assign.model_json_schema()["properties"]["restaurant_id"]
    assert schema["maximum"] == 2**63 - 1 and schema["minimum"] == 1
