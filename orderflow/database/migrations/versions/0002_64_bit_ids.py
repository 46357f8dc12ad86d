"""Ids are 64-bit on PostgreSQL: customer.id, order_number.id and order_number.account_id
become BIGINT, and so do the sequences that hand out the ids; customer.request_id widens to
300 characters so that "register-" and any Idempotency-Key fit.

Revision 0001 made them INTEGER (SERIAL), so from id 2**31 on an insert, and even a lookup,
failed with "integer out of range". SQLite's INTEGER is 64-bit already and its VARCHAR
lengths are not enforced: there only the declared length of request_id changes (by copying
the table, as SQLite alters tables), so that the schema is the same as the models say.

Changing a column's type rewrites its table under an exclusive lock: on a large table, run
it in a maintenance window.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Every id column there is (outbox_event.position has been BIGINT from the start).
_IDS = [("customer", "id"), ("order_number", "id"), ("order_number", "account_id")]
_GENERATED = ["customer", "order_number"]  # the tables whose id a sequence hands out


def _on_postgresql() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _sequence_of(table: str) -> str | None:
    """The sequence behind ``table.id`` (SERIAL or identity), already quoted as needed."""
    name = op.get_bind().execute(
        sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table}
    )
    return name.scalar_one_or_none()


def _request_ids(length: int) -> None:
    with op.batch_alter_table("customer") as customer:
        customer.alter_column("request_id", type_=sa.String(length), existing_nullable=True)


def _retype(to: sa.types.TypeEngine[int], sequence_type: str) -> None:
    for table, column in _IDS:
        op.alter_column(table, column, type_=to, existing_nullable=False)
    for table in _GENERATED:
        sequence = _sequence_of(table)
        if sequence is not None:
            # A sequence has a type of its own (integer for a SERIAL): its maximum follows it.
            op.execute(sa.text(f"ALTER SEQUENCE {sequence} AS {sequence_type}"))


def upgrade() -> None:
    if _on_postgresql():
        _retype(sa.BigInteger(), "bigint")
    _request_ids(300)


def downgrade() -> None:
    # On PostgreSQL this fails, changing nothing, once an id or a request id no longer fits.
    _request_ids(255)
    if _on_postgresql():
        _retype(sa.Integer(), "integer")
