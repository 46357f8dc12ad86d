"""The shapes of published events over HTTP: the CloudEvents envelope and feed pages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.http.hal import Resource
from api.http.links import Links
from orderflow.database.outbox import OutboxEvent
from orderflow.messages import Shape
from workflows.values import ANONYMOUS_ACTOR, UNKNOWN_ACTOR

AuthType = Literal["api_key", "unauthenticated", "unknown"]


class CloudEvent(BaseModel):
    """A published event as a CloudEvents 1.0 JSON envelope; ``sequence`` is its feed
    position, ``messageversion`` the version of its message in the catalog; ``authtype``
    and ``authid`` (the CloudEvents Auth Context extension) say who caused it, as
    ``data.actor`` does."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "specversion": "1.0",
                    "id": "order-1-2",
                    "source": "/v1/orders/1",
                    "type": "OrderAssigned",
                    "subject": "1",
                    "time": "2026-11-22T10:00:00.000Z",
                    "datacontenttype": "application/json",
                    "dataschema": "http://localhost:8000/v1/catalog/events/OrderAssigned/schema",
                    "messageversion": "1.0.0",
                    "sequence": "42",
                    "authtype": "api_key",
                    "authid": "shop",
                    "data": {
                        "eventId": 2,
                        "orderId": 1,
                        "type": "ORDER_ASSIGNED",
                        "actor": "shop",
                    },
                }
            ]
        }
    )

    specversion: str = "1.0"
    id: str
    source: str
    type: str
    subject: str
    time: str = Field(description="RFC 3339, UTC")
    datacontenttype: str = "application/json"
    dataschema: str
    messageversion: str
    sequence: str
    authtype: AuthType = Field(
        description="api_key: a request with an API key caused it (authid names the key); "
        "unauthenticated: the API ran without keys; unknown: recorded before actors were"
    )
    authid: str | None = Field(None, description="The API key's name (authtype api_key)")
    data: dict[str, Any]

    @classmethod
    def of(cls, event: OutboxEvent, to: Links) -> CloudEvent:
        # Events published before actors were recorded say so, like the catalog requires.
        data = event.data if "actor" in event.data else {**event.data, "actor": UNKNOWN_ACTOR}
        actor = data["actor"]
        authtype: AuthType = "api_key"
        if actor in (ANONYMOUS_ACTOR, UNKNOWN_ACTOR):
            authtype = "unauthenticated" if actor == ANONYMOUS_ACTOR else "unknown"
        return cls(
            id=event.event_id,
            source=event.source,
            type=event.type,
            subject=event.subject,
            time=_rfc3339(event.time),
            dataschema=to.event_schema(event.type),
            messageversion=event.version,
            sequence=str(event.position),
            authtype=authtype,
            authid=actor if authtype == "api_key" else None,
            data=data,
        )


def _rfc3339(moment: datetime) -> str:
    if moment.tzinfo is None:  # SQLite hands back naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventList(Shape):
    events: list[CloudEvent]


class FeedPage(Resource):
    """Published events in commit order; ``next`` is always there, to poll for more."""

    embedded: EventList = Field(alias="_embedded")
