"""How a customer request is answered: the customer (with its ETag) once the request has
completed, 202 with a status link while it runs on (the database is slow or down), its
refusal or failure as a problem; and where an accepted request stands, for its status link."""

from __future__ import annotations

from typing import Any

from api.customers.models import CustomerRequestResource, CustomerResource
from api.customers.service import RequestState, refusal
from api.http.hal import HalResponse, created, hal, links
from api.http.links import Links
from api.http.problems import Problem, domain_problem
from workflows.customer_types import CustomerRecord

# The OpenAPI entry of the 202 of a request that runs on.
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: hal(CustomerRequestResource, "Accepted; the database is slow or down"),
}


def unsettled(state: RequestState, to: Links) -> HalResponse | None:
    """The answer of a request that did not complete: its failure or refusal raised as a
    problem, or 202 while it runs; None once it has completed."""
    if state.failure is not None:
        raise state.failure
    if state.outcome is None:
        return _accepted(state, to)
    if state.outcome.refusal is not None:
        raise refusal(state.outcome)
    return None


def answer(state: RequestState, to: Links, *, new: bool) -> HalResponse:
    """201/200 with the customer, the refusal or failure as a problem, or 202 while it runs."""
    if (not_completed := unsettled(state, to)) is not None:
        return not_completed
    assert state.outcome is not None and state.outcome.customer is not None
    customer = state.outcome.customer
    resource = CustomerResource.of(customer, to)
    if new:
        return created(resource, etag(customer))
    return HalResponse(resource, headers=etag(customer))


def _accepted(state: RequestState, to: Links) -> HalResponse:
    """202: the request runs on (the database is slow or down); ``Location`` says how it ends."""
    href = to.customer_request(state.request_id)
    pending = CustomerRequestResource(
        request_id=state.request_id, status="pending", links=links(self=href)
    )
    return HalResponse(pending, 202, headers={"Location": href, "Retry-After": "1"})


def etag(customer: CustomerRecord) -> dict[str, str]:
    return {"ETag": f'"{customer.version}"'}


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header names (None: any); 412 if it names none."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise Problem(
            412, "precondition-failed", f"If-Match {if_match!r} is not a version of this customer"
        )
    return int(tag)


def request_status(request_id: str, state: RequestState, to: Links) -> HalResponse:
    """Where an accepted request stands: pending, failed, refused or completed."""
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
