"""HAL (`application/hal+json`): links, the base of every resource model, pages, and the
response that renders a model. Each resource's model lives with its routes; this module
only knows the shape every resource shares."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from api.http.params import Paging
from orderflow.messages import Shape

HAL_JSON = "application/hal+json"


class Link(BaseModel):
    href: str
    templated: bool | None = None
    title: str | None = None
    type: str | None = None


LinkMap = dict[str, Link]


def link(href: str, **attributes: Any) -> Link:
    return Link(href=href, **attributes)


def links(**hrefs: str | Link | None) -> LinkMap:
    """``self="…", next=None, order=Link(…)`` → the ``_links`` object (None left out)."""
    return {
        rel: value if isinstance(value, Link) else Link(href=value)
        for rel, value in hrefs.items()
        if value is not None
    }


class Resource(Shape):
    """A HAL resource: its fields, then ``_embedded`` and ``_links``."""

    links: LinkMap = Field(alias="_links")

    def wire(self) -> dict[str, Any]:
        body: dict[str, Any] = _hal_last(super().wire())
        return body


def _hal_last(value: Any) -> Any:
    """The body with every resource's ``_embedded`` and ``_links`` after its fields, embedded
    resources included (declared first, as base-class fields, they would render first)."""
    if isinstance(value, list):
        return [_hal_last(item) for item in value]
    if not isinstance(value, dict):
        return value
    fields = {name: _hal_last(item) for name, item in value.items() if name not in _HAL_KEYS}
    hal = {name: _hal_last(value[name]) for name in _HAL_KEYS if name in value}
    return {**fields, **hal}


_HAL_KEYS = ("_embedded", "_links")


PageT = TypeVar("PageT", bound=Resource)


class NumberedPage(BaseModel):
    """Where a page of a numbered collection (pages from 0) stands."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    size: int
    total_elements: int = Field(alias="totalElements")
    total_pages: int = Field(alias="totalPages")
    number: int


def numbered_page(
    model: type[PageT],
    items: Shape,
    at: Paging,
    *,
    total: int,
    href: Callable[..., str],
    **more: str,
) -> PageT:
    """``model``, a page resource: page ``at`` of a collection of ``total``, its ``items``
    embedded, with self/next/prev/first/last (``href(page=…, size=…)`` addresses a page)
    and ``more`` links, and the page's numbers."""
    pages = max(1, -(-total // at.size))

    def page(number: int) -> str:
        return href(page=number, size=at.size)

    found = links(
        self=page(at.page),
        next=page(at.page + 1) if at.page + 1 < pages else None,
        prev=page(min(at.page, pages) - 1) if at.page > 0 else None,
        first=page(0),
        last=page(pages - 1),
        **more,
    )
    numbers = NumberedPage(size=at.size, total_elements=total, total_pages=pages, number=at.page)
    return model.model_validate({"embedded": items, "links": found, "page": numbers})


class HalResponse(JSONResponse):
    """Renders a resource model (camelCase, unset fields left out) or a plain dict."""

    media_type = HAL_JSON

    def render(self, content: Any) -> bytes:
        if isinstance(content, Shape):
            content = content.wire()
        elif isinstance(content, BaseModel):
            content = content.model_dump(mode="json", by_alias=True, exclude_none=True)
        return super().render(content)


def hal(model: type[BaseModel], description: str) -> dict[str, Any]:
    """The OpenAPI entry of a HAL response whose body is ``model``."""
    return {"model": model, "description": description, "content": {HAL_JSON: {}}}


def created(resource: Resource, headers: Mapping[str, str] | None = None) -> HalResponse:
    """201 with the new resource, and its address in Location."""
    location = {"Location": resource.links["self"].href}
    return HalResponse(resource, 201, headers={**location, **(headers or {})})


def hal_operation(
    summary: str, model: type[BaseModel], responses: dict[int | str, dict[str, Any]], **more: Any
) -> dict[str, Any]:
    """The keyword arguments of a route answering a HAL resource: its summary, its model (the
    ``response_model``, so the body is documented as what renders it) and its responses.

    Used as ``@router.get("/{order_id}", **hal_operation("Read an order", OrderResource, …))``.
    """
    return {
        "summary": summary,
        "response_class": HalResponse,
        "response_model": model,
        "responses": responses,
        **more,
    }
