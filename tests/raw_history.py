"""A workflow's history as Temporal holds it, read without the codec: what anyone who can
reach Temporal (or its Web UI's HTTP API) sees. Payloads must all be ciphertext."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent

from orderflow import temporal
from orderflow.encryption import ENCODING, KEY_ID
from orderflow.settings import Settings

# Indexed values (search attributes) are Temporal's to read: they are not payloads of ours.
INDEXED = "search_attributes"
# The SDK's own bookkeeping in markers, written by its core without the codec: which
# patches a run went through (workflow.patched ids), and when which local activity ran
# (sequence number, attempt, activity type, times). A local activity's result is a payload
# of ours, under "result".
MARKER_DETAILS = "marker_recorded_event_attributes.details"
SDK_BOOKKEEPING = ("patch-data", "data")


async def raw_history(settings: Settings, workflow_id: str) -> list[HistoryEvent]:
    """The history of ``workflow_id`` fetched by a client without the codec."""
    plain = settings.model_copy(update={"encryption": False})
    client = await temporal.connect(plain)
    handle = client.get_workflow_handle(workflow_id)
    return [event async for event in handle.fetch_history_events()]


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every payload anywhere in ``message``, with where it is (search attributes left out)."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        where = f"{path}.{field.name}" if path else field.name
        if field.name == INDEXED or field.type != field.TYPE_MESSAGE:
            continue
        if isinstance(value, Message):
            yield from payloads_in(value, where)
        elif hasattr(value, "items"):  # a map
            for key, item in value.items():
                bookkeeping = where == MARKER_DETAILS and key in SDK_BOOKKEEPING
                if isinstance(item, Message) and not bookkeeping:
                    yield from payloads_in(item, f"{where}[{key}]")
        else:  # a repeated field
            for index, item in enumerate(value):
                yield from payloads_in(item, f"{where}[{index}]")


def assert_only_ciphertext(
    events: Sequence[HistoryEvent], secrets: Sequence[str], *, key_ids: set[str] | None = None
) -> int:
    """Every payload of ``events`` is encrypted (under one of ``key_ids``, if given), and
    none of ``secrets`` appears anywhere in the history's bytes. Returns how many payloads."""
    found = 0
    for event in events:
        for where, payload in payloads_in(event):
            assert payload.metadata.get("encoding") == ENCODING, (event.event_type, where, payload)
            key_id = payload.metadata[KEY_ID].decode()
            assert key_ids is None or key_id in key_ids, (where, key_id)
            found += 1
        raw = event.SerializeToString()
        for secret in secrets:
            assert secret.encode() not in raw, (secret, event)
    return found


def ui_payloads(body: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """The payloads in a JSON history from the Web UI's HTTP API (proto JSON: metadata and
    data in base64), search attributes and the SDK's bookkeeping left out."""
    if isinstance(body, dict):
        if isinstance(body.get("metadata"), dict) and "encoding" in body["metadata"]:
            yield path, body
            return
        markers = path.endswith("markerRecordedEventAttributes.details")
        for key, value in body.items():
            if key != "searchAttributes" and not (markers and key in SDK_BOOKKEEPING):
                yield from ui_payloads(value, f"{path}.{key}")
    elif isinstance(body, list):
        for index, value in enumerate(body):
            yield from ui_payloads(value, f"{path}[{index}]")
