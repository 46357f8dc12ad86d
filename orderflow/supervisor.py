"""Keeps the embedded stack's processes running: a child that dies is started again, with
backoff and a log line, while the others carry on; a stop ends them all, newest first.

Until :meth:`Supervisor.supervise` is called (the stack is still starting) an exit is not
restarted but reported, so a port in use says so at once instead of retrying forever.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")
Say = Callable[[str], None]


def say_on_stdout(line: str) -> None:
    print(line, flush=True)


@dataclass(frozen=True)
class RestartPolicy:
    """How long a dead child waits before it is started again: ``delay`` seconds, doubling
    after every quick death up to ``max_delay``. A child that had run ``reset_after``
    seconds starts over at ``delay``: a rare crash is mended at once, while one that crashes
    on start settles at one attempt per ``max_delay`` instead of spinning the CPU."""

    delay: float = 0.5
    max_delay: float = 30.0
    reset_after: float = 30.0

    def next_delay(self, previous: float | None, ran_seconds: float) -> float:
        if previous is None or ran_seconds >= self.reset_after:
            return self.delay
        return min(previous * 2, self.max_delay)


@dataclass(eq=False)
class Child:
    """One supervised process. ``after_restart`` runs each time it is started again (its
    first start is the stack's business), e.g. to redo settings the process does not keep."""

    name: str
    command: list[str]
    after_restart: Callable[[], Awaitable[None]] | None = None
    process: asyncio.subprocess.Process | None = field(default=None, init=False)
    started_at: float = field(default=0.0, init=False)
    restarts: int = field(default=0, init=False)


class ChildExited(Exception):
    """A child died while the stack was starting."""


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived while the stack was starting."""


class Supervisor:
    """Starts children, restarts the ones that die (once supervising), stops them all."""

    def __init__(
        self, policy: RestartPolicy, *, stop_grace_seconds: float = 15.0, say: Say = say_on_stdout
    ) -> None:
        self.policy = policy
        self.stop_grace_seconds = stop_grace_seconds
        self.say = say
        self.children: list[Child] = []
        self.stop_requested = asyncio.Event()
        self._hurry = asyncio.Event()  # a second Ctrl-C: do not wait for graceful exits
        self._supervising = False
        self._stopping = False
        self._early_exit: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._watches: list[asyncio.Task[None]] = []

    def handle_signals(self) -> None:
        """SIGINT and SIGTERM ask for a stop; a second one cuts the grace period short."""
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_stop)

    def request_stop(self) -> None:
        if self.stop_requested.is_set():
            self._hurry.set()
        self.stop_requested.set()

    async def start(self, child: Child) -> None:
        await self._spawn(child)
        self.say(f"started {child.name} (pid {pid(child)})")
        self.children.append(child)
        self._watches.append(asyncio.create_task(self._watch(child), name=f"watch {child.name}"))

    async def starting(self, step: Awaitable[T]) -> T:
        """``step`` of the start-up, cut short by a stop request or by a child that exits."""
        task = asyncio.ensure_future(step)
        stop = asyncio.create_task(self.stop_requested.wait())
        try:
            await asyncio.wait({task, stop, self._early_exit}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if self._early_exit.done():
            task.cancel()
            raise ChildExited(self._early_exit.result())
        if self.stop_requested.is_set():
            task.cancel()
            raise StopRequested()
        return task.result()

    def supervise(self) -> None:
        """From now on, a child that exits is started again."""
        self._supervising = True

    async def stop(self) -> None:
        """SIGTERM to each child, newest first, SIGKILL to one still running after the grace
        period. A child waiting to be restarted is not restarted."""
        self._stopping = True
        self.stop_requested.set()
        for child in reversed(self.children):
            await self._end(child)
        # A restart that was under way when the stop began ends its own process.
        await asyncio.gather(*self._watches, return_exceptions=True)

    async def _spawn(self, child: Child) -> None:
        # Own session: a Ctrl-C in the terminal reaches only us, and we stop children in order.
        child.process = await asyncio.create_subprocess_exec(
            *child.command, start_new_session=True, preexec_fn=_ends_with(os.getpid())
        )
        child.started_at = time.monotonic()

    async def _end(self, child: Child) -> None:
        process = child.process
        if process is None or process.returncode is not None:
            return
        waiting = asyncio.create_task(process.wait())
        _signal(process, signal.SIGTERM)
        hurry = asyncio.create_task(self._hurry.wait())
        await asyncio.wait(
            {waiting, hurry}, timeout=self.stop_grace_seconds, return_when=asyncio.FIRST_COMPLETED
        )
        hurry.cancel()
        if process.returncode is None:
            if not self._hurry.is_set():
                self.say(f"{child.name} did not stop in {self.stop_grace_seconds:g}s; killing it")
            _signal(process, signal.SIGKILL)
        await waiting

    async def _watch(self, child: Child) -> None:
        delay: float | None = None
        while True:
            assert child.process is not None
            code = await child.process.wait()
            if self._stopping:
                return
            ran = time.monotonic() - child.started_at
            if not self._supervising:
                if not self._early_exit.done():
                    self._early_exit.set_result(f"{child.name} exited with {exit_status(code)}")
                return
            delay = self.policy.next_delay(delay, ran)
            self.say(
                f"{child.name} exited with {exit_status(code)} after {ran:.1f}s; "
                f"restarting in {delay:g}s"
            )
            if await _stop_within(self.stop_requested, delay):
                return
            try:
                await self._spawn(child)
            except OSError as error:
                self.say(f"{child.name} could not be restarted: {error}")
                child.started_at = time.monotonic()
                continue
            if self._stopping:  # the stop began while it was being spawned
                await self._end(child)
                return
            child.restarts += 1
            self.say(f"restarted {child.name} (pid {pid(child)}, restart {child.restarts})")
            if child.after_restart is not None:
                await self._after_restart(child, child.after_restart)

    async def _after_restart(self, child: Child, hook: Callable[[], Awaitable[None]]) -> None:
        """Run the hook while the child lives; if it dies first, the watch loop takes over."""
        assert child.process is not None
        running = asyncio.ensure_future(hook())
        exited = asyncio.create_task(child.process.wait())
        await asyncio.wait({running, exited}, return_when=asyncio.FIRST_COMPLETED)
        if not running.done():
            running.cancel()
            return
        exited.cancel()
        if (error := running.exception()) is not None:
            self.say(f"{child.name} restarted, but {error}")


def pid(child: Child) -> int:
    assert child.process is not None
    return child.process.pid


PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _ends_with(parent: int) -> Callable[[], None] | None:
    """What a child runs before it starts, so that it gets SIGTERM when the supervisor dies,
    even by SIGKILL (Linux). Without it, a killed ``orderflow run`` left its children serving
    with nobody to stop them."""
    if not sys.platform.startswith("linux"):
        return None

    def ask_for_sigterm() -> None:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the supervisor died before the request was made
            os.kill(os.getpid(), signal.SIGTERM)

    return ask_for_sigterm


def _signal(process: asyncio.subprocess.Process, signum: int) -> None:
    try:
        process.send_signal(signum)
    except ProcessLookupError:
        pass  # it has just exited: nothing left to stop


def exit_status(code: int) -> str:
    """``code 1``, or ``code -9 (SIGKILL)`` for a child ended by a signal."""
    if code < 0:
        try:
            return f"code {code} ({signal.Signals(-code).name})"
        except ValueError:
            pass
    return f"code {code}"


async def _stop_within(stop: asyncio.Event, seconds: float) -> bool:
    """Wait ``seconds``, or less if a stop is requested; whether it was."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
