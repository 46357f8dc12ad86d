"""Whether Temporal answers: the one health check the API (readiness) and the workers
(their health file) share."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client

CHECK_TIMEOUT = timedelta(seconds=2)


async def temporal_health(client: Client, timeout: timedelta = CHECK_TIMEOUT) -> str:
    """``ok``, or why not: refused, unresolvable and timed out all mean "not now"."""
    try:
        healthy = await client.service_client.check_health(timeout=timeout)
    except Exception as error:  # any failure to reach Temporal is "not healthy"
        return f"unreachable ({type(error).__name__})"
    return "ok" if healthy else "not serving"
