"""The JSON Schemas of the catalog's messages (catalog.py), taken from the models that
validate requests and shape published data, and from the state machine's parameters."""

from __future__ import annotations

from typing import Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter

from api.http.params import parameter_schema
from orderflow.messages import Id, OrderEventData, Shape
from workflows.order_machine import COMMAND_BY_EVENT_TYPE, EventType, Parameter

DRAFT = "https://json-schema.org/draft/2020-12/schema"


# The data of the catalog's queries: what the path and query string of their routes say.
class OrderQuery(Shape):
    order_id: Id


class OrderEventsQuery(OrderQuery):
    page: int = Field(0, ge=0)
    size: int = Field(20, ge=1)


class CustomerQuery(Shape):
    customer_id: Id


def schema_of(model: type[BaseModel], *, serialization: bool = False) -> dict[str, Any]:
    mode: Literal["validation", "serialization"] = (
        "serialization" if serialization else "validation"
    )
    return {"$schema": DRAFT, **model.model_json_schema(by_alias=True, mode=mode)}


def parameters_schema(name: str, parameters: tuple[Parameter, ...]) -> dict[str, Any]:
    properties = {p.name: parameter_schema(p) for p in parameters}
    return {
        "$schema": DRAFT,
        "title": name,
        "type": "object",
        "properties": properties,
        "required": [p.name for p in parameters if p.required],
        "additionalProperties": False,
    }


_OPTIONAL_EVENT_FIELDS = ("restaurantId", "driverId", "lat", "lon", "reason")


def order_event_schema(event_type: EventType) -> dict[str, Any]:
    """OrderEventData's schema, narrowed to one event type and the fields it carries."""
    schema = schema_of(OrderEventData, serialization=True)
    command = COMMAND_BY_EVENT_TYPE.get(event_type)
    parameters = command.parameters if command else ()
    carried = {p.name for p in parameters if p.name != "status"}  # status: orderStatus
    properties = schema["properties"]
    for name in _OPTIONAL_EVENT_FIELDS:
        if name not in carried:
            del properties[name]
    properties["type"] = {"const": event_type.value}
    required = [p.name for p in parameters if p.required and p.name in carried]
    # Every published event names its actor (events published before actors were are
    # rendered with "unknown"), though the model has a default for reading those back.
    schema["required"] = [*schema["required"], "actor", *required]
    schema["title"] = event_type.message
    return schema


def either_schema(title: str, *models: type[BaseModel]) -> dict[str, Any]:
    """The schema of data that is one of ``models``: an event as published, or as it reads
    once its customer was erased."""
    union: Any = Union[models]  # noqa: UP007 (a union built at run time)
    schema = TypeAdapter(union).json_schema(by_alias=True, mode="serialization")
    return {"$schema": DRAFT, "title": title, **schema}
