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
from typing import TypeAlias

from orderflow.subcommands import (
    API_GRACEFUL_SHUTDOWN_SECONDS,
    WORKER_KINDS,
    export_catalog,
    new_key,
    run_api,
    run_benchmark,
    run_embedded,
    run_migrate,
    run_worker,
)

UVICORN_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")

Handler = Callable[[argparse.Namespace], int]
# What add_subparsers() returns: where a command's own subcommands are added.
Group: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


def command_line(*arguments: str) -> list[str]:
    """The command line that runs ``orderflow ARGUMENTS`` with this Python, for child processes:
    they start the way a user starts them, whether or not the console script is on PATH."""
    return [sys.executable, "-m", "orderflow", *arguments]


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
        name: str,
        handler: Handler | None,
        summary: str,
        description: str,
        *,
        under: Group = commands,
    ) -> argparse.ArgumentParser:
        sub = under.add_parser(name, help=summary, description=description)
        if handler is not None:
            sub.set_defaults(handler=handler)
        return sub

    def group(name: str, summary: str, description: str, *, of: str = "command") -> Group:
        """A subcommand that only names subcommands of its own (``catalog export``)."""
        return add(name, None, summary, description).add_subparsers(
            title=f"{of}s", metavar=of.upper(), required=True
        )

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

    catalog = group(
        "catalog",
        "the message catalog",
        "The message catalog (commands, queries, events, their owners and JSON Schemas).",
    )
    export = add(
        "export",
        export_catalog,
        "write it as an EventCatalog folder",
        "Write the catalog as an EventCatalog folder (teams, services, commands, "
        "queries, events, each message with its schema.json), generated from the code.",
        under=catalog,
    )
    export.add_argument("directory", type=Path, metavar="DIR", help="folder to write to")

    keys = group(
        "keys",
        "API keys: make one",
        "API keys have a name (recorded as the actor of what they do) and scopes; the "
        "service keeps only the SHA-256 of each secret, in API_KEYS or API_KEYS_FILE.",
    )
    new = add(
        "new",
        new_key,
        "a fresh secret and its settings entry",
        "Print a fresh random secret for a key named NAME with SCOPES, and the "
        "entry that configures it (NAME:SCOPES:SHA256). Scopes: orders:read, orders:write, "
        "customers:read, customers:write, events:read, metrics:read, admin (all of them).",
        under=keys,
    )
    new.add_argument("name", metavar="NAME", help="the key's name, e.g. shop-frontend")
    new.add_argument("scopes", nargs="+", metavar="SCOPE", help="what the key may do")

    benchmarks = group(
        "bench",
        "measure the service on a throw-away embedded stack",
        "Start the embedded stack on free ports with a throw-away data folder and measure it. "
        "`orderflow bench BENCHMARK --help` lists a benchmark's options. Needs the dev "
        "dependencies (pip install -e '.[dev]').",
        of="benchmark",
    )
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
