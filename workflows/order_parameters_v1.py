"""The parameter rules orders followed before workflows/values.py, kept so that histories
recorded under them replay: a value these accepted and the value domains refuse changes what
a replay does, so an order falls back to them unless it has the patch that introduced the
domains (order_workflow.VALUES_CHECKED). Delete once no order started before it is open.

Values these accepted that could never complete a workflow task (ids beyond 2**63-1, which
fail the search-attribute upsert; numbers too large for a float) are refused here: no
recorded history can hold them applied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from workflows.order_machine import Command, OrderStatus, ParameterValue
from workflows.values import ID_MAX


def parse_parameters_v1(command: Command, raw: object) -> dict[str, ParameterValue] | None:
    """The typed parameters as the old rules read them, or None if they refused them."""
    if not isinstance(raw, Mapping):
        return None
    known = {p.name for p in command.parameters}
    if any(name not in known for name in raw):
        return None
    values: dict[str, ParameterValue] = {}
    for parameter in command.parameters:
        value = raw.get(parameter.name)
        if value is None or value == "":
            if parameter.required:
                return None
            continue
        try:
            values[parameter.name] = _convert(parameter.kind, value)
        except Exception:  # what failed here failed the old rules, or their workflow task
            return None
    return values


def _convert(kind: str, value: object) -> ParameterValue:
    if kind == "id":
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError
        number = int(value)
        if not 1 <= number <= ID_MAX:
            raise ValueError
        return number
    if kind in ("latitude", "longitude"):
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError
        degrees = float(value)
        bound = 90.0 if kind == "latitude" else 180.0
        if not math.isfinite(degrees) or not -bound <= degrees <= bound:
            raise ValueError
        return degrees
    if kind == "status":
        return OrderStatus(str(value))
    text = str(value)
    if len(text) > 500:
        raise ValueError
    return text
