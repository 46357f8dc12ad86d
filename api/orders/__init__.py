"""Everything HTTP about orders: the order, its commands, its events, and the one
service that makes every Temporal call for them."""
