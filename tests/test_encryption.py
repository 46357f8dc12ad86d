"""Payload encryption: the codec and its key ring, and Temporal's history holding nothing
but ciphertext for an order and a customer's registration, failures included."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter

from api.orders.options import OrderStartOptions
from api.orders.temporal import OrderWorkflows
from orderflow import temporal
from orderflow.encryption import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    KeyRing,
    KeyRingError,
    UndecryptablePayload,
    new_key_entry,
)
from orderflow.settings import Settings
from tests.helpers import (
    command_applied,
    create_order,
    eventually,
    isolated_settings,
    new_order_id,
    running_worker,
)
from tests.raw_history import assert_only_ciphertext, raw_history
from workflows.customer_names import register_request_id, request_workflow_id
from workflows.order_names import order_workflow_id

PLAIN = DataConverter.default.payload_converter


def ring(*entries: str) -> KeyRing:
    return KeyRing.parse(",".join(entries))


def plain_payload(value: object) -> Payload:
    return PLAIN.to_payloads([value])[0]


# The key ring


def test_the_newest_key_is_the_last_and_comments_are_ignored() -> None:
    a, b = new_key_entry("2024-a"), new_key_entry("2025-b")
    keys = KeyRing.parse(f"# rotated yearly, id:base64key\n{a}\n\n{b}  # current, newest\n")
    assert list(keys.keys) == ["2024-a", "2025-b"] and keys.newest == "2025-b"
    assert ring(a, b).keys == keys.keys


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "holds no key"),
        ("k1", "each entry is id:base64key"),
        ("bad id:AAAA", "each entry is id:base64key"),
        ("k1:not base64!", "key 'k1' is not valid base64"),
        ("k1:c2hvcnQ=", "key 'k1' has 5 bytes, AES-256 needs 32"),
    ],
)
def test_a_bad_key_ring_is_refused_naming_the_entry_never_the_key(text: str, problem: str) -> None:
    with pytest.raises(KeyRingError, match=problem):
        KeyRing.parse(text)


def test_a_key_id_given_twice_is_refused() -> None:
    entry = new_key_entry("k1")
    with pytest.raises(KeyRingError, match="key id 'k1' appears twice") as raised:
        KeyRing.parse(f"{entry},{new_key_entry('k1')}")
    assert entry.split(":")[1] not in str(raised.value)


def test_settings_take_keys_or_a_key_file_not_both() -> None:
    with pytest.raises(ValueError, match="not both"):
        Settings(
            _env_file=None,
            encryption_keys=SecretStr(new_key_entry("k1")),
            encryption_keys_file=Path("keys"),
        )
    with pytest.raises(ValueError, match="has 5 bytes"):
        Settings(_env_file=None, encryption_keys=SecretStr("k1:c2hvcnQ="))
    off = Settings(_env_file=None, encryption=False)
    assert temporal.data_converter(off) is DataConverter.default
    with pytest.raises(KeyRingError, match="no key is configured"):
        temporal.data_converter(Settings(_env_file=None, encryption=True))


# The codec


async def test_payloads_are_sealed_with_the_newest_key_and_opened_again() -> None:
    codec = EncryptionCodec(ring(new_key_entry("old"), new_key_entry("new")))
    original = plain_payload({"firstName": "Grace", "email": "grace@example.com"})
    [sealed] = await codec.encode([original])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"new"
    assert b"grace" not in sealed.data and b"json/plain" not in sealed.data
    [again] = await codec.encode([original])
    assert again.data != sealed.data  # a fresh nonce each time
    assert await codec.decode([sealed, again]) == [original, original]


async def test_payloads_written_before_encryption_are_read_as_they_are() -> None:
    codec = EncryptionCodec(ring(new_key_entry("k1")))
    plain = plain_payload({"orderId": 1})
    assert await codec.decode([plain]) == [plain]


async def test_a_payload_under_an_unknown_key_fails_naming_the_key() -> None:
    old, new = new_key_entry("2024"), new_key_entry("2025")
    [sealed] = await EncryptionCodec(ring(old)).encode([plain_payload("secret")])
    assert await EncryptionCodec(ring(old, new)).decode([sealed]) == [plain_payload("secret")]
    with pytest.raises(UndecryptablePayload, match="key '2024': no such key in the ring") as raised:
        await EncryptionCodec(ring(new)).decode([sealed])
    assert raised.value.key_id == "2024"


async def test_a_payload_that_was_tampered_with_fails() -> None:
    codec = EncryptionCodec(ring(new_key_entry("k1")))
    [sealed] = await codec.encode([plain_payload("secret")])
    flipped = Payload(
        metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    )
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2"}, data=sealed.data)
    short = Payload(metadata=sealed.metadata, data=b"\x00")
    for bad in (flipped, short):
        with pytest.raises(UndecryptablePayload, match="key 'k1': it does not authenticate"):
            await codec.decode([bad])
    with pytest.raises(UndecryptablePayload, match="key 'k2'"):
        await codec.decode([relabelled])


# Temporal's history


async def test_an_orders_history_holds_only_ciphertext(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    order = await create_order(http)
    await command_applied(http, order, "assignOrder", restaurantId=4242)
    # Restaurant, driver, account and status are search attributes, Temporal's to index;
    # a position is not.
    await command_applied(http, order, "updateOrderLocation", lat=48.8566, lon=2.3522)
    workflow_id = order_workflow_id(order["orderId"])

    async def published() -> list[HistoryEvent]:
        # The local activity that publishes the events has run: its result is recorded.
        events = await raw_history(settings, workflow_id)
        markers = [
            e.marker_recorded_event_attributes
            for e in events
            if e.HasField("marker_recorded_event_attributes")
        ]
        assert any("result" in marker.details for marker in markers)
        return events

    events = await eventually(published, timeout=15)
    kinds = {event.event_type for event in events}
    assert EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED in kinds
    count = assert_only_ciphertext(events, ["48.8566", "2.3522"], key_ids={"tests-1"})
    assert count >= 5  # input, signals, summary, the local activity's input and result


async def test_a_registrations_history_holds_only_ciphertext_failures_included(
    http: httpx.AsyncClient, settings: Settings
) -> None:
    name = f"Hopper{uuid.uuid4().hex[:8]}"
    email = f"{name.lower()}@example.com"
    body = {
        "firstName": "Grace",
        "lastName": name,
        "email": email,
        "phone": "+1 202 555 0142",
        "address": {
            "street": "1 Navy Way",
            "city": "Arlington",
            "postalCode": "22202",
            "country": "US",
        },
    }
    secrets = [name, email, "555 0142", "Navy Way", "Arlington"]
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    registered = await http.post("/v1/customers", json=body, headers={"Idempotency-Key": first})
    assert registered.status_code == 201, registered.text
    # The same email again: refused by the activity, in a failure.
    refused = await http.post("/v1/customers", json=body, headers={"Idempotency-Key": second})
    assert refused.status_code == 409  # the refusal, decoded for the API:
    assert refused.json()["detail"] == "a customer with this email is already registered"

    for key in (first, second):
        events = await raw_history(settings, request_workflow_id(register_request_id(key)))
        assert_only_ciphertext(events, secrets, key_ids={"tests-1"})
    # The refusal is the failure of the database write, a local activity: in its marker.
    failures = [
        event.marker_recorded_event_attributes.failure
        for event in events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and event.marker_recorded_event_attributes.HasField("failure")
    ]
    assert failures, "the refusal is a local activity's failure"
    for failure in failures:
        # Message and stack trace travel in the encrypted attributes, not in the clear.
        assert failure.message == "Encoded failure" and failure.stack_trace == ""
        assert failure.encoded_attributes.metadata["encoding"] == ENCODING


async def test_a_worker_without_the_key_fails_loudly_naming_it(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """An order started under a key the worker does not hold: its workflow task fails, the
    worker says which key it lacks, and nothing reads the payload as if it were plain."""
    writer = isolated_settings(settings, encryption_keys=SecretStr(new_key_entry("elsewhere")))
    writing = await temporal.connect(writer)
    order_id = new_order_id()
    await OrderWorkflows(writing, OrderStartOptions.from_settings(writer)).start(
        order_id, 1, 1, fresh=True
    )
    caplog.set_level(logging.WARNING, logger="temporalio.worker")
    async with running_worker(client, writer):  # the suite's key ring only

        async def failed() -> None:
            events = await raw_history(settings, order_workflow_id(order_id))
            kinds = [event.event_type for event in events]
            assert EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED in kinds
            assert "key 'elsewhere': no such key in the ring" in caplog.text

        await eventually(failed, timeout=30)
    handle = writing.get_workflow_handle(order_workflow_id(order_id))
    await handle.terminate()
