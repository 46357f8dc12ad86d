"""The order state machine as plain data: the workflow enforces it, the API renders it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import EnumType, StrEnum
from typing import TYPE_CHECKING, Literal

from workflows import values


class OrderStatus(StrEnum):
    ORDER_CREATED = "ORDER_CREATED"
    ORDER_ASSIGNED = "ORDER_ASSIGNED"
    ORDER_PREPARING = "ORDER_PREPARING"
    ORDER_PREPARED = "ORDER_PREPARED"
    DRIVER_ASSIGNED = "DRIVER_ASSIGNED"
    ORDER_PICKED_UP = "ORDER_PICKED_UP"
    ORDER_DELIVERING = "ORDER_DELIVERING"
    ORDER_DELIVERED = "ORDER_DELIVERED"
    ORDER_CANCELLED = "ORDER_CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


class _WithStatusEvents(EnumType):
    if TYPE_CHECKING:
        # The status-named members are made from OrderStatus at run time; this tells mypy
        # that EventType.ORDER_ASSIGNED & co. exist (a misspelt one fails at import instead).
        def __getattr__(cls, name: str) -> EventType: ...


class EventType(StrEnum, metaclass=_WithStatusEvents):
    """What happened to an order: it moved to a status (one event type per status, of the
    same name), its location was reported, or an operator set its status directly."""

    locals().update({status.name: status.value for status in OrderStatus})
    ORDER_LOCATION_UPDATED = "ORDER_LOCATION_UPDATED"
    ORDER_STATUS_UPDATED = "ORDER_STATUS_UPDATED"

    @property
    def message(self) -> str:
        """The published message name: ORDER_LOCATION_UPDATED -> OrderLocationUpdated."""
        return "".join(word.capitalize() for word in self.value.split("_"))


TERMINAL_STATUSES = frozenset({OrderStatus.ORDER_DELIVERED, OrderStatus.ORDER_CANCELLED})
OPEN_STATUSES = frozenset(OrderStatus) - TERMINAL_STATUSES

ParameterKind = Literal["id", "latitude", "longitude", "status", "text"]
ParameterValue = int | float | str


@dataclass(frozen=True)
class Parameter:
    """A command parameter; ``field`` names the order attribute it sets, if any."""

    name: str
    kind: ParameterKind
    required: bool = True
    field: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Command:
    """One row of the state machine. ``to`` is None when the status is unchanged, or
    when (for updateOrderStatus) the target comes from the ``status`` parameter."""

    name: str
    summary: str
    parameters: tuple[Parameter, ...]
    allowed_from: frozenset[OrderStatus]
    to: OrderStatus | None
    event_type: EventType

    @property
    def parameter_names(self) -> frozenset[str]:
        return _PARAMETER_NAMES.setdefault(self.name, frozenset(p.name for p in self.parameters))

    @staticmethod
    def moving(
        name: str,
        summary: str,
        parameters: tuple[Parameter, ...],
        allowed_from: frozenset[OrderStatus],
        to: OrderStatus,
    ) -> Command:
        """A command that moves the order to ``to``: its event is named after that status."""
        return Command(name, summary, parameters, allowed_from, to, EventType[to.name])


_PARAMETER_NAMES: dict[str, frozenset[str]] = {}


def _from(*statuses: OrderStatus) -> frozenset[OrderStatus]:
    return frozenset(statuses)


_RESTAURANT = Parameter("restaurantId", "id", field="restaurant_id", description="Restaurant id")
_DRIVER = Parameter("driverId", "id", field="driver_id", description="Driver id")
_LAT = Parameter("lat", "latitude", field="lat", description="Latitude in [-90, 90]")
_LON = Parameter("lon", "longitude", field="lon", description="Longitude in [-180, 180]")
_STATUS = Parameter("status", "status", description="The status to set")
_REASON = Parameter("reason", "text", required=False, description="Why the order is cancelled")

S = OrderStatus
# fmt: off
COMMANDS: dict[str, Command] = {
    command.name: command
    for command in (
        Command.moving("assignOrder", "Assign the order to a restaurant",
                       (_RESTAURANT,), _from(S.ORDER_CREATED), S.ORDER_ASSIGNED),
        Command.moving("prepareOrder", "The restaurant starts preparing the order",
                       (), _from(S.ORDER_ASSIGNED), S.ORDER_PREPARING),
        Command.moving("orderReady", "The order is ready for pick-up",
                       (), _from(S.ORDER_PREPARING), S.ORDER_PREPARED),
        Command.moving("assignDriver", "Assign a driver to the order",
                       (_DRIVER,), _from(S.ORDER_PREPARED), S.DRIVER_ASSIGNED),
        Command.moving("orderPickedUp", "The driver picked the order up",
                       (), _from(S.DRIVER_ASSIGNED), S.ORDER_PICKED_UP),
        Command.moving("deliverOrder", "The driver is on the way",
                       (), _from(S.ORDER_PICKED_UP), S.ORDER_DELIVERING),
        Command.moving("orderDelivered", "The order was delivered",
                       (), _from(S.ORDER_DELIVERING), S.ORDER_DELIVERED),
        Command("updateOrderLocation", "Report where the order is",
                (_LAT, _LON), OPEN_STATUSES, None, EventType.ORDER_LOCATION_UPDATED),
        Command("updateOrderStatus", "Set the status directly (operator override)",
                (_STATUS,), OPEN_STATUSES, None, EventType.ORDER_STATUS_UPDATED),
        Command.moving("cancelOrder", "Cancel the order",
                       (_REASON,), _from(S.ORDER_CREATED, S.ORDER_ASSIGNED, S.ORDER_PREPARING),
                       S.ORDER_CANCELLED),
    )
}
# fmt: on
del S

COMMAND_BY_EVENT_TYPE: dict[EventType, Command] = {c.event_type: c for c in COMMANDS.values()}
MAX_REPORTED_ERRORS = 10


def allowed_commands(status: OrderStatus) -> list[str]:
    """The names of the commands valid in ``status``, in table order."""
    return [c.name for c in COMMANDS.values() if status in c.allowed_from]


@dataclass(frozen=True)
class ParameterError:
    name: str
    reason: str


def parse_parameters(
    command: Command, raw: Mapping[str, object] | object
) -> tuple[dict[str, ParameterValue], list[ParameterError]]:
    """Check and convert raw parameters (query strings or JSON values) for ``command``
    against the value domains (workflows/values.py). Takes anything and never raises.

    Returns the typed parameters and the problems found (at most MAX_REPORTED_ERRORS, names
    cut short); unknown names are problems too.
    """
    if not isinstance(raw, Mapping):
        return {}, [ParameterError("parameters", "must be an object of named values")]
    values: dict[str, ParameterValue] = {}
    errors = [
        ParameterError(cut(name), f"{command.name} takes no parameter {shown(name)}")
        for name in raw
        if name not in command.parameter_names
    ]
    for parameter in command.parameters:
        value = raw.get(parameter.name)
        if value is None or (isinstance(value, str) and value == ""):
            if parameter.required:
                errors.append(ParameterError(parameter.name, "is required"))
            continue
        try:
            values[parameter.name] = _CHECKS[parameter.kind](value)
        except ValueError as error:
            errors.append(ParameterError(parameter.name, str(error)))
    if len(errors) > MAX_REPORTED_ERRORS:
        more = len(errors) - MAX_REPORTED_ERRORS + 1
        errors[MAX_REPORTED_ERRORS - 1 :] = [ParameterError("parameters", f"{more} more problems")]
    return values, errors


def check_status(value: object) -> OrderStatus:
    if isinstance(value, str) and value in OrderStatus.__members__:
        return OrderStatus(value)
    raise ValueError(f"must be one of {', '.join(OrderStatus)}")


_CHECKS: dict[ParameterKind, Callable[[object], ParameterValue]] = {
    "id": values.check_id,
    "latitude": values.check_latitude,
    "longitude": values.check_longitude,
    "status": check_status,
    "text": values.check_text,
}


def cut(name: object, limit: int = 40) -> str:
    """A name (of a parameter, a signal) cut short, as a detail or a log line shows it."""
    text = name if isinstance(name, str) else type(name).__name__
    return text if len(text) <= limit else text[:limit] + "…"


def shown(name: object) -> str:
    """A name as a detail quotes it: ``'restaurantId'``, cut short."""
    return repr(cut(name))


@dataclass(frozen=True)
class Transition:
    """The result of deciding a command: the status after it, or why it is refused."""

    status: OrderStatus | None = None
    refusal: Literal["closed", "not_allowed", "invalid"] | None = None
    detail: str = ""


def decide(
    current: OrderStatus, command: Command, params: Mapping[str, ParameterValue]
) -> Transition:
    """Apply the table to one command with parameters from parse_parameters (anything
    else for the ``status`` parameter is refused as invalid)."""
    if current.is_terminal:
        return Transition(refusal="closed", detail=f"order is closed ({current})")
    if current not in command.allowed_from:
        allowed = ", ".join(allowed_commands(current)) or "none"
        return Transition(
            refusal="not_allowed",
            detail=f"{command.name} is not allowed in status {current}; allowed: {allowed}",
        )
    if command.to is not None:
        return Transition(status=command.to)
    if any(p.name == "status" for p in command.parameters):
        try:
            target = check_status(params.get("status"))
        except ValueError as error:
            return Transition(refusal="invalid", detail=f"status {error}")
        if target == current:
            return Transition(refusal="not_allowed", detail=f"order is already {current}")
        return Transition(status=target)
    return Transition(status=current)
