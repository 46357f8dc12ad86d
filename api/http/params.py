"""Parameters as the API reads them: ids and positions in their domain, numbers written
strictly, and exactly one value per query parameter.

The domains here (``ID_MAX``) are the API's copy of ``workflows/values.py``'s, to be one
definition once both are merged.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Annotated, Any, get_args, get_origin

from fastapi import Path, Query, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BeforeValidator

from orderflow.errors import InvalidInput

ID_MAX = 2**63 - 1  # PostgreSQL BIGINT and Temporal's Int search attributes hold no more
# Decimal notation only: no "1_0", "+1", " 1", "0x10", "1e3", "inf" (int() takes most of them).
INTEGER_TEXT = re.compile(r"-?[0-9]{1,30}")
NUMBER_TEXT = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?")
# A one-line text: no C0/C1 control characters, DEL, line or paragraph separators.
CONTROL_CHARACTERS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _strict_integer(value: Any) -> Any:
    """Query and path texts must be plain decimal integers; other values pass on to pydantic."""
    if isinstance(value, str) and not INTEGER_TEXT.fullmatch(value):
        raise ValueError("must be an integer in decimal notation")
    return value


StrictInt = Annotated[int, BeforeValidator(_strict_integer)]
# An id in a path: out of its domain it names nothing, so the answer is 404 (see problems.py).
IdPath = Annotated[StrictInt, Path(ge=1, le=ID_MAX)]


def id_query(description: str, alias: str) -> Any:
    """A query parameter holding an id (1..2**63-1)."""
    return Query(alias=alias, ge=1, le=ID_MAX, description=description)


def page_offset(page: int, size: int) -> int:
    """Where page ``page`` of ``size`` items starts; it must stay a BIGINT."""
    if page * size > ID_MAX:
        raise InvalidInput([("page", f"times size must not exceed {ID_MAX}")])
    return page * size


def one_value_per_parameter(request: Request) -> None:
    """A query parameter given twice is ambiguous: 422 naming it, unless the route declares
    it as a list (``?type=A&type=B``)."""
    counts = Counter(name for name, _ in request.query_params.multi_items())
    repeated = [name for name, count in counts.items() if count > 1]
    if not repeated:
        return
    route = request.scope.get("route")
    lists = _list_parameters(route) if isinstance(route, APIRoute) else frozenset()
    ambiguous = [name for name in repeated if name not in lists]
    if ambiguous:
        raise InvalidInput([(name, "must be given once") for name in ambiguous])


def _list_parameters(route: APIRoute) -> frozenset[str]:
    """The query parameters of ``route`` (and its dependencies) that take several values
    (only looked up when a parameter repeats, so not cached)."""
    names: set[str] = set()
    pending: list[Dependant] = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(p.alias for p in dependant.query_params if _is_list(p.field_info.annotation))
        pending.extend(dependant.dependencies)
    return frozenset(names)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, set, tuple, frozenset):
        return True
    return any(_is_list(argument) for argument in get_args(annotation))
