"""The soak's command line: how long, how fast, how many subscribers, and what fails it."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from orderflow.bench.stack import POSTGRES_ADMIN

DESCRIPTION = "Soak: mixed load at a steady, moderate rate for a set time, then a verdict."


def options(argv: Sequence[str] | None, prog: str | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=DESCRIPTION)
    add = parser.add_argument
    add("--minutes", type=float, default=10.0, help="how long the load runs (%(default)g)")
    add(
        "--warm-up",
        type=float,
        metavar="SECONDS",
        help="memory growth is counted from then on (default: a quarter of the run, at most 60)",
    )
    add(
        "--orders-per-second",
        type=float,
        default=1.0,
        metavar="N",
        help="orders placed (and walked to delivered) per second (%(default)g)",
    )
    add(
        "--registrations-per-second",
        type=float,
        default=1.0,
        metavar="N",
        help="customers registered (and read back) per second (%(default)g)",
    )
    add(
        "--burst",
        type=int,
        default=20,
        metavar="N",
        help="location updates sent to each order on its way (%(default)s)",
    )
    add("--subscribers", type=int, default=4, metavar="N", help="live subscribers (%(default)s)")
    add(
        "--reconnect-every",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how often (±50%%) every other subscriber reconnects with Last-Event-ID (%(default)g)",
    )
    add(
        "--stuck-after",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="a request not answered within this is stuck; also the longest a subscriber may "
        "wait for the next event (%(default)g)",
    )
    add(
        "--max-growth-mib",
        type=float,
        default=64.0,
        metavar="MIB",
        help="the most the API's or a worker's resident memory may grow after warm-up "
        "(%(default)g)",
    )
    add(
        "--sample-seconds",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="time between memory samples (%(default)g)",
    )
    add(
        "--max-in-flight",
        type=int,
        default=50,
        metavar="N",
        help="walks (and registrations) in flight at most; more arrivals are skipped (%(default)s)",
    )
    add(
        "--postgres-url",
        default=POSTGRES_ADMIN,
        metavar="URL",
        help="a PostgreSQL server to create the throw-away database on (%(default)s)",
    )
    add("--json", type=Path, metavar="FILE", help="also write the report as JSON")
    args = parser.parse_args(argv)
    if args.minutes <= 0 or args.stuck_after <= 0 or args.sample_seconds <= 0:
        parser.error("--minutes, --stuck-after and --sample-seconds must be positive")
    if args.warm_up is None:
        args.warm_up = min(60.0, args.minutes * 60 / 4)
    return args
