"""/v1/customers: the Customer API (register, update, read, find, and their events)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from api.customers.models import (
    CustomerCreate,
    CustomerEventPage,
    CustomerList,
    CustomerPage,
    CustomerPatch,
    CustomerRequestResource,
    CustomerResource,
)
from api.customers.service import RequestState, refusal
from api.http.deps import CallerDep, CustomersDep, IdempotencyKey, LinksDep, require_scope
from api.http.hal import HalResponse, created, hal, hal_operation, links, numbered_links
from api.http.links import Links
from api.http.params import IdPath, Page, PageSize
from api.http.problems import Problem, domain_problem, problem_responses
from api.published.models import CloudEvent, EventList
from orderflow.errors import InvalidInput
from workflows.customer_names import register_request_id, update_request_id
from workflows.customer_types import CustomerRecord, RegisterCustomerInput, UpdateCustomerInput

router = APIRouter(prefix="/v1/customers", tags=["customers"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The version (ETag) the change is based on"),
]
_ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: hal(CustomerRequestResource, "Accepted; the database is slow or down"),
}


def _unsettled(state: RequestState, to: Links) -> HalResponse | None:
    """The answer of a request that did not complete: its failure or refusal raised as a
    problem, or 202 while it runs; None once it has completed."""
    if state.failure is not None:
        raise state.failure
    if state.outcome is None:
        return _accepted(state, to)
    if state.outcome.refusal is not None:
        raise refusal(state.outcome)
    return None


def _answer(state: RequestState, to: Links, *, new: bool) -> HalResponse:
    """201/200 with the customer, the refusal or failure as a problem, or 202 while it runs."""
    if (unsettled := _unsettled(state, to)) is not None:
        return unsettled
    assert state.outcome is not None and state.outcome.customer is not None
    customer = state.outcome.customer
    resource = CustomerResource.of(customer, to)
    if new:
        return created(resource, _etag(customer))
    return HalResponse(resource, headers=_etag(customer))


def _accepted(state: RequestState, to: Links) -> HalResponse:
    """202: the request runs on (the database is slow or down); ``Location`` says how it ends."""
    href = to.customer_request(state.request_id)
    pending = CustomerRequestResource(
        request_id=state.request_id, status="pending", links=links(self=href)
    )
    return HalResponse(pending, 202, headers={"Location": href, "Retry-After": "1"})


def _etag(customer: CustomerRecord) -> dict[str, str]:
    return {"ETag": f'"{customer.version}"'}


@router.post(
    "",
    **hal_operation(
        "Register Customer",
        CustomerResource,
        # 410: a retry (same Idempotency-Key) of a registration whose customer was erased.
        {**_ACCEPTED, **problem_responses(400, 409, 410, 422, 503)},
        status_code=201,
        dependencies=[require_scope("customers:write")],
    ),
)
async def register_customer(
    body: CustomerCreate,
    customers: CustomersDep,
    to: LinksDep,
    caller: CallerDep,
    idempotency_key: IdempotencyKey = None,
) -> HalResponse:
    """Register a customer. Answers 201 once written; if the database is down the request is
    kept by Temporal and answered 202 with a status link, and completes when it is back."""
    request_id = register_request_id(idempotency_key or str(uuid.uuid4()))
    state = await customers.register(
        RegisterCustomerInput(request_id, body.details(), actor=caller.name)
    )
    return _answer(state, to, new=True)


@router.get(
    "",
    **hal_operation(
        "Find customers",
        CustomerPage,
        problem_responses(422, 503),
        dependencies=[require_scope("customers:read")],
    ),
)
async def find_customers(
    customers: CustomersDep,
    to: LinksDep,
    email: Annotated[str, Query(min_length=3, max_length=254, description="Any case")],
) -> HalResponse:
    """The customer with this email, as a (zero- or one-element) collection."""
    found = await customers.find_by_email(email)
    items = [CustomerResource.of(found, to)] if found else []
    page = CustomerPage(
        embedded=CustomerList(customers=items), links=links(self=to.customers(email=email))
    )
    return HalResponse(page)


@router.get(
    "/requests/{request_id}",
    **hal_operation(
        "Customer request status",
        CustomerRequestResource,
        problem_responses(404, 503),
        # Whoever sent the request may follow its 202 here, and so may a reader.
        dependencies=[require_scope("customers:read", "customers:write")],
    ),
)
async def read_customer_request(
    request_id: str, customers: CustomersDep, to: LinksDep
) -> HalResponse:
    """Where an accepted (202) register, update or erase request stands."""
    state = await customers.state(request_id)
    self_link = to.customer_request(request_id)
    if state.failure is not None:
        failed = CustomerRequestResource(
            request_id=request_id,
            status="failed",
            detail=domain_problem(state.failure).detail,
            links=links(self=self_link),
        )
        return HalResponse(failed)
    if state.outcome is None:
        pending = CustomerRequestResource(
            request_id=request_id, status="pending", links=links(self=self_link)
        )
        return HalResponse(pending, headers={"Retry-After": "1"})
    if state.outcome.refusal is not None:
        problem = domain_problem(refusal(state.outcome))
        refused = CustomerRequestResource(
            request_id=request_id,
            status="refused",
            refusal=problem.kind,
            detail=problem.detail,
            links=links(self=self_link),
        )
        return HalResponse(refused)
    if state.outcome.erased is not None:
        customer_id = state.outcome.erased
    else:
        assert state.outcome.customer is not None
        customer_id = state.outcome.customer.customer_id
    completed = CustomerRequestResource(
        request_id=request_id,
        status="completed",
        customer_id=customer_id,
        links=links(self=self_link, customer=to.customer(customer_id)),
    )
    return HalResponse(completed)


@router.get(
    "/{customer_id}",
    **hal_operation(
        "Get Customer",
        CustomerResource,
        problem_responses(404, 410, 503),
        dependencies=[require_scope("customers:read")],
    ),
)
async def read_customer(customer_id: IdPath, customers: CustomersDep, to: LinksDep) -> HalResponse:
    """The customer, read directly from the database; 410 once it was erased."""
    customer = await customers.get(customer_id)
    return HalResponse(CustomerResource.of(customer, to), headers=_etag(customer))


@router.patch(
    "/{customer_id}",
    **hal_operation(
        "Update Customer",
        CustomerResource,
        {**_ACCEPTED, **problem_responses(400, 404, 409, 410, 412, 422, 503)},
        dependencies=[require_scope("customers:write")],
    ),
)
async def update_customer(
    customer_id: IdPath,
    body: CustomerPatch,
    customers: CustomersDep,
    to: LinksDep,
    caller: CallerDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> HalResponse:
    """Change some of the customer's fields (a JSON merge patch); `If-Match` guards against
    overwriting a change you have not seen (412)."""
    try:
        changes = body.changes()
    except ValueError as error:
        raise InvalidInput([("body", str(error))]) from None
    expected = _expected_version(if_match)
    if not changes.values:
        return await read_customer(customer_id, customers, to)
    request_id = update_request_id(customer_id, idempotency_key or str(uuid.uuid4()))
    state = await customers.update(
        UpdateCustomerInput(request_id, customer_id, changes, expected, actor=caller.name)
    )
    return _answer(state, to, new=False)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(
            412, "precondition-failed", f"If-Match {if_match!r} is not a version of this customer"
        )
    return int(tag)


@router.delete(
    "/{customer_id}",
    summary="Erase Customer",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Erased (or erased before): the customer's personal data is gone"},
        **_ACCEPTED,
        **problem_responses(404, 503),
    },
    dependencies=[require_scope("admin", "customers:write")],
)
async def erase_customer(
    customer_id: IdPath, customers: CustomersDep, to: LinksDep, caller: CallerDep
) -> Response:
    """Erase the customer's personal data: the customer keeps its id and its orders, its
    published events are redacted (a CustomerErased event says so), and the Temporal
    histories of its registration and updates are deleted. Answers 204 once done (also
    for a customer erased before); 202 with a status link while the database is down."""
    state = await customers.erase(customer_id, actor=caller.name)
    if (unsettled := _unsettled(state, to)) is not None:
        return unsettled
    return Response(status_code=204)


@router.get(
    "/{customer_id}/events",
    **hal_operation(
        "Customer events",
        CustomerEventPage,
        problem_responses(404, 503),
        dependencies=[require_scope("customers:read")],
    ),
)
async def list_customer_events(
    customer_id: IdPath,
    customers: CustomersDep,
    to: LinksDep,
    page: Annotated[Page, Query(description="Page number, from 0")] = 0,
    size: PageSize = 20,
) -> HalResponse:
    """The customer's published events (CloudEvents), oldest first; an erased customer's
    are redacted, and end with CustomerErased."""
    events, total = await customers.events(customer_id, page * size, size)
    page_links, numbers = numbered_links(
        total=total,
        page=page,
        size=size,
        href=lambda number: to.customer_events(customer_id, page=number, size=size),
        customer=to.customer(customer_id),
    )
    items = [CloudEvent.of(event, to) for event in events]
    return HalResponse(
        CustomerEventPage(embedded=EventList(events=items), links=page_links, page=numbers)
    )
