"""The shapes of an order's events: a domain event appended to its log, and one event of the
log (request bodies and resource models, as in models.py, which has the page of them)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from api.http.hal import Resource, links
from api.http.links import Links
from api.http.params import parameter_schema
from orderflow.messages import OrderEventData
from workflows.order_machine import COMMAND_BY_EVENT_TYPE, EventType, OrderStatus
from workflows.order_types import OrderEvent
from workflows.values import ID_MAX, TEXT_MAX_LENGTH

# The order the OpenAPI examples show.
EXAMPLE_ORDER = "http://localhost:8000/v1/orders/1"


def _one_variant_per_event(schema: dict[str, Any]) -> None:
    """The document says which fields each event type takes, as the state machine checks
    them (the model itself takes any, and leaves the checks to the state machine)."""
    variants = [
        {
            "title": event_type.message,
            "type": "object",
            "properties": {
                "type": {"const": event_type.value},
                **{p.name: parameter_schema(p) for p in command.parameters},
            },
            "required": ["type", *(p.name for p in command.parameters if p.required)],
            "additionalProperties": False,
        }
        for event_type, command in COMMAND_BY_EVENT_TYPE.items()
    ]
    description = schema.get("description", "")
    schema.clear()
    schema.update(
        title="EventAppend",
        description=description,
        oneOf=variants,
        examples=[{"type": "ORDER_ASSIGNED", "restaurantId": 101}],
    )


class EventAppend(BaseModel):
    """Body of POST /v1/orders/{orderId}/events: a domain event, checked by the state machine."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_one_variant_per_event)

    type: EventType
    # Strict: a JSON body says 101, not "101" (the state machine checks ranges and kinds).
    restaurantId: Annotated[int, Field(strict=True, ge=1, le=ID_MAX)] | None = None
    driverId: Annotated[int, Field(strict=True, ge=1, le=ID_MAX)] | None = None
    lat: Annotated[float, Field(strict=True)] | None = None
    lon: Annotated[float, Field(strict=True)] | None = None
    status: OrderStatus | None = None
    reason: Annotated[str, Field(strict=True, max_length=TEXT_MAX_LENGTH)] | None = None

    def parameters(self) -> dict[str, Any]:
        """Every field but ``type``, as the command's raw parameters (unknown ones included)."""
        return {k: v for k, v in self.model_dump(exclude={"type"}).items() if v is not None}


class EventResource(Resource, OrderEventData):
    """One event of an order's log (application/hal+json)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "eventId": 2,
                    "orderId": 1,
                    "type": "ORDER_ASSIGNED",
                    "orderStatus": "ORDER_ASSIGNED",
                    "restaurantId": 101,
                    "createdAt": 1614618409141,
                    "lastModified": 1614618409141,
                    "_links": {
                        "self": {"href": f"{EXAMPLE_ORDER}/events/2"},
                        "order": {"href": EXAMPLE_ORDER},
                    },
                }
            ]
        }
    )

    @classmethod
    def of(cls, event: OrderEvent, to: Links) -> EventResource:
        data = OrderEventData.from_event(event)
        event_links = links(
            self=to.event(event.order_id, event.event_id), order=to.order(event.order_id)
        )
        return cls(**dict(data), links=event_links)
