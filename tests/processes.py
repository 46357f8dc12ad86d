"""Real orderflow processes for tests: a worker started through the console script, with
the test's settings in its environment, stopped by its own pid."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orderflow.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# The console script pip installed beside this Python: workers start as `orderflow worker …`.
ORDERFLOW = str(Path(sys.executable).with_name("orderflow"))


def worker_environment(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "TEMPORAL_ADDRESS": settings.temporal_address,
        "TEMPORAL_NAMESPACE": settings.temporal_namespace,
        "ORDERS_TASK_QUEUE": settings.orders_task_queue,
        "DATABASE_URL": settings.database_url,
        "WORKER_GRACEFUL_SHUTDOWN_SECONDS": "10",
        **(
            {"WORKER_METRICS_ADDRESS": settings.worker_metrics_address}
            if settings.worker_metrics_address
            else {}
        ),
    }


@contextmanager
def worker_process(settings: Settings, *kinds: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [ORDERFLOW, "worker", *kinds],
        cwd=ROOT,
        env=worker_environment(settings),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:  # wait until it polls
            if "worker running" in line:
                break
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
