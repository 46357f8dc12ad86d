"""Parameters as the API reads them: ids and positions in their domain (the domains of
``workflows/values.py``), numbers written strictly, and exactly one value per query
parameter."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Annotated, Any, get_args, get_origin

from fastapi import Depends, Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BeforeValidator, Field

from orderflow.errors import InvalidInput
from workflows import values
from workflows.order_machine import OrderStatus, Parameter
from workflows.values import ID_MAX, INTEGER_TEXT


def parameter_schema(parameter: Parameter) -> dict[str, Any]:
    """The JSON Schema of a command parameter (the state machine checks the same)."""
    kinds: dict[str, dict[str, Any]] = {
        "id": values.ID.json_schema,
        "latitude": values.LATITUDE.json_schema,
        "longitude": values.LONGITUDE.json_schema,
        "status": {"type": "string", "enum": [s.value for s in OrderStatus]},
        "text": values.TEXT.json_schema,
    }
    return {**kinds[parameter.kind], "description": parameter.description}


def _strict_integer(value: Any) -> Any:
    """Query and path texts must be plain decimal integers; other values pass on to pydantic."""
    if isinstance(value, str) and not INTEGER_TEXT.fullmatch(value):
        raise ValueError("must be an integer in decimal notation")
    return value


# Integers of query strings and paths. The bounds come before the text check, or pydantic
# could not write them into the JSON Schema as minimum and maximum.
Id = Annotated[int, Field(ge=1, le=ID_MAX), BeforeValidator(_strict_integer)]
Position = Annotated[int, Field(ge=0, le=ID_MAX), BeforeValidator(_strict_integer)]
PAGE_SIZE_MAX = 500
PageSize = Annotated[int, Field(ge=1, le=PAGE_SIZE_MAX), BeforeValidator(_strict_integer)]
# A page number: the page's offset (page * size) stays a BIGINT whatever the size.
Page = Annotated[int, Field(ge=0, le=ID_MAX // PAGE_SIZE_MAX), BeforeValidator(_strict_integer)]
ListSize = Annotated[int, Field(ge=1, le=100), BeforeValidator(_strict_integer)]


@dataclass(frozen=True)
class Paging:
    """The page of a numbered collection a request asks for (``?page=&size=``)."""

    page: int
    size: int

    @property
    def offset(self) -> int:
        return self.page * self.size


async def _paging(
    page: Annotated[Page, Query(description="Page number, from 0")] = 0, size: PageSize = 20
) -> Paging:
    return Paging(page, size)


PagingDep = Annotated[Paging, Depends(_paging)]
# A published event's type (a message name such as OrderCreated), as a filter.
EventTypeName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9.]{0,119}$")]
# An id in a path: out of its domain it names nothing, so the answer is 404 (see problems.py).
IdPath = Annotated[Id, Path()]
# A command's id: its Idempotency-Key, or the id the API gave it.
CommandIdPath = Annotated[str, Path(min_length=1, max_length=255)]


def repeated(request: Request) -> list[str]:
    """The query parameters given more than once."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    return [name for name, count in counts.items() if count > 1]


async def one_value_per_parameter(request: Request) -> None:
    """A query parameter of the route given twice is ambiguous: 422 naming it, unless the
    route takes it as a list (``?type=A&type=B``). Routes that read the query string
    themselves (commands) check it themselves."""
    names = repeated(request)
    route = request.scope.get("route")
    if not names or not isinstance(route, APIRoute):
        return
    scalars = _scalar_parameters(route)
    ambiguous = [name for name in names if name in scalars]
    if ambiguous:
        raise InvalidInput([(name, "must be given once") for name in ambiguous])


def _scalar_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters of ``route`` (and its dependencies) that take one value (only
    looked up when a parameter repeats, so not cached)."""
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(
            p.alias for p in dependant.query_params if not _is_list(p.field_info.annotation)
        )
        pending.extend(dependant.dependencies)
    return frozenset(names)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, set, tuple, frozenset):
        return True
    return any(_is_list(argument) for argument in get_args(annotation))
