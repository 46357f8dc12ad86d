"""The order workflow's patches (``workflow.patched``), each with the change it guards: orders
recorded before a patch replay without it. docs/changing-workflows.md lists them; once no
order from before one is open, its branch can be deprecated, then removed."""

# Order events reach the outbox through a local activity (patched in: orders started before
# it existed replay without it), since the second patch in batches gathered over
# OrderInput.publish_delay_ms.
PUBLISH_EVENTS = "publish-events-to-outbox"
PUBLISH_IN_BATCHES = "publish-events-in-batches"
# Since this patch a value outside its domain (workflows/values.py), a command id that is not
# a key, a signal that is not one CommandSignal and a signal no command names are refused as
# outcomes. Orders recorded before it keep their old rules (order_parameters_v1).
VALUES_CHECKED = "command-values-checked"
# A burst of signals arrives in one activation (10,000 of them in a few seconds), which must
# finish within the SDK's 2 s deadlock timeout: what a command needs beyond its own state
# change is done once per activation, after all its signals (_catch_up). Since this patch
# that includes upserting the search attributes, once per changed activation instead of once
# per command that changes them.
INDEX_PER_ACTIVATION = "search-attributes-once-per-activation"
# The server suggests continue-as-new by history length (4,096 events by default, but a
# setting of the cluster), which alone could let a fast stream of commands fill the kept log
# (OrderInput.max_events) first, and the commands past it would be refused after they were
# accepted. Since this patch an order also continues as new once its log holds three
# quarters of max_events, if trimming published events would free at least a quarter.
CONTINUE_BEFORE_LOG_FILLS = "continue-as-new-before-the-log-fills"
# Since this patch the next run gets its kept events and remembered outcomes as one JSON
# text (OrderCarryOver.pack): read item by item, a thousand outcomes could keep its first
# workflow task past the SDK's deadlock detector on a busy worker.
PACKED_CARRY_OVER = "carry-over-packed"
# Since this patch one marker stands for all of the above: an order started since records
# one patch marker and one TemporalChangeVersion upsert instead of five of each (ten history
# events fewer per order). An order recorded before it asks for each patch as it did.
EVERY_PATCH_ABOVE = "order-v7-every-patch-above"
