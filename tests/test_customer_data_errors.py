"""The customer activities against real databases: data the database can never store is a
non-retryable failure that names no personal data; an outage is retried; an id outside
1..2**63-1 is a customer that does not exist, asked of no database."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest
from sqlalchemy.exc import OperationalError
from temporalio.exceptions import ApplicationError

from activities.customer_activities import CustomerActivities, is_data_error
from orderflow.bench.stack import free_port
from orderflow.database import customer_changes, order_numbers
from orderflow.database import customers as customer_store
from orderflow.database.engine import create_database_engine
from orderflow.database.migrate import upgrade
from workflows.customer_types import (
    CustomerChanges,
    CustomerDetails,
    RegisterCustomerInput,
    UpdateCustomerInput,
)

OUT_OF_RANGE = [0, -1, 2**63, 2**64 + 1]


def details(**changes: str) -> CustomerDetails:
    fields = {
        "first_name": "Annie",
        "last_name": "Easley",
        "email": f"ae-{uuid.uuid4().hex[:8]}@example.com",
    }
    return CustomerDetails(**{**fields, **changes})


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    url = f"sqlite:///{tmp_path}/customers.db"
    engine = create_database_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


@pytest.mark.parametrize(
    "hostile",
    [
        {"first_name": "a\x00b"},
        {"last_name": "Eas\x00ley"},
        {"city": "Cleve\x1bland"},
        {"postal_code": "1" * 21},
        {"phone": "+" + "1" * 32},
        {"email": "\u0130" * 250 + "@x.io"},
        {"first_name": "half a surrogate \ud800"},
    ],
    ids=[
        "nul",
        "nul-last-name",
        "escape",
        "long-postal-code",
        "long-phone",
        "long-key",
        "surrogate",
    ],
)
def test_data_outside_its_domain_fails_once_and_says_why(
    database_url: str, hostile: dict[str, str]
) -> None:
    engine = create_database_engine(database_url)
    activities = CustomerActivities(engine)
    bad = details(**hostile)
    with pytest.raises(ApplicationError) as failure:
        activities.register_customer(RegisterCustomerInput(f"register-{uuid.uuid4()}", bad))
    assert failure.value.type == "InvalidCustomerData" and failure.value.non_retryable
    assert next(iter(hostile)) in failure.value.message  # names the field, not the value
    assert customer_store.find_by_email(engine, bad.email) is None

    customer = customer_changes.register(engine, f"register-{uuid.uuid4()}", details())
    update = UpdateCustomerInput(
        f"update-{uuid.uuid4()}", customer.customer_id, CustomerChanges(hostile)
    )
    with pytest.raises(ApplicationError) as failure:
        activities.update_customer(update)
    assert failure.value.type == "InvalidCustomerData" and failure.value.non_retryable
    assert customer_store.get(engine, customer.customer_id) == customer
    engine.dispose()


def test_data_postgresql_refuses_is_a_data_error_that_quotes_nothing(own_postgres_url: str) -> None:
    """A column narrower than its domain (a real DataError from PostgreSQL), and a rule of
    the table (a real IntegrityError that is not a duplicate email)."""
    raw = own_postgres_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(raw, autocommit=True) as connection:
        connection.execute("ALTER TABLE customer ALTER COLUMN city TYPE varchar(5)")
        connection.execute("ALTER TABLE customer ADD CONSTRAINT no_x CHECK (last_name <> 'X')")
    engine = create_database_engine(own_postgres_url)
    activities = CustomerActivities(engine)
    for hostile, kind in [
        ({"city": "Cleveland"}, "StringDataRightTruncation"),
        ({"last_name": "X"}, "CheckViolation"),
    ]:
        bad = details(**hostile)
        with pytest.raises(ApplicationError) as failure:
            activities.register_customer(RegisterCustomerInput(f"register-{uuid.uuid4()}", bad))
        assert failure.value.type == "InvalidCustomerData" and failure.value.non_retryable
        assert kind in failure.value.message
        assert failure.value.__cause__ is None  # the driver's message quotes the values
        assert bad.email not in str(failure.value) and hostile.popitem()[1] not in str(
            failure.value
        )
    customer = customer_changes.register(engine, "register-fine", details())
    with pytest.raises(ApplicationError) as failure:
        activities.update_customer(
            UpdateCustomerInput(
                "update-x", customer.customer_id, CustomerChanges({"last_name": "X"})
            )
        )
    assert failure.value.type == "InvalidCustomerData" and "CheckViolation" in failure.value.message
    assert customer_store.get(engine, customer.customer_id) == customer
    engine.dispose()


@pytest.mark.parametrize(
    ("error", "data"),
    [
        (OverflowError("Python int too large to convert to SQLite INTEGER"), True),
        (UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"), True),
        (OperationalError("SELECT 1", {}, ConnectionRefusedError()), False),
        (TimeoutError(), False),
    ],
)
def test_data_errors_are_told_from_outages(error: Exception, data: bool) -> None:
    assert is_data_error(error) is data


@pytest.mark.parametrize("customer_id", [*OUT_OF_RANGE, 2**31, 2**63 - 1])
def test_an_id_out_of_range_is_a_customer_that_does_not_exist(
    database_url: str, customer_id: int
) -> None:
    engine = create_database_engine(database_url)
    activities = CustomerActivities(engine)
    update = UpdateCustomerInput("update-x", customer_id, CustomerChanges({"last_name": "X"}))
    with pytest.raises(ApplicationError) as failure:
        activities.update_customer(update)
    assert failure.value.type == "CustomerNotFound" and failure.value.non_retryable
    assert customer_store.get(engine, customer_id) is None
    assert not customer_store.exists(engine, customer_id)
    assert order_numbers.account_of(engine, customer_id) is None
    engine.dispose()


def test_an_unreachable_database_is_retried() -> None:
    nowhere = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none?connect_timeout=2"
    engine = create_database_engine(nowhere)
    activities = CustomerActivities(engine)
    with pytest.raises(OperationalError):  # not an ApplicationError: Temporal retries it
        activities.register_customer(RegisterCustomerInput("register-y", details()))
    update = UpdateCustomerInput("update-y", 1, CustomerChanges({"last_name": "X"}))
    with pytest.raises(OperationalError):
        activities.update_customer(update)
    engine.dispose()
