"""The `orderflow` command, run as a user runs it: the console script in a real subprocess."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from api.published.catalog_export import export
from tests.helpers import TEST_ENCRYPTION_KEYS, free_port, head_revision
from tests.processes import api_process, orderflow

# The console script pip installed beside this Python (pyproject.toml's [project.scripts]).
SUBCOMMANDS = ("run", "worker", "api", "migrate", "catalog", "keys", "bench")
HEAVY = ("temporalio", "fastapi", "sqlalchemy", "sqlmodel", "pydantic", "uvicorn", "alembic")


def test_help_lists_every_subcommand(tmp_path: Path) -> None:
    result = orderflow("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: orderflow ")
    for name in SUBCOMMANDS:
        assert f"\n    {name} " in result.stdout, name
    for arguments in (["worker", "--help"], ["catalog", "export", "--help"], ["keys", "new", "-h"]):
        assert orderflow(*arguments, cwd=tmp_path).returncode == 0
    for benchmark in ("orders", "customers", "soak"):
        bench = orderflow("bench", benchmark, "--help", cwd=tmp_path)
        assert bench.returncode == 0 and f"usage: orderflow bench {benchmark}" in bench.stdout


def test_building_the_command_line_imports_nothing_heavy() -> None:
    """What keeps `orderflow --help` instant: subcommands import what they need when they run."""
    probe = (
        "import sys; from orderflow.cli import build_parser; build_parser(); "
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r}))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


def test_bad_usage_exits_2_with_a_usage_line(tmp_path: Path) -> None:
    for arguments in (
        ["nope"],
        [],
        ["worker", "everything"],
        ["worker", "orders", "--fast"],
        ["migrate", "head", "again"],
        ["catalog"],
        ["bench", "nothing"],
    ):
        result = orderflow(*arguments, cwd=tmp_path)
        assert result.returncode == 2, (arguments, result.stderr)
        assert result.stderr.startswith("usage: orderflow"), (arguments, result.stderr)
        assert "Traceback" not in result.stderr
    assert "invalid choice: 'nope'" in orderflow("nope", cwd=tmp_path).stderr


def test_migrate_brings_a_fresh_sqlite_file_to_the_head(tmp_path: Path) -> None:
    database = tmp_path / "fresh.db"
    url = f"sqlite:///{database}"
    for _ in range(2):  # a second run has nothing to do, and says so
        result = orderflow("migrate", cwd=tmp_path, DATABASE_URL=url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"database at {url} is at head"
    with sqlite3.connect(database) as connection:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        [(revision,)] = connection.execute("SELECT version_num FROM alembic_version")
    assert {"customer", "order_number", "alembic_version"} <= tables
    assert revision == head_revision()


def test_migrate_without_a_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://postgres:secret@127.0.0.1:{free_port()}/nowhere"
    result = orderflow("migrate", cwd=tmp_path, DATABASE_URL=url)
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("orderflow: cannot migrate the database at postgresql+psycopg://")
    assert "secret" not in line and "Traceback" not in result.stderr


def test_invalid_settings_are_one_line_each_and_exit_2(tmp_path: Path) -> None:
    result = orderflow("migrate", cwd=tmp_path, DATABASE_URL="", API_PORT="eighty")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "orderflow: invalid setting API_PORT: Input should be a valid integer, unable to parse "
        "string as an integer"
    ]


def test_catalog_export_writes_the_eventcatalog_folder(tmp_path: Path) -> None:
    target = tmp_path / "eventcatalog"
    result = orderflow("catalog", "export", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    expected = export(tmp_path / "in-process")
    assert result.stdout.strip() == f"wrote {len(expected)} files under {target}/"
    written = sorted(p.relative_to(target) for p in target.rglob("*") if p.is_file())
    assert written == sorted(p.relative_to(tmp_path / "in-process") for p in expected)
    assert (target / ".eventcatalogrc.js").exists() and (target / "teams").is_dir()


def test_api_serves_on_the_settings_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    environment = {
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",  # down: the API starts anyway
        "DATABASE_URL": f"sqlite:///{tmp_path}/orderflow.db",
        "ENCRYPTION_KEYS": TEST_ENCRYPTION_KEYS,
    }
    arguments = ("--forwarded-allow-ips", "*", "--log-level", "warning")
    with api_process(tmp_path, *arguments, **environment) as api:
        # Proxy headers: a TLS-terminating proxy's scheme shows in the links.
        entry = httpx.get(f"{api.url}/v1", headers={"X-Forwarded-Proto": "https"})
        assert entry.json()["_links"]["self"]["href"].startswith(api.url.replace("http:", "https:"))
        assert "server" not in entry.headers  # uvicorn does not announce itself
    output = api.output
    # uvicorn shuts down cleanly, then re-raises the signal it caught, as its own CLI does.
    assert api.returncode in (0, -signal.SIGTERM), output
    assert "Traceback" not in output


def test_the_api_and_workers_refuse_to_start_without_encryption_keys(tmp_path: Path) -> None:
    """Outside the embedded stack nobody makes keys: no key, no start, one line saying what
    to set; ENCRYPTION=off is the explicit way to run in plaintext."""
    database = f"sqlite:///{tmp_path}/orderflow.db"
    result = orderflow("api", cwd=tmp_path, DATABASE_URL=database)
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("orderflow: payload encryption is on but no key is configured")
    assert "ENCRYPTION_KEYS" in line and "ENCRYPTION=off" in line
    broken = orderflow("api", cwd=tmp_path, DATABASE_URL=database, ENCRYPTION_KEYS="k1:c2hvcnQ=")
    assert broken.returncode == 2
    assert broken.stderr.strip().splitlines() == [
        "orderflow: invalid setting ENCRYPTION_KEYS: the key ring: key 'k1' has 5 "
        "bytes, AES-256 needs 32"
    ]
    missing = tmp_path / "no-such-file"
    result = orderflow("worker", cwd=tmp_path, ENCRYPTION_KEYS_FILE=str(missing))
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == f"orderflow: cannot read the key file {missing}: No such file or directory"
    )
