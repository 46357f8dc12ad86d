"""A careless change to the order workflow, for proving the replay tests catch one.

Kept in its own module: the workflow sandbox re-imports the module a workflow lives in.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from workflows.order_types import Order, OrderInput
    from workflows.order_workflow import OrderWorkflow


@workflow.defn(name="Order")
class TimerFirstOrderWorkflow(OrderWorkflow):
    """Schedules a timer that recorded orders never scheduled."""

    @workflow.run
    async def run(self, input: OrderInput) -> Order:
        await workflow.sleep(1)
        return await super().run(input)
