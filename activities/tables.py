"""Every table of the database, imported in one place for migrations and tests."""

from activities.customer_store import Customer
from activities.order_numbers import OrderNumber
from activities.outbox import OutboxEvent

__all__ = ["Customer", "OrderNumber", "OutboxEvent"]
