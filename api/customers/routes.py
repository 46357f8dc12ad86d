"""/v1/customers: the Customer API (register, update, read, find, and their events)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query

from api.customers.models import CustomerCreate, CustomerPatch
from api.customers.service import RequestState, refusal
from api.http.deps import CustomersDep, IdempotencyKey, LinksDep
from api.http.hal import HalResponse, cloud_event, customer_resource, numbered_page, page_links
from api.http.links import Links
from api.http.problems import Problem, domain_problem
from api.orders.models import problem_responses
from orderflow.errors import InvalidInput
from workflows.customer_names import register_request_id, update_request_id
from workflows.customer_types import CustomerRecord, RegisterCustomerInput, UpdateCustomerInput

router = APIRouter(prefix="/v1/customers", tags=["customers"])

IfMatch = Annotated[
    str | None,
    Header(alias="If-Match", description="The version (ETag) the change is based on"),
]


def _answer(state: RequestState, links: Links, created: bool) -> HalResponse:
    """201/200 with the customer, the refusal as a problem, or 202 while it runs."""
    if state.outcome is None:
        href = links.customer_request(state.request_id)
        body = {
            "requestId": state.request_id,
            "status": "pending",
            "_links": {"self": {"href": href}},
        }
        return HalResponse(body, 202, headers={"Location": href, "Retry-After": "1"})
    if state.outcome.refusal is not None:
        raise refusal(state.outcome)
    assert state.outcome.customer is not None
    return _customer(state.outcome.customer, links, 201 if created else 200)


def _customer(customer: CustomerRecord, links: Links, status: int = 200) -> HalResponse:
    resource = customer_resource(customer, links)
    headers = {"ETag": f'"{customer.version}"'}
    if status == 201:
        headers["Location"] = resource["_links"]["self"]["href"]
    return HalResponse(resource, status, headers=headers)


@router.post(
    "",
    status_code=201,
    summary="Register Customer",
    response_class=HalResponse,
    responses={202: {"description": "Accepted; the database is slow or down"},
               **problem_responses(400, 409, 422, 503)},
)  # fmt: skip
async def register_customer(
    body: CustomerCreate,
    customers: CustomersDep,
    links: LinksDep,
    idempotency_key: IdempotencyKey = None,
) -> HalResponse:
    """Register a customer. Answers 201 once written; if the database is down the request is
    kept by Temporal and answered 202 with a status link, and completes when it is back."""
    request_id = register_request_id(idempotency_key or str(uuid.uuid4()))
    state = await customers.register(RegisterCustomerInput(request_id, body.details()))
    return _answer(state, links, created=True)


@router.get(
    "",
    summary="Find customers",
    response_class=HalResponse,
    responses=problem_responses(422, 503),
)
async def find_customers(
    customers: CustomersDep,
    links: LinksDep,
    email: Annotated[str, Query(min_length=3, max_length=254, description="Any case")],
) -> HalResponse:
    """The customer with this email, as a (zero- or one-element) collection."""
    found = await customers.find_by_email(email)
    body = {
        "_embedded": {"customers": [customer_resource(found, links)] if found else []},
        "_links": page_links(links.customers(email=email)),
    }
    return HalResponse(body)


@router.get("/requests/{request_id}", summary="Customer request status", response_class=HalResponse,
            responses=problem_responses(404, 503))  # fmt: skip
async def read_customer_request(
    request_id: str, customers: CustomersDep, links: LinksDep
) -> HalResponse:
    """Where an accepted (202) register or update request stands."""
    state = await customers.state(request_id)
    body: dict[str, Any] = {
        "requestId": request_id,
        "_links": {"self": {"href": links.customer_request(request_id)}},
    }
    if state.outcome is None:
        return HalResponse({**body, "status": "pending"}, headers={"Retry-After": "1"})
    if state.outcome.refusal is not None:
        problem = domain_problem(refusal(state.outcome))
        return HalResponse(
            {**body, "status": "refused", "refusal": problem.kind, "detail": problem.detail}
        )
    assert state.outcome.customer is not None
    body["_links"]["customer"] = {"href": links.customer(state.outcome.customer.customer_id)}
    return HalResponse(
        {**body, "status": "completed", "customerId": state.outcome.customer.customer_id}
    )


@router.get("/{customer_id}", summary="Get Customer", response_class=HalResponse,
            responses=problem_responses(404, 503))  # fmt: skip
async def read_customer(customer_id: int, customers: CustomersDep, links: LinksDep) -> HalResponse:
    """The customer, read directly from the database."""
    return _customer(await customers.get(customer_id), links)


@router.patch("/{customer_id}", summary="Update Customer", response_class=HalResponse,
              responses={202: {"description": "Accepted; the database is slow or down"},
                         **problem_responses(400, 404, 409, 412, 422, 503)})  # fmt: skip
async def update_customer(
    customer_id: int,
    body: CustomerPatch,
    customers: CustomersDep,
    links: LinksDep,
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
        return await read_customer(customer_id, customers, links)
    request_id = update_request_id(customer_id, idempotency_key or str(uuid.uuid4()))
    state = await customers.update(UpdateCustomerInput(request_id, customer_id, changes, expected))
    return _answer(state, links, created=False)


def _expected_version(if_match: str | None) -> int | None:
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(
            412, "precondition-failed", f"If-Match {if_match!r} is not a version of this customer"
        )
    return int(tag)


@router.get("/{customer_id}/events", summary="Customer events", response_class=HalResponse,
            responses=problem_responses(404, 503))  # fmt: skip
async def list_customer_events(
    customer_id: int,
    customers: CustomersDep,
    links: LinksDep,
    page: Annotated[int, Query(ge=0)] = 0,
    size: Annotated[int, Query(ge=1, le=500)] = 20,
) -> HalResponse:
    """The customer's published events (CloudEvents), oldest first."""
    events, total = await customers.events(customer_id, page * size, size)
    body = numbered_page(
        "events",
        [cloud_event(e, links) for e in events],
        total=total,
        page=page,
        size=size,
        href=lambda number: links.customer_events(customer_id, page=number, size=size),
        customer=links.customer(customer_id),
    )
    return HalResponse(body)
