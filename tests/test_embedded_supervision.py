"""`make run` supervises: each child killed with SIGKILL is started again, the others keep
serving, and an open order carries on, across a restart of the dev server too."""

from __future__ import annotations

import os
import re
import signal
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from tests.embedded import RunningStack, alive, make_run, retention_days, stack_environment
from tests.helpers import WALK, wait_until

TIMEOUT = httpx.Timeout(30)


def kill(stack: RunningStack, name: str, *, while_down: Callable[[], None] | None = None) -> None:
    """SIGKILL the child ``name`` and wait until it is restarted, the others untouched;
    ``while_down`` runs between its death and its restart."""
    before = stack.pids()
    os.kill(before[name], signal.SIGKILL)
    stack.wait_for(rf"^{name} exited with code -9 \(SIGKILL\) after [\d.]+s; restarting in 2s")
    if while_down is not None:
        while_down()
        assert f"restarted {name}" not in stack.output, "restarted too soon for the test"
    restarted = stack.wait_for(rf"^restarted {name} \(pid \d+, restart 1\)")
    after = stack.pids()
    assert after[name] != before[name] and alive(after[name]), restarted
    # The others kept running: same processes, still alive.
    others = {child: pid for child, pid in before.items() if child != name}
    assert {child: after[child] for child in others} == others
    assert all(alive(pid) for pid in others.values())


def walk(order: dict[str, Any], steps: list[tuple[str, dict[str, Any], str]]) -> None:
    for name, params, status in steps:
        apply(order, name, params, status)


def apply(order: dict[str, Any], name: str, params: dict[str, Any], status: str) -> None:
    """Apply a command as a careful client does: one answered 503 (or 202) is sent again
    with the same Idempotency-Key until it is answered 200; it is applied once."""
    href = f"{order['_links']['commands']['href']}/{name}"
    key = {"Idempotency-Key": str(uuid.uuid4())}

    def applied() -> bool:
        response = httpx.put(href, params=params, headers=key, timeout=TIMEOUT)
        assert response.status_code in (200, 202, 503), (name, response.text)
        return response.status_code == 200 and response.json()["status"] == status

    wait_until(applied, timeout=60, interval=0.5)


def readable_or_unavailable(url: str) -> bool:
    """Whether ``url`` reads 200; else it must be a 503 (never refused, never a 500)."""
    response = httpx.get(url, timeout=TIMEOUT)
    assert response.status_code in (200, 503), response.text
    return response.status_code == 200


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=TIMEOUT).status_code == 200
    except httpx.TransportError:
        return False


def test_every_child_killed_is_restarted_and_the_order_carries_on(tmp_path: Path) -> None:
    # A dead child waits 2 s before its restart (0.5 by default): time to see how the
    # service answers without it.
    env = {**stack_environment(tmp_path / "data"), "SUPERVISOR_RESTART_DELAY_SECONDS": "2"}
    with make_run(env, signal.SIGTERM) as stack:
        api = stack.api
        ada = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}
        assert httpx.post(f"{api}/v1/customers", json=ada, timeout=TIMEOUT).status_code == 201
        created = httpx.post(f"{api}/v1/orders", json={"accountId": 1}, timeout=TIMEOUT)
        assert created.status_code == 201, created.text
        order = created.json()
        self_href = order["_links"]["self"]["href"]
        walk(order, WALK[:1])

        # The order worker: the API keeps answering; the restarted worker takes the order on.
        kill(stack, "orders-worker")
        assert httpx.get(f"{api}/healthz", timeout=TIMEOUT).status_code == 200
        stack.wait_for("worker running orders", count=2)
        walk(order, WALK[1:2])

        # The customer worker: registrations work again.
        kill(stack, "customers-worker")
        stack.wait_for("worker running customers", count=2)
        bob = {"firstName": "Bob", "lastName": "Lovelace", "email": "bob@example.com"}
        registered = httpx.post(f"{api}/v1/customers", json=bob, timeout=TIMEOUT)
        assert registered.status_code == 201, registered.text

        # The API: refused only until it is back.
        kill(stack, "api")
        wait_until(lambda: answers(self_href), timeout=30)
        walk(order, WALK[2:3])

        # The dev server: while it is away the API answers 503 with Retry-After (it does not
        # refuse connections), and the open order carries on once it is back.
        def unavailable() -> None:
            response = httpx.get(self_href, timeout=TIMEOUT)
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            assert response.headers["content-type"] == "application/problem+json"

        kill(stack, "temporal", while_down=unavailable)
        wait_until(lambda: readable_or_unavailable(self_href), timeout=60, interval=0.2)
        assert httpx.get(self_href, timeout=TIMEOUT).json()["status"] == "ORDER_PREPARED"
        walk(order, WALK[3:])
        events = httpx.get(order["_links"]["events"]["href"], timeout=TIMEOUT).json()
        listed = events["_embedded"]["orderEventList"]
        assert [e["eventId"] for e in listed] == list(range(1, len(WALK) + 2))
        assert [e["orderStatus"] for e in listed[1:]] == [status for _, _, status in WALK]
        # Started again on its own file, the dev server kept its namespace settings.
        assert retention_days(stack) == 30
        # Another order, from start to end, on the restarted stack.
        second = httpx.post(f"{api}/v1/orders", json={"accountId": 2}, timeout=TIMEOUT)
        assert second.status_code == 201, second.text
        walk(second.json(), WALK)
        # The workers rode out the dev server's absence: no child died but the four killed.
        assert len(re.findall(r"^[\w-]+ exited with", stack.output, re.M)) == 4, stack.output
