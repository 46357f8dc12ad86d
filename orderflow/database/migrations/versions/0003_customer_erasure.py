"""Customers can be erased: their personal columns become nullable, and ``erased_at`` says
when a customer was erased (NULL: never).

An erased row keeps its id (orders refer to it), version, times and registration request
id; first_name, last_name, email, email_key, phone and the address are NULL. The unique
constraint on email_key admits any number of NULLs on both databases, so the email can be
registered again.

SQLite alters the columns by copying the table (batch mode); PostgreSQL alters them in
place, without rewriting the table (dropping NOT NULL and adding a nullable column are
catalog changes only).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# The personal columns that were NOT NULL, with their types.
_REQUIRED = [
    ("first_name", sa.String(100)),
    ("last_name", sa.String(100)),
    ("email", sa.String(254)),
    ("email_key", sa.String(254)),
]


def upgrade() -> None:
    with op.batch_alter_table("customer") as customer:
        for name, kind in _REQUIRED:
            customer.alter_column(name, existing_type=kind, nullable=True)
        customer.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # Fails, changing nothing, while an erased customer is in the table: an erased
    # customer cannot be represented by revision 0002.
    with op.batch_alter_table("customer") as customer:
        customer.drop_column("erased_at")
        for name, kind in _REQUIRED:
            customer.alter_column(name, existing_type=kind, nullable=False)
