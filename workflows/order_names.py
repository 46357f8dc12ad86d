"""Names shared by the order workflow, the worker and the API: defined once here."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

ORDER_WORKFLOW = "Order"
WORKFLOW_ID_PREFIX = "order-"

QUERY_ORDER = "order"
QUERY_EVENTS = "events"
QUERY_EVENT = "event"
QUERY_COMMANDS = "commands"
QUERY_OUTCOME = "outcome"

ORDER_STATUS = SearchAttributeKey.for_keyword("OrderStatus")
ACCOUNT_ID = SearchAttributeKey.for_int("AccountId")
RESTAURANT_ID = SearchAttributeKey.for_int("RestaurantId")
DRIVER_ID = SearchAttributeKey.for_int("DriverId")
SEARCH_ATTRIBUTES = (ORDER_STATUS, ACCOUNT_ID, RESTAURANT_ID, DRIVER_ID)


def order_workflow_id(order_id: int) -> str:
    return f"{WORKFLOW_ID_PREFIX}{order_id}"


def order_id_of(workflow_id: str) -> int | None:
    """The order id in an ``order-{id}`` workflow id, or None for any other id."""
    suffix = workflow_id.removeprefix(WORKFLOW_ID_PREFIX)
    if suffix == workflow_id or not suffix.isdigit():
        return None
    return int(suffix)
