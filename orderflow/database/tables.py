"""Every table of the database, imported in one place for migrations and tests."""

from orderflow.database.customers import Customer
from orderflow.database.order_numbers import OrderNumber
from orderflow.database.outbox import OutboxEvent

__all__ = ["Customer", "OrderNumber", "OutboxEvent"]
