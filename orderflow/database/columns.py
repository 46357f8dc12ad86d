"""Column types the tables share: every id is a 64-bit integer (the Id domain, 1..2**63-1)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Integer

# BIGINT on PostgreSQL; on SQLite INTEGER, which is 64-bit there and the only type a
# primary key autoincrements with.
ID = BigInteger().with_variant(Integer(), "sqlite")
