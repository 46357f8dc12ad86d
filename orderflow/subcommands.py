"""What each subcommand of the `orderflow` command does (orderflow/cli.py reads the command
line). Each handler imports what it needs only when it runs, so ``orderflow --help`` answers at
once; each returns the process's exit code."""

from __future__ import annotations

import argparse
import sys

WORKER_KINDS = ("orders", "customers")
# Open event streams never end by themselves: uvicorn cuts them this long after SIGTERM.
API_GRACEFUL_SHUTDOWN_SECONDS = 5


def run_embedded(args: argparse.Namespace) -> int:
    from orderflow import embedded

    return embedded.main()


def encryption_keys_missing() -> int | None:
    """Exit code 2, with one line saying why, when payload encryption is on and its keys
    are missing or unusable: the API and workers do not start without them."""
    from orderflow.encryption import KeyRingError
    from orderflow.settings import get_settings
    from orderflow.temporal import key_ring

    try:
        key_ring(get_settings())
    except KeyRingError as error:
        print(f"orderflow: {error}", file=sys.stderr)
        return 2
    return None


def run_worker(args: argparse.Namespace) -> int:
    import asyncio

    import worker

    if (code := encryption_keys_missing()) is not None:
        return code
    kinds = list(dict.fromkeys(args.kinds)) or list(WORKER_KINDS)
    code = asyncio.run(worker.main(kinds))
    # The worker has stopped (or never started); the SDK's runtime threads may still be
    # alive, and interpreter shutdown with them can abort the process (PyGILState_Release).
    # Leave now, with the code the worker chose.
    import logging
    import os
    import sys

    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_api(args: argparse.Namespace) -> int:
    import logging

    import uvicorn

    from orderflow.settings import get_settings

    settings = get_settings()  # before uvicorn: invalid settings are one line each, exit 2
    if (code := encryption_keys_missing()) is not None:
        return code
    log_level = args.log_level or logging.getLevelName(settings.log_level.upper())
    uvicorn.run(
        "api.main:create_app",
        factory=True,
        host=settings.api_host,
        port=settings.api_port,
        proxy_headers=True,
        forwarded_allow_ips=args.forwarded_allow_ips,
        timeout_graceful_shutdown=API_GRACEFUL_SHUTDOWN_SECONDS,
        log_level=log_level,
        server_header=False,  # no "server: uvicorn": nothing to tell a scanner
        # Header limits: the API answers 431 above API_MAX_HEADER_BYTES. h11 (when httptools
        # is not installed) must not cut in first with a bare 400, so its buffer is larger;
        # httptools has no limit of its own.
        h11_max_incomplete_event_size=max(4 * settings.api_max_header_bytes, 65_536),
    )
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from orderflow.database.engine import create_database_engine
    from orderflow.database.migrate import upgrade
    from orderflow.settings import get_settings

    engine = create_database_engine(get_settings().database_url)
    where = engine.url.render_as_string()  # the password hidden
    try:
        upgrade(engine, args.revision)
    except OperationalError as error:
        # One line an orchestrator's log shows well; the step is retried (restart: on-failure).
        reason = str(error.orig or error).strip().splitlines()[0]
        print(f"orderflow: cannot migrate the database at {where}: {reason}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(f"database at {where} is at {args.revision}")
    return 0


def export_catalog(args: argparse.Namespace) -> int:
    from api.published.catalog_export import export

    files = export(args.directory)
    print(f"wrote {len(files)} files under {args.directory}/")
    return 0


def new_key(args: argparse.Namespace) -> int:
    from orderflow.access import ApiKey

    try:
        secret, key = ApiKey.new(args.name, args.scopes)
    except ValueError as error:
        print(f"orderflow keys new: {error}", file=sys.stderr)
        return 2
    print(f"secret (give it to the client; it is shown once and stored nowhere): {secret}")
    print(f"settings entry (add it to API_KEYS, or as a line of API_KEYS_FILE): {key.entry()}")
    return 0


def run_benchmark(args: argparse.Namespace) -> int:
    import importlib

    # Each benchmark is a module of orderflow.bench with a main(argv, prog=…).
    benchmark = importlib.import_module(f"orderflow.bench.{args.benchmark}")
    code: int = benchmark.main(args.options, prog=f"orderflow bench {args.benchmark}")
    return code
