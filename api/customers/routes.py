"""/v1/customers: the Customer API (register, update, read, find, and their events)."""

from __future__ import annotations

import uuid
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from api.customers.answers import (
    ACCEPTED,
    answer,
    etag,
    expected_version,
    request_status,
    unsettled,
)
from api.customers.models import (
    CustomerCreate,
    CustomerEventPage,
    CustomerList,
    CustomerPage,
    CustomerPatch,
    CustomerRequestResource,
    CustomerResource,
)
from api.http.deps import CallerDep, CustomersDep, IdempotencyKey, LinksDep, require_scope
from api.http.hal import HalResponse, hal_operation, links, numbered_page
from api.http.params import IdPath, PagingDep
from api.http.problems import problem_responses
from api.published.models import CloudEvent, EventList
from orderflow.errors import InvalidInput
from workflows.customer_names import register_request_id, update_request_id
from workflows.customer_types import RegisterCustomerInput, UpdateCustomerInput

router = APIRouter(prefix="/v1/customers", tags=["customers"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The version (ETag) the change is based on"),
]


@router.post(
    "",
    **hal_operation(
        "Register Customer",
        CustomerResource,
        # 410: a retry (same Idempotency-Key) of a registration whose customer was erased.
        {**ACCEPTED, **problem_responses(400, 409, 410, 422, 503)},
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
    return answer(state, to, new=True)


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
    return request_status(request_id, await customers.state(request_id), to)


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
    return HalResponse(CustomerResource.of(customer, to), headers=etag(customer))


@router.patch(
    "/{customer_id}",
    **hal_operation(
        "Update Customer",
        CustomerResource,
        {**ACCEPTED, **problem_responses(400, 404, 409, 410, 412, 422, 503)},
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
    expected = expected_version(if_match)
    if not changes.values:
        return await read_customer(customer_id, customers, to)
    request_id = update_request_id(customer_id, idempotency_key or str(uuid.uuid4()))
    state = await customers.update(
        UpdateCustomerInput(request_id, customer_id, changes, expected, actor=caller.name)
    )
    return answer(state, to, new=False)


@router.delete(
    "/{customer_id}",
    summary="Erase Customer",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Erased (or erased before): the customer's personal data is gone"},
        **ACCEPTED,
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
    if (not_completed := unsettled(state, to)) is not None:
        return not_completed
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
    customer_id: IdPath, customers: CustomersDep, to: LinksDep, at: PagingDep
) -> HalResponse:
    """The customer's published events (CloudEvents), oldest first; an erased customer's
    are redacted, and end with CustomerErased."""
    events, total = await customers.events(customer_id, at.offset, at.size)
    items = EventList(events=[CloudEvent.of(event, to) for event in events])
    events_href = partial(to.customer_events, customer_id)
    page = numbered_page(
        CustomerEventPage,
        items,
        at,
        total=total,
        href=events_href,
        customer=to.customer(customer_id),
    )
    return HalResponse(page)
