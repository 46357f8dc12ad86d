"""Schema migrations (Alembic) for the order and customer database.

The embedded stack and the tests upgrade on start; in production run it as a step of its
own before the API and workers: ``python -m orderflow.database.migrate`` (reads ``DATABASE_URL``).
"""

from __future__ import annotations

import sys
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from orderflow.database.engine import create_database_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent: nothing to do is fine)."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def main() -> int:
    from orderflow.settings import get_settings

    engine = create_database_engine(get_settings().database_url)
    upgrade(engine, sys.argv[1] if len(sys.argv) > 1 else "head")
    print(f"database at {engine.url.render_as_string()} is at {sys.argv[1:] or ['head']}")
    engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
