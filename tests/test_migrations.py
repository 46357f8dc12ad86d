"""Migrations bring an empty database (or one from before migrations) to the current schema."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.database.order_numbers import OrderNumber, allocate_order_id
from tests.conftest import new_postgres_database

TABLES = {"alembic_version", "customer", "order_number", "outbox_event"}


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
    assert TABLES <= tables and version == "0001"


def test_a_database_from_before_migrations_keeps_its_orders(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    engine = create_database_engine(url)
    SQLModel.metadata.create_all(engine, tables=[OrderNumber.__table__])  # type: ignore[attr-defined]
    first = allocate_order_id(engine, 1).order_id
    upgrade(engine)
    assert allocate_order_id(engine, 1).order_id == first + 1
    engine.dispose()
    assert TABLES <= schema_of(url)[0]
