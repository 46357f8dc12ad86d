"""Order ids from the database layer, on PostgreSQL and on the embedded SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from orderflow.database.order_numbers import allocate_order_id
from orderflow.errors import IdempotencyKeyReused


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "postgresql":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path}/nested/orderflow.db"
    engine = create_database_engine(url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_ids_are_positive_and_increasing(engine: Engine) -> None:
    ids = [allocate_order_id(engine, 1).order_id for _ in range(3)]
    assert ids[0] >= 1 and ids == sorted(ids) and len(set(ids)) == 3


def test_concurrent_allocations_never_collide(engine: Engine) -> None:
    """Many API replicas (here: threads with their own connections) share one sequence."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: allocate_order_id(engine, 1).order_id, range(200)))
    assert len(set(ids)) == 200


def test_an_idempotency_key_allocates_once(engine: Engine) -> None:
    first = allocate_order_id(engine, 5, "key-a")
    again = allocate_order_id(engine, 5, "key-a")
    assert first.new and not again.new and again.order_id == first.order_id
    with pytest.raises(IdempotencyKeyReused) as raised:
        allocate_order_id(engine, 6, "key-a")
    assert f"order {first.order_id} for account 5" in raised.value.detail


def test_concurrent_requests_with_one_key_get_one_id(engine: Engine) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: allocate_order_id(engine, 9, "same-key"), range(16)))
    assert len({r.order_id for r in results}) == 1
    assert sum(r.new for r in results) == 1


def test_the_sqlite_file_is_created_with_its_folder(tmp_path: Path) -> None:
    engine = create_database_engine(f"sqlite:///{tmp_path}/a/b/orderflow.db")
    upgrade(engine)
    assert allocate_order_id(engine, 1).order_id == 1
    engine.dispose()
    assert (tmp_path / "a" / "b" / "orderflow.db").exists()
