"""Liveness and readiness for orchestrators: alive is "the process answers"; ready is
"Temporal and the database answer too"."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.http.problems import PROBLEM_JSON
from orderflow.database.calls import in_database
from orderflow.health import CHECK_TIMEOUT, temporal_health

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness")
async def read_liveness() -> dict[str, str]:
    """The process is up (it says nothing of what it depends on)."""
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness", responses={503: {"description": "Not ready"}})
async def read_readiness(request: Request) -> JSONResponse:
    """Ready to serve: Temporal and the database both answer within two seconds."""
    client: Client = request.app.state.client
    engine: Engine = request.app.state.engine
    temporal, database = await asyncio.gather(temporal_health(client), _database(engine))
    checks = {"temporal": temporal, "database": database}
    if all(state == "ok" for state in checks.values()):
        return JSONResponse({"status": "ready", "checks": checks})
    body: dict[str, Any] = {
        "type": "urn:orderflow:problem:not-ready",
        "title": "Service Unavailable",
        "status": 503,
        "detail": ", ".join(f"{name}: {state}" for name, state in checks.items() if state != "ok"),
        "instance": request.url.path,
        "checks": checks,
    }
    return JSONResponse(body, 503, headers={"Retry-After": "5"}, media_type=PROBLEM_JSON)


def _select_one(engine: Engine) -> None:
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


async def _database(engine: Engine) -> str:
    # Through in_database: a ping given up on breaks its connection rather than leaving a
    # thread and a pooled connection stuck on every probe while the database is silent.
    try:
        await asyncio.wait_for(in_database(_select_one, engine), CHECK_TIMEOUT.total_seconds())
    except Exception as error:
        return f"unreachable ({type(error).__name__})"
    return "ok"
