"""The transactional outbox: a customer row and its event are written together or not at all,
and retried activities write each once."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import func
from sqlmodel import Session, select

from orderflow.database import customer_changes
from orderflow.database import customers as customer_store
from orderflow.database.customers import Customer
from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.database.outbox import OutboxEvent, append_new, new_event, read_after
from orderflow.errors import DuplicateEmail
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
    customer_changes.register(engine, "first", details())
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
        customer_changes.register(engine, "second", details())
    with pytest.raises(Exception, match="outbox refuses writes"):
        customer_changes.update(engine, "third", 1, CustomerChanges({"last_name": "Goble"}))
    assert counts(own_postgres_url) == (1, 1)
    assert customer_store.get(engine, 1).last_name == "Johnson"  # type: ignore[union-attr]
    engine.dispose()


def test_retried_activities_write_once(postgres_url: str) -> None:
    engine = create_database_engine(postgres_url)
    request = f"register-{uuid.uuid4()}"
    first = customer_changes.register(engine, request, details())
    again = customer_changes.register(engine, request, details())
    assert again == first
    update = f"update-{uuid.uuid4()}"
    changed = customer_changes.update(
        engine, update, first.customer_id, CustomerChanges({"city": "Hampton"})
    )
    replayed = customer_changes.update(
        engine, update, first.customer_id, CustomerChanges({"city": "Hampton"})
    )
    assert changed.version == replayed.version == 2
    source = f"/v1/customers/{first.customer_id}"
    events = [e for e in read_after(engine, 0, 100_000) if e.source == source]
    assert [e.type for e in events] == ["CustomerRegistered", "CustomerUpdated"]
    engine.dispose()


def test_a_refusal_writes_nothing(postgres_url: str) -> None:
    engine = create_database_engine(postgres_url)
    taken = customer_changes.register(engine, f"r-{uuid.uuid4()}", details())
    before = counts(postgres_url)
    with pytest.raises(DuplicateEmail):
        customer_changes.register(engine, f"r-{uuid.uuid4()}", details(taken.email.upper()))
    assert counts(postgres_url) == before
    engine.dispose()


@pytest.mark.parametrize("database", ["postgresql", "sqlite"])
def test_append_new_counts_the_events_it_wrote(
    database: str, postgres_url: str, tmp_path: Path
) -> None:
    """The publishing activity's result (recorded in the order's history) is the number of
    events it wrote, not the database driver's idea of a row count."""
    url = postgres_url if database == "postgresql" else f"sqlite:///{tmp_path / 'outbox.db'}"
    engine = create_database_engine(url)
    upgrade(engine)  # a no-op on the session's migrated PostgreSQL database
    run = uuid.uuid4().hex
    events = [
        new_event(event_id=f"count-{run}-{n}", type="T", source="/s", subject=str(n), data={})
        for n in range(3)
    ]
    try:
        with Session(engine) as session:
            assert append_new(session, events[:2]) == 2
            assert append_new(session, events) == 1  # two were there already
            session.commit()
    finally:
        engine.dispose()
