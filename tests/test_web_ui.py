"""The Temporal Web UI in a real browser (Debian's chromium driven by playwright), against
`make run` as a newcomer starts it: Temporal holds only ciphertext, and the UI shows an
order's and a customer registration's payloads decoded by the API's codec. With API keys
set, the UI decodes only once the browser is signed in at the API's /codec page.

``ORDERFLOW_SCREENSHOTS=docs/images`` keeps the screenshots for docs/web-ui.md.
"""

from __future__ import annotations

import base64
import os
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from orderflow.encryption import ENCODING
from tests.api_keys import entry
from tests.embedded import RunningStack, make_run, stack_environment
from tests.raw_history import ui_payloads
from workflows.customer_names import register_request_id, request_workflow_id
from workflows.order_names import order_workflow_id

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The Web UI is a single-page app: wait (bounded) for what it renders, not for a time.
RENDERED_MS = 90_000
TIMEOUT = 30

pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI installs chromium for the Web UI test (.ci/run)")
        pytest.skip("chromium is not installed here (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def new_customer() -> dict[str, Any]:
    """A customer no other test makes, with values easy to look for."""
    surname = f"Quintero{uuid.uuid4().hex[:6].capitalize()}"
    return {
        "firstName": "Ximena",
        "lastName": surname,
        "email": f"ximena.{surname.lower()}@example.com",
        "phone": "+34 910 555 017",
        "address": {
            "street": "7 Calle del Prado",
            "city": "Madrid",
            "postalCode": "28014",
            "country": "ES",
        },
    }


def secrets_of(customer: dict[str, Any]) -> list[str]:
    return [customer["lastName"], customer["email"], customer["phone"], "Calle del Prado"]


def place(stack: RunningStack, customer: dict[str, Any], **headers: str) -> tuple[str, str]:
    """Register ``customer`` and place an order with a command applied: the workflow ids of
    the registration and of the order."""
    key = str(uuid.uuid4())
    registered = httpx.post(
        f"{stack.api}/v1/customers",
        json=customer,
        headers={"Idempotency-Key": key, **headers},
        timeout=TIMEOUT,
    )
    assert registered.status_code == 201, registered.text
    account = {"accountId": registered.json()["customerId"]}
    order = httpx.post(f"{stack.api}/v1/orders", json=account, headers=headers, timeout=TIMEOUT)
    assert order.status_code == 201, order.text
    order_id = order.json()["orderId"]
    assigned = httpx.put(
        f"{stack.api}/v1/orders/{order_id}/commands/assignOrder?restaurantId=101",
        headers=headers,
        timeout=TIMEOUT,
    )
    assert assigned.status_code == 200, assigned.text
    return request_workflow_id(register_request_id(key)), order_workflow_id(order_id)


def assert_ui_history_is_ciphertext(
    stack: RunningStack, workflow_id: str, secrets: list[str]
) -> None:
    """The Web UI's own HTTP API, which answers anyone who reaches the UI, holds no payload
    but encrypted ones, and none of ``secrets`` anywhere."""
    url = f"{stack.ui}/api/v1/namespaces/default/workflows/{workflow_id}/history"
    answer = httpx.get(url, timeout=TIMEOUT)
    assert answer.status_code == 200, answer.text
    payloads = list(ui_payloads(answer.json()))
    assert payloads, answer.text
    for where, payload in payloads:
        encoding = base64.b64decode(payload["metadata"]["encoding"])
        assert encoding == ENCODING, (where, encoding)
        data = base64.b64decode(payload.get("data", ""))
        for secret in secrets:
            assert secret.encode() not in data, (where, secret)
    for secret in secrets:
        assert secret not in answer.text, secret


def open_workflow(page: Page, stack: RunningStack, workflow_id: str) -> None:
    page.goto(f"{stack.ui}/namespaces/default/workflows/{workflow_id}")


def screenshot(page: Page, name: str, tmp_path: Path) -> None:
    folder = Path(os.environ.get("ORDERFLOW_SCREENSHOTS") or tmp_path)
    page.screenshot(path=folder / f"{name}.png")


def test_a_newcomer_sees_decoded_payloads_where_temporal_holds_ciphertext(
    browser: Browser, tmp_path: Path
) -> None:
    customer = new_customer()
    with make_run(stack_environment(tmp_path / "data"), signal.SIGTERM) as stack:
        registration, order = place(stack, customer)
        for workflow_id in (registration, order):
            assert_ui_history_is_ciphertext(stack, workflow_id, secrets_of(customer))

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            open_workflow(page, stack, registration)
            page.get_by_text(customer["email"]).first.wait_for(timeout=RENDERED_MS)
            body = page.inner_text("body")
            assert customer["lastName"] in body and customer["phone"] in body
            page.locator("[data-testid=data-encoder-status-success]").wait_for()
            screenshot(page, "web-ui-decoded-registration", tmp_path)

            open_workflow(page, stack, order)
            # The order's input, decoded: the account it was placed for.
            page.get_by_text('"account_id": 1').first.wait_for(timeout=RENDERED_MS)
            page.locator("[data-testid=data-encoder-status-success]").wait_for()
            screenshot(page, "web-ui-decoded-order", tmp_path)
        finally:
            page.close()


def test_with_api_keys_the_web_ui_decodes_once_the_browser_is_signed_in(
    browser: Browser, tmp_path: Path
) -> None:
    key = f"operator-{uuid.uuid4()}"
    environment = {
        **stack_environment(tmp_path / "data"),
        "API_KEYS": entry("operator", key, "admin"),
    }
    customer = new_customer()
    with make_run(environment, signal.SIGTERM) as stack:
        registration, _ = place(stack, customer, **{"X-API-Key": key})
        codec = stack.api.replace("127.0.0.1", "localhost") + "/codec"  # the UI's own site
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        try:
            # Not signed in: the codec refuses, the UI says so and shows nothing decoded.
            open_workflow(page, stack, registration)
            page.locator("[data-testid=data-encoder-status-error]").wait_for(timeout=RENDERED_MS)
            assert customer["email"] not in page.inner_text("body")

            # Signed in at the API's page, and the UI told to send the browser's cookies.
            page.goto(codec)
            page.fill("input[name=key]", key)
            page.click("button[type=submit]")
            page.get_by_text("Signed in").wait_for()
            open_workflow(page, stack, registration)
            page.locator("[data-testid=data-encoder-status-error]").click(timeout=RENDERED_MS)
            page.click("[data-testid=use-local-endpoint-input]")
            page.get_by_label("Codec Server browser endpoint").fill(codec)
            # A toggle switch: its checkbox is hidden under the drawing, its label is clicked.
            page.get_by_text("Include cross-origin credentials", exact=True).click()
            assert page.locator("#pass-access-credentials").is_checked()
            page.click("[data-testid=confirm-modal-button]")
            page.reload()
            page.get_by_text(customer["email"]).first.wait_for(timeout=RENDERED_MS)
            page.locator("[data-testid=data-encoder-status-success]").wait_for()
        finally:
            context.close()
