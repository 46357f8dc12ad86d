"""The README's first command: the whole stack starts, answers, stops cleanly, and keeps orders."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path

import httpx

from tests.embedded import alive, make_run, orderflow_arguments, retention_days, stack_environment
from tests.helpers import wait_until


def test_make_run_starts_the_stack_keeps_orders_and_stops(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = stack_environment(data)  # DATA_DIR only: no DATABASE_URL
    ui_port = env["TEMPORAL_UI_PORT"]
    with make_run(env, signal.SIGINT) as stack:
        api, output, pids = stack.api, stack.output, stack.all_pids()
        assert f"{api}/docs" in output and f"http://localhost:{ui_port}" in output
        # One way to start each process: the children are the CLI's own subcommands.
        started = stack.pids()
        assert orderflow_arguments(started["orders-worker"]) == ["worker", "orders"]
        assert orderflow_arguments(started["customers-worker"]) == ["worker", "customers"]
        assert orderflow_arguments(started["api"])[0] == "api"
        assert httpx.get(f"{api}/docs").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ui_port}/").status_code == 200
        ada = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com"}
        customer = httpx.post(f"{api}/v1/customers", json=ada, timeout=30)
        assert customer.status_code == 201 and customer.json()["customerId"] == 1
        created = httpx.post(f"{api}/v1/orders", json={"accountId": 1})
        assert created.status_code == 201 and created.json()["orderId"] == 1
        order = created.json()
        assigned = httpx.put(f"{api}/v1/orders/1/commands/assignOrder?restaurantId=101")
        assert assigned.status_code == 200
        assert (
            f"http://localhost:{ui_port}/namespaces/default/workflows/order-1/"
            in (order["_links"]["history"]["href"])
        )
        assert retention_days(stack) == 30
    assert not [pid for pid in pids if alive(pid)]
    # DATA_DIR holds all the state: the dev server's file, the encryption keys the stack
    # made on its first start (its owner's alone), and the customer database.
    assert (data / "temporal.db").exists()
    keys = data / "encryption-keys"
    assert keys.stat().st_mode & 0o777 == 0o600
    first_keys = keys.read_text()
    assert first_keys.splitlines()[-1].startswith("embedded-1:")
    with sqlite3.connect(data / "orderflow.db") as database:
        emails = database.execute("SELECT email FROM customer").fetchall()
    assert emails == [("ada@example.com",)]

    # Started again (stopped by SIGTERM this time), the order is still there and still runs.
    with make_run(env, signal.SIGTERM):
        read = httpx.get(f"{api}/v1/orders/1", timeout=30)
        assert read.status_code == 200 and read.json()["status"] == "ORDER_ASSIGNED"
        prepared = httpx.put(f"{api}/v1/orders/1/commands/prepareOrder", timeout=30)
        assert prepared.status_code == 200 and prepared.json()["status"] == "ORDER_PREPARING"
        assert httpx.get(f"{api}/v1/customers/1").json()["email"] == "ada@example.com"
        second = httpx.post(f"{api}/v1/orders", json={"accountId": 1})
        assert second.json()["orderId"] == 2

        def both_listed() -> bool:
            body = httpx.get(f"{api}/v1/orders?accountId=1").json()
            return sorted(o["orderId"] for o in body["_embedded"]["orders"]) == [1, 2]

        wait_until(both_listed)
    assert keys.read_text() == first_keys  # kept, not made again
