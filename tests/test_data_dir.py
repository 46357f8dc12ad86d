"""DATA_DIR holds all of the embedded stack's state: the customer database follows it unless
DATABASE_URL names another."""

from __future__ import annotations

from pathlib import Path

import pytest

from orderflow.settings import Settings


def test_the_customer_database_lives_in_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings(_env_file=None).database_url == f"sqlite:///{tmp_path}/orderflow.db"


def test_the_default_data_dir_is_dot_data(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATA_DIR", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert Settings(_env_file=None).database_url == "sqlite:///.data/orderflow.db"


def test_database_url_wins_over_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://orderflow@db/orderflow")
    assert Settings(_env_file=None).database_url == "postgresql+psycopg://orderflow@db/orderflow"
