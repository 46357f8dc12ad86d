"""Migrations bring an empty database (or one from before migrations, or one at an older
revision, with its data) to the current schema."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

from orderflow.database import customer_changes, customer_erasure
from orderflow.database import customers as customer_store
from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.database.order_numbers import OrderNumber, account_of, allocate_order_id
from orderflow.errors import CustomerErased
from tests.conftest import new_postgres_database
from tests.helpers import head_revision
from workflows.customer_types import CustomerChanges, CustomerDetails

TABLES = {"alembic_version", "customer", "order_number", "outbox_event"}
BEYOND_32_BITS = 2**31 + 1_000
# Every id column: 64-bit on PostgreSQL (SQLite's INTEGER is 64-bit already).
ID_COLUMNS = [("customer", "id"), ("order_number", "id"), ("order_number", "account_id")]


def schema_of(url: str) -> tuple[set[str], str]:
    engine = create_database_engine(url)
    with engine.connect() as connection:
        tables = set(inspect(connection).get_table_names())
        version = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    engine.dispose()
    return tables, version


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/empty.db"
        return
    with new_postgres_database(migrate=False) as url:
        yield url


def test_upgrade_an_empty_database_twice(empty_database: str) -> None:
    engine = create_database_engine(empty_database)
    upgrade(engine)
    upgrade(engine)  # nothing left to do is fine
    engine.dispose()
    tables, version = schema_of(empty_database)
    assert TABLES <= tables and version == head_revision()


def test_the_tables_are_what_the_migrations_make(empty_database: str) -> None:
    """The models and the migrations agree (types included), so neither can drift."""
    engine = create_database_engine(empty_database)
    upgrade(engine)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    engine.dispose()
    assert differences == []


def test_a_database_from_before_migrations_keeps_its_orders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_database_engine(url)
    SQLModel.metadata.create_all(engine, tables=[OrderNumber.__table__])  # type: ignore[attr-defined]
    first = allocate_order_id(engine, 1).order_id
    upgrade(engine)
    assert allocate_order_id(engine, 1).order_id == first + 1
    engine.dispose()
    assert TABLES <= schema_of(url)[0]


def _fill_at_0001(engine: Engine) -> int:
    """A customer with id 5 and an order number for it, written as revision 0001 knew them."""
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO customer (id, first_name, last_name, email, email_key, created_at,"
                " last_modified, version, request_id) VALUES (5, 'Mary', 'Jackson',"
                " 'mj@example.com', 'mj@example.com', :now, :now, 1, 'register-old')"
            ),
            {"now": now},
        )
    return allocate_order_id(engine, 5).order_id


def _ids_past_32_bits(engine: Engine) -> None:
    """Make the next generated ids larger than 2**31: PostgreSQL from its sequences, SQLite
    from the largest id in the table."""
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            for table in ("customer", "order_number"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :to)"),
                    {"to": BEYOND_32_BITS},
                )
        else:
            connection.execute(
                text("INSERT INTO order_number (id, account_id, created_at) VALUES (:id, 5, :now)"),
                {"id": BEYOND_32_BITS, "now": datetime.now(UTC)},
            )


def test_an_existing_database_gets_64_bit_ids(empty_database: str) -> None:
    engine = create_database_engine(empty_database)
    upgrade(engine, "0001")
    first_order = _fill_at_0001(engine)
    upgrade(engine)

    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            for table, column in ID_COLUMNS:
                kind = connection.execute(
                    text(
                        "SELECT data_type FROM information_schema.columns"
                        " WHERE table_name = :table AND column_name = :column"
                    ),
                    {"table": table, "column": column},
                ).scalar_one()
                assert kind == "bigint", (table, column)
            sequences = dict(
                connection.execute(text("SELECT sequencename, data_type FROM pg_sequences")).all()
            )
            assert {"customer_id_seq", "order_number_id_seq"} <= sequences.keys()
            assert set(sequences.values()) == {"bigint"}, sequences
    # What was there is still there.
    kept = customer_store.get(engine, 5)
    assert kept is not None and kept.last_name == "Jackson"
    assert account_of(engine, first_order) == 5

    _ids_past_32_bits(engine)
    big_account = 2**62 + 3
    order = allocate_order_id(engine, big_account).order_id
    assert order > 2**31 and account_of(engine, order) == big_account
    customer = customer_changes.register(
        engine, "register-new", CustomerDetails("Dorothy", "Vaughan", "dv@example.com")
    )
    if engine.dialect.name == "postgresql":
        assert customer.customer_id > 2**31
    updated = customer_changes.update(
        engine, "update-new", customer.customer_id, CustomerChanges({"city": "Hampton"})
    )
    assert updated.version == 2
    assert customer_store.get(engine, customer.customer_id) == updated
    engine.dispose()


def test_a_customer_from_before_erasure_can_be_erased(empty_database: str) -> None:
    """Revision 0003 lets a customer written at 0002 lose its personal columns; its email
    can then be registered again (the unique key admits many NULLs on both databases)."""
    engine = create_database_engine(empty_database)
    upgrade(engine, "0002")
    first_order = _fill_at_0001(engine)
    upgrade(engine)
    other = customer_changes.register(
        engine, "register-other", CustomerDetails("Katherine", "Johnson", "kj@example.com")
    )
    erased = customer_erasure.erase(engine, 5, actor="ops")
    assert erased.version == 2 and erased.register_request_id == "register-old"
    assert customer_erasure.erase(engine, 5).already_erased  # again: nothing changes
    customer_erasure.erase(engine, other.customer_id)
    with pytest.raises(CustomerErased):
        customer_store.get(engine, 5)
    assert customer_store.find_by_email(engine, "MJ@example.com") is None
    assert customer_store.exists(engine, 5) and not customer_store.is_registered(engine, 5)
    assert account_of(engine, first_order) == 5  # the order keeps its customer
    again = customer_changes.register(
        engine, "register-again", CustomerDetails("Mary", "Jackson", "mj@example.com")
    )
    assert again.customer_id != 5
    engine.dispose()
