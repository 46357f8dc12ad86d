"""`make run` as a user runs it, for tests: on free ports in a temporary data folder, its
output read line by line, stopped by the signal Ctrl-C (or an orchestrator) sends."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest

from orderflow import temporal
from orderflow.embedded import KEY_FILE
from orderflow.settings import Settings
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
CHILDREN = ("temporal", "orders-worker", "customers-worker", "api")


def stack_environment(data_dir: Path) -> dict[str, str]:
    """The environment of a stack on free ports, with all its state in ``data_dir``."""
    env = {
        **os.environ,
        "API_PORT": str(free_port()),
        "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}",
        "TEMPORAL_UI_PORT": str(free_port()),
        "DATA_DIR": str(data_dir),
    }
    env.pop("DATABASE_URL", None)  # the customer database goes where DATA_DIR says
    # As a newcomer runs it: the stack makes its own encryption keys in DATA_DIR.
    for name in ("ENCRYPTION", "ENCRYPTION_KEYS", "ENCRYPTION_KEYS_FILE", "API_KEYS"):
        env.pop(name, None)
    return env


@dataclass
class RunningStack:
    """A running `make run`: its output so far, and the pids of its children."""

    env: dict[str, str]
    lines: list[str] = field(default_factory=list)
    ended: bool = False  # its output is closed: it has stopped
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['API_PORT']}"

    @property
    def temporal_address(self) -> str:
        return self.env["TEMPORAL_ADDRESS"]

    @property
    def ui(self) -> str:
        return f"http://localhost:{self.env['TEMPORAL_UI_PORT']}"

    @property
    def settings(self) -> Settings:
        """What a client of this stack needs: its address and the keys it made."""
        data = Path(self.env["DATA_DIR"])
        return Settings(
            _env_file=None,
            temporal_address=self.temporal_address,
            data_dir=data,
            encryption=True,
            encryption_keys=None,
            encryption_keys_file=(data / KEY_FILE).resolve(),
        )

    @property
    def output(self) -> str:
        with self.changed:
            return "".join(self.lines)

    def pids(self) -> dict[str, int]:
        """Each child's current pid (the latest `started` or `restarted` line)."""
        found = re.findall(r"^(?:re)?started ([\w-]+) \(pid (\d+)", self.output, re.M)
        return {name: int(pid) for name, pid in found}

    def all_pids(self) -> list[int]:
        """Every process the stack started, restarted ones included."""
        return [int(pid) for pid in re.findall(r"^(?:re)?started [\w-]+ \(pid (\d+)", self.output, re.M)]  # fmt: skip

    def wait_for(self, pattern: str, *, count: int = 1, timeout: float = 60.0) -> list[str]:
        """Wait (bounded) until ``count`` lines match ``pattern``; those lines."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(matches := re.findall(f"^.*{pattern}.*$", "".join(self.lines), re.M)) < count:
                left = deadline - time.monotonic()
                # Bounded, and cut short when the stack has stopped.
                assert left > 0 and not self.ended, (
                    f"no {count} lines like {pattern!r}:\n{''.join(self.lines)}"
                )
                self.changed.wait(left)
            return matches


@contextmanager
def make_run(env: dict[str, str], stop_signal: int) -> Iterator[RunningStack]:
    """Run `make run` until it is up; on exit, send ``stop_signal`` to its process group
    (SIGINT is what Ctrl-C sends) and wait for everything to stop."""
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack = RunningStack(env)

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            with stack.changed:
                stack.lines.append(line)
                stack.changed.notify_all()
        with stack.changed:
            stack.ended = True
            stack.changed.notify_all()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        stack.wait_for("^orderflow is up", timeout=90)
        assert sorted(stack.pids()) == sorted(CHILDREN), stack.output
        yield stack
    finally:
        os.killpg(process.pid, stop_signal)
        assert process.wait(60) is not None
        reader.join(10)
    assert "stopped" in stack.output, stack.output
    assert not [pid for pid in stack.all_pids() if alive(pid)], stack.output


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in status.read_text()
    except FileNotFoundError:
        return False


def orderflow_arguments(pid: int) -> list[str]:
    """The `orderflow` subcommand a child of the stack runs (started as `python -m orderflow`)."""
    command = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    assert command[1:3] == ["-m", "orderflow"], command
    return command[3:]


def retention_days(stack: RunningStack) -> float:
    """How long the stack's dev server keeps closed workflows, in days."""

    async def describe() -> float:
        client = await temporal.connect(stack.settings)
        request = DescribeNamespaceRequest(namespace="default")
        described = await client.workflow_service.describe_namespace(request)
        return described.config.workflow_execution_retention_ttl.ToTimedelta().days

    return asyncio.run(describe())
