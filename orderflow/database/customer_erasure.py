"""Erasing a customer's personal data: its row's personal columns, and the personal data of
its published events, in one transaction with the CustomerErased event."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from orderflow.database.customers import Customer, request_event_id
from orderflow.database.outbox import OutboxEvent, append_new, new_event
from orderflow.errors import CustomerNotFound
from orderflow.messages import CustomerErasedData, erased_event_data
from workflows.customer_names import erase_request_id
from workflows.customer_types import ADDRESS_FIELDS, ErasureRecord
from workflows.values import UNKNOWN_ACTOR, actor_or_unknown, is_id

# The published events that carry a customer's personal data, redacted on erasure.
PERSONAL_EVENTS = ("CustomerRegistered", "CustomerUpdated")
_PERSONAL_COLUMNS = ("first_name", "last_name", "email", "email_key", "phone", *ADDRESS_FIELDS)


def erase(engine: Engine, customer_id: int, *, actor: str = UNKNOWN_ACTOR) -> ErasureRecord:
    """Erase the customer's personal data, in one transaction: the row's personal columns
    become NULL (its id, version, times and orders stay), its published events lose the
    personal data they carried, and a CustomerErased event says so (recording ``actor``).

    Erasing an erased customer changes nothing; a retry writes CustomerErased once (its id
    is derived from the customer's). Raises CustomerNotFound.
    """
    if not is_id(customer_id):
        raise CustomerNotFound.of(customer_id)
    with Session(engine) as session:
        row = session.get(Customer, customer_id, with_for_update=True)
        if row is None:
            raise CustomerNotFound.of(customer_id)
        if row.erased_at is not None:
            return ErasureRecord(customer_id, row.version, row.request_id, 0, already_erased=True)
        for name in _PERSONAL_COLUMNS:
            setattr(row, name, None)
        now = datetime.now(UTC)
        row.erased_at = now
        row.last_modified = now
        row.version += 1
        source = f"/v1/customers/{customer_id}"
        published = session.exec(
            select(OutboxEvent).where(
                OutboxEvent.source == source, col(OutboxEvent.type).in_(PERSONAL_EVENTS)
            )
        ).all()
        for event in published:
            event.data = erased_event_data(event.type, event.data)
            session.add(event)
        session.flush()
        actor = actor_or_unknown(actor)
        data = CustomerErasedData(customer_id=customer_id, version=row.version, actor=actor)
        erased = new_event(
            event_id=request_event_id(erase_request_id(customer_id)),
            type="CustomerErased",
            source=source,
            subject=str(customer_id),
            data=data.wire(),
            time=now,
        )
        append_new(session, [erased])
        record = ErasureRecord(customer_id, row.version, row.request_id, len(published))
        session.commit()
        return record
