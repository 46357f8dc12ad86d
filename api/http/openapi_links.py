"""OpenAPI links: where the ids of a response lead, so a client (and schemathesis's
stateful tests) can follow them from one operation to the next."""

from __future__ import annotations

from typing import Any

from workflows.order_machine import COMMANDS

# The path of every command's operation, ``{command}`` replaced by its name (openapi.py).
COMMAND_PATH = "/v1/orders/{order_id}/commands/{command}"

# A link's target: path, method, parameters and request body taken from the response.
_Target = tuple[str, str, dict[str, str], dict[str, str] | None]


def add_links(paths: dict[str, Any]) -> None:
    """Where the ids of a response lead (OpenAPI links)."""
    order = {"order_id": "$response.body#/orderId"}
    order_targets: dict[str, _Target] = {
        "ReadOrder": ("/v1/orders/{order_id}", "get", order, None),
        "ReadCommands": ("/v1/orders/{order_id}/commands", "get", order, None),
        "ReadEvents": ("/v1/orders/{order_id}/events", "get", order, None),
        "AppendEvent": ("/v1/orders/{order_id}/events", "post", order, None),
        **{
            f"Run{name[0].upper()}{name[1:]}": (
                COMMAND_PATH.replace("{command}", name),
                "put",
                order,
                None,
            )
            for name in COMMANDS
        },
    }
    customer = {"customer_id": "$response.body#/customerId"}
    customer_targets: dict[str, _Target] = {
        "ReadCustomer": ("/v1/customers/{customer_id}", "get", customer, None),
        "UpdateCustomer": ("/v1/customers/{customer_id}", "patch", customer, None),
        "ReadCustomerEvents": ("/v1/customers/{customer_id}/events", "get", customer, None),
        "PlaceOrder": ("/v1/orders", "post", {}, {"accountId": "$response.body#/customerId"}),
    }
    event = {**order, "event_id": "$response.body#/eventId"}
    event_targets: dict[str, _Target] = {
        "ReadEvent": ("/v1/orders/{order_id}/events/{event_id}", "get", event, None)
    }
    sources: list[tuple[str, str, str, dict[str, _Target]]] = [
        ("/v1/orders", "post", "201", order_targets),
        ("/v1/orders/{order_id}", "get", "200", order_targets),
        ("/v1/customers", "post", "201", customer_targets),
        ("/v1/customers/{customer_id}", "get", "200", customer_targets),
        ("/v1/orders/{order_id}/events", "post", "201", event_targets),
    ]
    for path, method, status, targets in sources:
        response = paths[path][method]["responses"][status]
        response["links"] = {
            name: _link(paths[target][target_method]["operationId"], parameters, body)
            for name, (target, target_method, parameters, body) in targets.items()
        }


def _link(
    operation_id: str, parameters: dict[str, str], body: dict[str, str] | None
) -> dict[str, Any]:
    link: dict[str, Any] = {"operationId": operation_id}
    if parameters:
        link["parameters"] = parameters
    if body:
        link["requestBody"] = body
    return link
