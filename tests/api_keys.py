"""API keys for tests: a key per kind of client, each with a secret made up per run, and
the settings that configure them."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from orderflow.settings import Settings
from tests.helpers import isolated_settings

# Each key's scopes.
KEYS: dict[str, tuple[str, ...]] = {
    "ops": ("admin",),
    "reader": ("orders:read",),
    "shop": ("orders:write",),
    "crm": ("customers:read", "customers:write"),
    "crm-reader": ("customers:read",),
    "feed": ("events:read",),
    "prom": ("metrics:read",),
}
SECRETS = {name: f"test-{name}-{uuid.uuid4()}" for name in KEYS}


def entry(name: str, secret: str, *scopes: str) -> str:
    """A settings entry: NAME:SCOPES:SHA256."""
    return f"{name}:{','.join(scopes)}:{hashlib.sha256(secret.encode()).hexdigest()}"


def as_key(name: str) -> dict[str, str]:
    return {"X-API-Key": SECRETS[name]}


def as_bearer(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {SECRETS[name]}"}


def keyed_settings(settings: Settings, **changes: Any) -> Settings:
    """The suite's settings with the keys above, on the session worker's task queue."""
    entries = [entry(name, SECRETS[name], *scopes) for name, scopes in KEYS.items()]
    return isolated_settings(
        settings, orders_task_queue=settings.orders_task_queue, api_keys=entries, **changes
    )
