"""The shapes of the Customer API: request bodies (validated here, so bad input changes
nothing) and the resource models that render its HAL bodies."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)
from pydantic.config import JsonDict

from api.http.hal import NumberedPage, Resource, links
from api.http.links import Links
from api.published.models import EventList
from orderflow.messages import CustomerData, Id, Shape
from workflows import customer_fields as fields
from workflows.customer_types import CustomerChanges, CustomerDetails, CustomerRecord
from workflows.values import CONTROL_CHARACTERS

# Every text: at most as long as its column (workflows/customer_fields.py), and no control
# character. The pattern states the rule in the OpenAPI document; ``_printable`` holds it
# on the text as sent, before whitespace is stripped (which would hide a "\n" at its end).
_PRINTABLE = rf"^[^{CONTROL_CHARACTERS}]*$"
# A name has at least one character that is not a space.
_CONTROL = CONTROL_CHARACTERS
_NAME = rf"^[^\S{_CONTROL}]*[^\s{_CONTROL}][^{_CONTROL}]*$"
_ADDRESS_CHARACTER = rf"[^@\s{CONTROL_CHARACTERS}]"
_EMAIL = rf"^{_ADDRESS_CHARACTER}+@{_ADDRESS_CHARACTER}+\.{_ADDRESS_CHARACTER}+$"


def _printable(value: object) -> object:
    if isinstance(value, str) and (found := fields.forbidden_character(value)) is not None:
        raise ValueError(f"must not contain control characters (U+{ord(found):04X})")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value.strip()


def _key_fits(email: str) -> str:
    # The lower-cased copy carries the unique constraint; "İ" lower-cases to two characters.
    if len(fields.email_key(email)) > fields.EMAIL_MAX:
        raise ValueError(f"must be at most {fields.EMAIL_MAX} characters once lower-cased")
    return email


Printable = BeforeValidator(_printable)


def _text(longest: int) -> StringConstraints:
    return StringConstraints(max_length=longest, pattern=_PRINTABLE, strip_whitespace=True)


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=fields.NAME_MAX, pattern=_NAME),
    AfterValidator(_not_blank),
    Printable,
]
Email = Annotated[
    str,
    StringConstraints(max_length=fields.EMAIL_MAX, pattern=_EMAIL, strip_whitespace=True),
    AfterValidator(_key_fits),
    Printable,
]
Phone = Annotated[
    str,
    StringConstraints(
        max_length=fields.PHONE_MAX, pattern=r"^\+?[0-9 ()./-]{3,32}$", strip_whitespace=True
    ),
    Printable,
]
Street = Annotated[str, _text(fields.STREET_MAX), Printable]
City = Annotated[str, _text(fields.CITY_MAX), Printable]
PostalCode = Annotated[str, _text(fields.POSTAL_CODE_MAX), Printable]
Country = Annotated[str, _text(fields.COUNTRY_MAX), Printable]

_EXAMPLE: JsonDict = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0000",
    "address": {"street": "12 St James's Square", "city": "London", "postalCode": "SW1Y 4JH",
                "country": "GB"},
}  # fmt: skip


class Address(BaseModel):
    model_config = ConfigDict(extra="forbid")

    street: Street | None = None
    city: City | None = None
    postalCode: PostalCode | None = None
    country: Country | None = None

    def columns(self, only_set: bool = False) -> dict[str, Any]:
        names = {
            "street": "street",
            "city": "city",
            "postalCode": "postal_code",
            "country": "country",
        }
        given = self.model_fields_set if only_set else names.keys()
        return {names[k]: getattr(self, k) for k in names if k in given}


class CustomerCreate(BaseModel):
    """Register Customer 1.0.0."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [_EXAMPLE]})

    firstName: Name
    lastName: Name
    email: Email
    phone: Phone | None = None
    address: Address | None = None

    def details(self) -> CustomerDetails:
        address = self.address.columns() if self.address else {}
        return CustomerDetails(
            first_name=self.firstName,
            last_name=self.lastName,
            email=self.email,
            phone=self.phone,
            **address,
        )


def _required_stay(schema: dict[str, Any]) -> None:
    """A patch may change a name or the email, never remove one: no null in their schema."""
    schema["examples"] = [{"email": "ada@lovelace.example", "phone": None}]
    for name in ("firstName", "lastName", "email"):
        field = schema["properties"][name]
        choices = [choice for choice in field.pop("anyOf", []) if choice.get("type") != "null"]
        field.update(choices[0] if len(choices) == 1 else {"anyOf": choices})
        field.pop("default", None)


class CustomerPatch(BaseModel):
    """Update Customer 1.0.0: a JSON merge patch. Fields left out stay as they are; `null`
    clears `phone`, the `address` or one of its fields."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_required_stay,
    )

    # Names and email can change but not be removed: null is refused with a clear reason
    # (see ``changes``), and left out of their schema (``_required_stay``).
    firstName: Name | None = None
    lastName: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    address: Address | None = None

    def changes(self) -> CustomerChanges:
        given = self.model_fields_set
        for required in ("firstName", "lastName", "email"):
            if required in given and getattr(self, required) is None:
                raise ValueError(f"{required} cannot be removed")
        values: dict[str, Any] = {}
        names = {"firstName": "first_name", "lastName": "last_name", "email": "email",
                 "phone": "phone"}  # fmt: skip
        values.update(
            {column: getattr(self, name) for name, column in names.items() if name in given}
        )
        if "address" in given:
            if self.address is None:
                values.update(dict.fromkeys(("street", "city", "postal_code", "country")))
            else:
                values.update(self.address.columns(only_set=True))
        return CustomerChanges(values)


class CustomerResource(Resource, CustomerData):
    """A customer (application/hal+json); ``ETag`` carries its version."""

    @classmethod
    def of(cls, record: CustomerRecord, to: Links) -> CustomerResource:
        customer_links = links(
            self=to.customer(record.customer_id),
            orders=to.orders(accountId=record.customer_id),
            events=to.customer_events(record.customer_id),
        )
        return cls(**dict(CustomerData.from_record(record)), links=customer_links)


class CustomerList(Shape):
    customers: list[CustomerResource]


class CustomerPage(Resource):
    """Customers found (by email: none or one)."""

    embedded: CustomerList = Field(alias="_embedded")


class CustomerEventPage(Resource):
    """A page of the customer's published events (CloudEvents), oldest first."""

    embedded: EventList = Field(alias="_embedded")
    page: NumberedPage


class CustomerRequestResource(Resource):
    """Where a register, update or erase request stands: pending, completed, refused (a
    duplicate email, an unknown or erased customer, a stale version) or failed (it can never
    complete, e.g. the database cannot store its data; ``detail`` says why)."""

    request_id: str
    status: Literal["pending", "completed", "refused", "failed"]
    customer_id: Id | None = None
    refusal: str | None = Field(None, description="The problem type's last part, if refused")
    detail: str | None = Field(None, description="Why it was refused or failed")
