"""The `orderflow` command: one way to start each process of the service.

Every subcommand imports what it needs only when it runs, so ``orderflow --help`` answers at
once. Configuration comes from the settings (environment and ``.env``), never from flags that
duplicate them; invalid settings stop a subcommand with exit code 2 and one line per variable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

WORKER_KINDS = ("orders", "customers")
UVICORN_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
# Open event streams never end by themselves: uvicorn cuts them this long after SIGTERM.
API_GRACEFUL_SHUTDOWN_SECONDS = 5

Handler = Callable[[argparse.Namespace], int]


def command_line(*arguments: str) -> list[str]:
    """The command line that runs ``orderflow ARGUMENTS`` with this Python, for child processes:
    they start the way a user starts them, whether or not the console script is on PATH."""
    return [sys.executable, "-m", "orderflow", *arguments]


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
    from orderflow.catalog_export import export

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


def build_parser() -> argparse.ArgumentParser:
    """The whole command line; building it imports nothing of the service."""
    parser = argparse.ArgumentParser(
        prog="orderflow",
        description="orderflow: the order lifecycle of a delivery business, on Temporal.",
        epilog=(
            "Settings come from the environment and .env (TEMPORAL_ADDRESS, DATABASE_URL, "
            "API_PORT, …; see the README). Exit codes: 0 done, 1 failed, 2 bad usage or "
            "invalid settings."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    def add(
        name: str, handler: Handler | None, summary: str, description: str
    ) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=summary, description=description)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    add(
        "run",
        run_embedded,
        "the whole service on this machine (what `make run` starts)",
        "Start the embedded stack: a Temporal dev server with its Web UI, a worker for each "
        "task queue, and the API, with state under DATA_DIR (.data/). Each child is started "
        "as `orderflow worker …` or `orderflow api`, and one that dies is started again (with "
        "backoff) while the others keep serving. Ctrl-C or SIGTERM stops them all.",
    )
    worker = add(
        "worker",
        run_worker,
        "a worker for the orders and/or customers task queue",
        "Run the workers for the named task queues (both when none is named) until SIGTERM "
        "or Ctrl-C, then finish the tasks in hand. Start more processes to scale a queue.",
    )
    worker.add_argument(
        "kinds",
        nargs="*",
        type=_worker_kind,
        metavar="{orders,customers}",
        help="which task queues to work on (default: both)",
    )
    api = add(
        "api",
        run_api,
        "the HTTP API (uvicorn on API_HOST:API_PORT)",
        "Serve the HTTP API with uvicorn on API_HOST:API_PORT, honouring proxy headers; on "
        f"SIGTERM, open event streams are cut after {API_GRACEFUL_SHUTDOWN_SECONDS} s.",
    )
    api.add_argument(
        "--forwarded-allow-ips",
        default="127.0.0.1",
        metavar="IPS",
        help="comma-separated addresses (or '*') of proxies whose X-Forwarded-* headers are "
        "trusted (default: %(default)s)",
    )
    api.add_argument(
        "--log-level",
        choices=UVICORN_LOG_LEVELS,
        help="uvicorn's own log level (start-up and access lines; default: LOG_LEVEL)",
    )
    migrate = add(
        "migrate",
        run_migrate,
        "bring the database schema up to date (Alembic)",
        "Apply the database migrations to DATABASE_URL. Run it once per release, before the "
        "API and workers; the embedded stack does it on start.",
    )
    migrate.add_argument(
        "revision", nargs="?", default="head", help="target revision (default: %(default)s)"
    )

    catalog = add(
        "catalog",
        None,
        "the message catalog",
        "The message catalog (commands, queries, events, their owners and JSON Schemas).",
    )
    catalog_commands = catalog.add_subparsers(title="commands", metavar="COMMAND", required=True)
    export = catalog_commands.add_parser(
        "export",
        help="write it as an EventCatalog folder",
        description="Write the catalog as an EventCatalog folder (teams, services, commands, "
        "queries, events, each message with its schema.json), generated from the code.",
    )
    export.set_defaults(handler=export_catalog)
    export.add_argument("directory", type=Path, metavar="DIR", help="folder to write to")

    keys = add(
        "keys",
        None,
        "API keys: make one",
        "API keys have a name (recorded as the actor of what they do) and scopes; the "
        "service keeps only the SHA-256 of each secret, in API_KEYS or API_KEYS_FILE.",
    )
    keys_commands = keys.add_subparsers(title="commands", metavar="COMMAND", required=True)
    new = keys_commands.add_parser(
        "new",
        help="a fresh secret and its settings entry",
        description="Print a fresh random secret for a key named NAME with SCOPES, and the "
        "entry that configures it (NAME:SCOPES:SHA256). Scopes: orders:read, orders:write, "
        "customers:read, customers:write, events:read, metrics:read, admin (all of them).",
    )
    new.set_defaults(handler=new_key)
    new.add_argument("name", metavar="NAME", help="the key's name, e.g. shop-frontend")
    new.add_argument("scopes", nargs="+", metavar="SCOPE", help="what the key may do")

    bench = add(
        "bench",
        None,
        "measure the service on a throw-away embedded stack",
        "Start the embedded stack on free ports with a throw-away data folder and measure it. "
        "`orderflow bench BENCHMARK --help` lists a benchmark's options. Needs the dev "
        "dependencies (pip install -e '.[dev]').",
    )
    benchmarks = bench.add_subparsers(title="benchmarks", metavar="BENCHMARK", required=True)
    for name, summary in (
        ("orders", "orders walked through their lifecycle over HTTP and through the SDK"),
        ("customers", "customer registrations per second and the outbox-to-SSE delay"),
        ("soak", "mixed load for a set time: no 5xx, nothing stuck, no memory growth"),
    ):
        # Its own options (and --help) are the benchmark's: passed on unparsed.
        benchmark = benchmarks.add_parser(name, help=summary, add_help=False)
        benchmark.set_defaults(handler=run_benchmark, benchmark=name, takes_options=True)
    return parser


def parse_arguments(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """What the command line asks for: ``handler`` and its arguments. Usage errors exit 2."""
    parser = build_parser()
    args, options = parser.parse_known_args(argv)
    if options and not getattr(args, "takes_options", False):
        parser.error(f"unrecognized arguments: {' '.join(options)}")
    args.options = options
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """The ``orderflow`` console script."""
    args = parse_arguments(argv)
    handler: Handler = args.handler
    return handler(args)


def _worker_kind(text: str) -> str:
    if text not in WORKER_KINDS:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(WORKER_KINDS)})"
        )
    return text


def _version() -> str:
    try:
        return metadata.version("orderflow")
    except metadata.PackageNotFoundError:
        return "unknown"
