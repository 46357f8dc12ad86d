"""The transactional outbox: a customer row and its event are written together or not at all,
and retried activities write each once."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from orderflow.database import customers as customer_store
from orderflow.database.customers import Customer, DuplicateEmail
from orderflow.database.engine import create_database_engine
from orderflow.database.outbox import OutboxEvent, read_after
from workflows.customer_types import CustomerChanges, CustomerDetails


def details(email: str | None = None) -> CustomerDetails:
    return CustomerDetails(
        "Katherine", "Johnson", email or f"kj-{uuid.uuid4().hex[:8]}@example.com"
    )


def counts(url: str) -> tuple[int, int]:
    engine = create_database_engine(url)
    with Session(engine) as session:
        customers = session.exec(select(func.count()).select_from(Customer)).one()
        events = session.exec(select(func.count()).select_from(OutboxEvent)).one()
    engine.dispose()
    return customers, events


def test_row_and_event_commit_together_or_not_at_all(own_postgres_url: str) -> None:
    engine = create_database_engine(own_postgres_url)
    customer_store.register(engine, "first", details())
    assert counts(own_postgres_url) == (1, 1)
    # Make the outbox refuse writes (a real trigger in the real database).
    raw = own_postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as connection:
        connection.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'outbox refuses writes'; END $$"
        )
        connection.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON outbox_event FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    with pytest.raises(Exception, match="outbox refuses writes"):
        customer_store.register(engine, "second", details())
    with pytest.raises(Exception, match="outbox refuses writes"):
        customer_store.update(engine, "third", 1, CustomerChanges({"last_name": "Goble"}))
    assert counts(own_postgres_url) == (1, 1)
    assert customer_store.get(engine, 1).last_name == "Johnson"  # type: ignore[union-attr]
    engine.dispose()


def test_retried_activities_write_once(postgres_url: str) -> None:
    engine = create_database_engine(postgres_url)
    request = f"register-{uuid.uuid4()}"
    first = customer_store.register(engine, request, details())
    again = customer_store.register(engine, request, details())
    assert again == first
    update = f"update-{uuid.uuid4()}"
    changed = customer_store.update(
        engine, update, first.customer_id, CustomerChanges({"city": "Hampton"})
    )
    replayed = customer_store.update(
        engine, update, first.customer_id, CustomerChanges({"city": "Hampton"})
    )
    assert changed.version == replayed.version == 2
    source = f"/v1/customers/{first.customer_id}"
    events = [e for e in read_after(engine, 0, 100_000) if e.source == source]
    assert [e.type for e in events] == ["CustomerRegistered", "CustomerUpdated"]
    engine.dispose()


def test_a_refusal_writes_nothing(postgres_url: str) -> None:
    engine = create_database_engine(postgres_url)
    taken = customer_store.register(engine, f"r-{uuid.uuid4()}", details())
    before = counts(postgres_url)
    with pytest.raises(DuplicateEmail):
        customer_store.register(engine, f"r-{uuid.uuid4()}", details(taken.email.upper()))
    assert counts(postgres_url) == before
    engine.dispose()
