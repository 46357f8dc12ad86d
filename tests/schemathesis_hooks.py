"""schemathesis hooks for tests/test_contract_schemathesis.py (loaded by SCHEMATHESIS_HOOKS)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import schemathesis

_KEY = re.compile(r"[\x21-\x7e]{1,255}")


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Each valid Idempotency-Key drawn becomes unique. Generated keys come from a tiny
    alphabet ('0', '!'), so unrelated requests would share one, and the API rightly answers
    a key reused for another request with 422 (tests/test_idempotency_and_races.py covers
    that); invalid keys are left as drawn, to be refused."""
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and _KEY.fullmatch(str(headers[name])):
            headers[name] = f"{str(headers[name])[:200]}-{uuid.uuid4().hex}"
