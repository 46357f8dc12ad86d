"""The supervisor on its own, with small real processes: restarts with backoff and a line per
exit and restart, siblings untouched, start-up failures reported, a clean stop."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
from pathlib import Path

import pytest

from orderflow.supervisor import (
    Child,
    ChildExited,
    RestartPolicy,
    StopRequested,
    Supervisor,
    exit_status,
)
from tests.embedded import alive
from tests.helpers import eventually

CRASHES = ["sh", "-c", "exit 3"]
# Waits for a signal; SIGTERM ends it.
STEADY = [sys.executable, "-c", "import signal; signal.pause()"]
# Ignores SIGTERM: only SIGKILL ends it.
STUBBORN = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); signal.pause()",
]


def signal_mask(pid: int, kind: str) -> int:
    """A signal mask of /proc/PID/status, e.g. SigIgn: the signals it ignores."""
    return int(Path(f"/proc/{pid}/status").read_text().split(f"{kind}:")[1].split()[0], 16)


async def ignores_sigterm(pid: int) -> None:
    assert signal_mask(pid, "SigIgn") & (1 << (signal.SIGTERM - 1))


def started_pids(lines: list[str]) -> list[int]:
    return [int(pid) for line in lines for pid in re.findall(r"started \S+ \(pid (\d+)", line)]


def test_restart_delay_doubles_up_to_the_cap_and_starts_over_after_a_long_run() -> None:
    policy = RestartPolicy(delay=0.5, max_delay=4, reset_after=30)
    delays: list[float] = []
    previous = None
    for _ in range(6):  # a child that dies at once, again and again
        previous = policy.next_delay(previous, ran_seconds=0.1)
        delays.append(previous)
    assert delays == [0.5, 1, 2, 4, 4, 4]
    assert policy.next_delay(4, ran_seconds=30) == 0.5  # it had run a while: a fresh crash
    assert policy.next_delay(4, ran_seconds=29) == 4


def test_exit_status_names_the_signal() -> None:
    assert exit_status(1) == "code 1"
    assert exit_status(-9) == "code -9 (SIGKILL)"


async def test_a_child_that_keeps_dying_is_restarted_with_backoff_and_its_sibling_runs_on() -> None:
    lines: list[str] = []
    supervisor = Supervisor(
        RestartPolicy(delay=0.1, max_delay=0.4, reset_after=60), say=lines.append
    )
    restarted_hook = 0

    async def after_restart() -> None:
        nonlocal restarted_hook
        restarted_hook += 1

    try:
        await supervisor.start(Child("steady", STEADY))
        await supervisor.start(Child("crashes", CRASHES, after_restart=after_restart))
        steady = supervisor.children[0].process
        assert steady is not None
        supervisor.supervise()

        async def restarted_four_times() -> None:
            assert sum(line.startswith("restarted crashes") for line in lines) >= 4

        await eventually(restarted_four_times)
    finally:
        await supervisor.stop()
    exits = [line for line in lines if line.startswith("crashes exited")]
    # One line per exit (its code, how long it ran, the wait), one per restart.
    assert re.fullmatch(r"crashes exited with code 3 after [\d.]+s; restarting in 0\.1s", exits[0])
    delays = [float(re.findall(r"restarting in ([\d.]+)s", line)[0]) for line in exits]
    assert delays[:4] == [0.1, 0.2, 0.4, 0.4]  # doubling to the cap: no busy loop
    first_restart = next(line for line in lines if line.startswith("restarted"))
    assert re.fullmatch(r"restarted crashes \(pid \d+, restart 1\)", first_restart)
    assert restarted_hook >= 4
    # The sibling was never touched until the stop.
    assert not [line for line in lines if "steady" in line and "started steady" not in line]
    assert steady.returncode == -15  # stopped by SIGTERM
    assert not [pid for pid in started_pids(lines) if alive(pid)]


async def test_stop_kills_a_child_that_ignores_sigterm_after_the_grace_period() -> None:
    lines: list[str] = []
    supervisor = Supervisor(RestartPolicy(), stop_grace_seconds=0.5, say=lines.append)
    await supervisor.start(Child("stubborn", STUBBORN))
    process = supervisor.children[0].process
    assert process is not None

    await eventually(lambda: ignores_sigterm(process.pid))
    supervisor.supervise()
    await supervisor.stop()
    assert process.returncode == -9
    assert "stubborn did not stop in 0.5s; killing it" in lines


async def test_a_second_stop_request_does_not_wait_for_the_grace_period() -> None:
    lines: list[str] = []
    supervisor = Supervisor(RestartPolicy(), stop_grace_seconds=60, say=lines.append)
    await supervisor.start(Child("stubborn", STUBBORN))
    process = supervisor.children[0].process
    assert process is not None
    await eventually(lambda: ignores_sigterm(process.pid))
    supervisor.request_stop()  # the first Ctrl-C
    supervisor.request_stop()  # the second, before the stubborn child is done
    await asyncio.wait_for(supervisor.stop(), 5)
    assert process.returncode == -9
    assert not [line for line in lines if "did not stop" in line]


async def test_a_child_waiting_to_be_restarted_is_not_restarted_after_a_stop() -> None:
    lines: list[str] = []
    supervisor = Supervisor(RestartPolicy(delay=30), say=lines.append)
    await supervisor.start(Child("crashes", CRASHES))
    supervisor.supervise()

    async def waiting() -> None:
        assert any(line.startswith("crashes exited") for line in lines)

    await eventually(waiting)
    await asyncio.wait_for(supervisor.stop(), 5)  # does not sit out the 30 s
    assert not any(line.startswith("restarted") for line in lines)


async def test_a_child_that_dies_during_start_up_fails_it() -> None:
    supervisor = Supervisor(RestartPolicy(), say=[].append)
    try:
        await supervisor.start(Child("crashes", CRASHES))
        with pytest.raises(ChildExited, match="crashes exited with code 3"):
            await supervisor.starting(asyncio.Event().wait())
    finally:
        await supervisor.stop()


async def test_a_stop_request_cuts_start_up_short() -> None:
    lines: list[str] = []
    supervisor = Supervisor(RestartPolicy(), say=lines.append)
    try:
        await supervisor.start(Child("steady", STEADY))
        asyncio.get_running_loop().call_soon(supervisor.request_stop)
        with pytest.raises(StopRequested):
            await supervisor.starting(asyncio.Event().wait())
    finally:
        await supervisor.stop()
    assert not [pid for pid in started_pids(lines) if alive(pid)]


SUPERVISOR_OF_ONE = """
import asyncio, sys
from orderflow.supervisor import Child, RestartPolicy, Supervisor

async def main() -> None:
    supervisor = Supervisor(RestartPolicy(), say=lambda line: print(line, flush=True))
    await supervisor.start(Child("steady", sys.argv[1:]))
    supervisor.supervise()
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def test_children_end_when_the_supervisor_is_killed() -> None:
    """SIGKILL leaves the supervisor no chance to stop its children: they must notice."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SUPERVISOR_OF_ONE, *STEADY, stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
        [child] = started_pids([line])
        assert alive(child)
    finally:
        process.kill()
        await process.wait()

    async def ended() -> None:
        assert not alive(child)

    try:
        await eventually(ended)
    finally:
        if alive(child):  # the test failed: leave no process behind
            os.kill(child, signal.SIGKILL)
