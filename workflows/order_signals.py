"""The order's command signals: one handler per row of the state machine, the payload every
one carries, how the workflow reads it from a signal's decoded payloads (a malformed signal
is refused, never a failed workflow task), and what a refused command keeps of it."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from temporalio import workflow

from workflows.order_machine import COMMANDS, Command
from workflows.values import KEY_MAX_LENGTH, TEXT_MAX_LENGTH, UNKNOWN_ACTOR, actor_or_unknown


@dataclass
class CommandSignal:
    """Payload of every command signal; ``command_id`` makes redelivery harmless, ``actor``
    is who sent it (the API key's name), recorded on the event it appends."""

    command_id: str
    # Any, not a union: the data converter would coerce 52.5 to 52 trying int first.
    parameters: dict[str, Any] = field(default_factory=dict)
    actor: str = UNKNOWN_ACTOR

    @staticmethod
    def read(payloads: Sequence[object]) -> CommandSignal:
        """The CommandSignal in a signal's decoded payloads, or UnreadableSignal.

        Other fields are ignored, as the SDK's conversion ignored them (so a later sender
        may add some). Whether ``command_id`` is a valid key is not checked here: orders
        recorded before the value domains took any string. An ``actor`` that is missing (a
        signal sent before actors were, or not by the API) or not an actor's name is
        ``unknown``: who sent a command never decides whether it applies.
        """
        first = payloads[0] if payloads else None
        command_id = first.get("command_id") if isinstance(first, dict) else None
        known = command_id_in(payloads)
        if len(payloads) != 1:
            raise UnreadableSignal(f"takes one CommandSignal, not {len(payloads)} values", known)
        if not isinstance(first, dict):
            raise UnreadableSignal("must be an object with command_id and parameters", None)
        if not isinstance(command_id, str):
            raise UnreadableSignal("command_id must be a string", None)
        parameters = first.get("parameters", {})
        if not isinstance(parameters, dict):
            raise UnreadableSignal("parameters must be an object", known)
        return CommandSignal(command_id, parameters, actor_or_unknown(first.get("actor")))


class UnreadableSignal(ValueError):
    """A signal that is not one CommandSignal, with its command id if it has one that an
    outcome can be kept under."""

    def __init__(self, detail: str, command_id: str | None) -> None:
        super().__init__(detail)
        self.command_id = command_id


def command_id_in(payloads: Sequence[object]) -> str | None:
    """The command id of a signal's first (decoded) payload, if an outcome can be kept
    under it."""
    first = payloads[0] if payloads else None
    command_id = first.get("command_id") if isinstance(first, dict) else None
    return command_id if isinstance(command_id, str) and is_key_sized(command_id) else None


def is_key_sized(command_id: str) -> bool:
    """Whether an outcome can be kept under ``command_id`` (a refusal saying why it is not
    a valid key included): not empty, and no longer than a key may be."""
    return 0 < len(command_id) <= KEY_MAX_LENGTH


W = TypeVar("W")


def command_signals(cls: type[W]) -> type[W]:
    """Adds one signal handler per row of the state machine, named like its command, so a
    command is one table row. Apply beneath ``@workflow.defn``, which collects them."""
    for command in COMMANDS.values():
        handler = _signal_handler(command.name)
        signal = workflow.signal(name=command.name, description=command.summary)
        setattr(cls, handler.__name__, signal(handler))
    return cls


def _signal_handler(name: str) -> Callable[..., None]:
    # Payloads arrive undecoded by type (no annotations the SDK would convert to): a payload
    # of the wrong shape, or too many or too few of them, must not fail the workflow task.
    def receive(self: Any, *payloads: Any) -> None:
        self._receive(name, payloads)

    receive.__name__ = receive.__qualname__ = re.sub("([A-Z])", r"_\1", name).lower()
    return receive


def kept_parameters(command: Command, raw: dict[str, Any]) -> dict[str, Any]:
    """What a refused command's outcome keeps of its parameters: the named ones holding a
    plain value of bounded size, so no signal can make the order's state (and the payload it
    continues as new with) grow without bound."""
    named = {p.name for p in command.parameters}
    return {name: value for name, value in raw.items() if name in named and small(value)}


def small(value: object) -> bool:
    if value is None or isinstance(value, bool | float):
        return True
    if isinstance(value, int):
        return value.bit_length() <= 128
    return isinstance(value, str) and len(value) <= TEXT_MAX_LENGTH
