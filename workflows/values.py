"""The value domains of orderflow, each defined once: what an id, a coordinate, a text or a
key may be.

The state machine checks every command parameter against them; the API's validation, the
message catalog and the database columns are to use the same definitions. They are plain:
constants, ``check_*`` functions that take any value (a JSON value or a query-string text)
and return it typed or raise ``ValueError`` with a reason a client can read ("must be …"),
``Domain`` records with the JSON Schema of each, and ``typing.Annotated`` aliases carrying
the domain. Nothing here imports pydantic, so workflows can use it in the sandbox; a
pydantic model applies a domain like this::

    restaurant_id: Annotated[Id, BeforeValidator(ID.check), WithJsonSchema(ID.json_schema)]

Decisions:
- ids are integers in 1..2**63-1: PostgreSQL BIGINT and Temporal's Int search attributes
  hold no more; an id beyond fails every upsert of the order's search attributes.
- Numbers are parsed strictly. JSON numbers, or texts in plain ASCII decimal notation:
  no spaces, underscores, "+", hexadecimal, non-ASCII digits, "nan" or "inf". Booleans are
  not numbers, and an id is never a fraction (not even 101.0).
- Coordinates are finite numbers, lat in [-90, 90], lon in [-180, 180].
- Texts are single lines of at most TEXT_MAX_LENGTH characters (code points) with no
  control characters: NUL, every other C0 control *including tab and newline*, DEL and the
  C1 controls are refused, and so are the line and paragraph separators (U+2028, U+2029)
  and lone surrogates (which no UTF-8 encoder or PostgreSQL column accepts). Every text
  orderflow keeps is a one-line label shown in lists, logs and the Web UI, where a newline
  or tab breaks the line (or forges a log line); a field that needs paragraphs would be a
  new domain.
- Keys (command ids, Idempotency-Key) are 1..KEY_MAX_LENGTH visible ASCII characters, as
  the HTTP header allows: they travel in headers and URLs and are compared byte for byte.
- Actors (who caused an event) are the names of API keys: 1..ACTOR_MAX_LENGTH ASCII
  letters, digits, ``.``, ``_`` and ``-``, starting with a letter or digit (no ``:`` or
  ``,``, which separate the parts of a key's settings entry). Two names are no key's:
  ``anonymous`` (the API runs without keys) and ``unknown`` (recorded before actors were,
  or sent to Temporal by something other than the API).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

T = TypeVar("T")

ID_MIN = 1
ID_MAX = 2**63 - 1
LATITUDE_MIN, LATITUDE_MAX = -90.0, 90.0
LONGITUDE_MIN, LONGITUDE_MAX = -180.0, 180.0
TEXT_MAX_LENGTH = 500
KEY_MAX_LENGTH = 255
KEY_PATTERN = r"^[\x21-\x7e]+$"  # visible ASCII: no spaces, no controls
ACTOR_MAX_LENGTH = 32  # short: every order event carries one (see OrderInput.max_events)
ACTOR_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
ANONYMOUS_ACTOR = "anonymous"
UNKNOWN_ACTOR = "unknown"
# The characters no text may hold, as a regex class body that Python, pydantic's Rust engine
# and JSON Schema (ECMA-262) read alike; lone surrogates are refused too (not expressible so).
CONTROL_CHARACTERS = r"\x00-\x1f\x7f-\x9f\u2028\u2029"
TEXT_PATTERN = f"^[^{CONTROL_CHARACTERS}]*$"

# Plain ASCII decimal notation, as JSON and query strings write numbers here.
INTEGER_TEXT = re.compile(r"-?[0-9]{1,30}")
NUMBER_TEXT = re.compile(r"-?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,4})?")
_NOT_IN_TEXT = re.compile(f"[{CONTROL_CHARACTERS}\ud800-\udfff]")
_KEY = re.compile(r"[\x21-\x7e]+")
_ACTOR = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_id(value: object) -> int:
    """An id: ``check_id("101") == check_id(101) == 101``; 0, -1, 2**63, 1.5, True raise."""
    number = _integer(value) if not isinstance(value, bool) else None
    if number is None or not ID_MIN <= number <= ID_MAX:
        raise ValueError(f"must be a positive integer no larger than {ID_MAX}")
    return number


def is_id(value: int) -> bool:
    """Whether an integer is in the id domain (outside it, nothing can have that id)."""
    return ID_MIN <= value <= ID_MAX


def check_latitude(value: object) -> float:
    return _degrees(value, LATITUDE_MIN, LATITUDE_MAX)


def check_longitude(value: object) -> float:
    return _degrees(value, LONGITUDE_MIN, LONGITUDE_MAX)


def check_text(value: object, *, max_length: int = TEXT_MAX_LENGTH) -> str:
    """A one-line text of at most ``max_length`` characters."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    bad = _NOT_IN_TEXT.search(value)
    if bad is not None:
        raise ValueError(
            f"must not contain control characters (U+{ord(bad.group()):04X} "
            f"at position {bad.start()})"
        )
    return value


def check_key(value: object) -> str:
    """A command id or idempotency key."""
    if not isinstance(value, str) or len(value) > KEY_MAX_LENGTH or not _KEY.fullmatch(value):
        raise ValueError(f"must be 1 to {KEY_MAX_LENGTH} visible ASCII characters")
    return value


def check_actor(value: object) -> str:
    """The name of an API key, or one of the two names no key has."""
    if not isinstance(value, str) or len(value) > ACTOR_MAX_LENGTH or not _ACTOR.fullmatch(value):
        raise ValueError(
            f"must be 1 to {ACTOR_MAX_LENGTH} ASCII letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


def actor_or_unknown(value: object) -> str:
    """``value`` if it is an actor's name, else ``unknown``: what a workflow records for a
    signal that names no actor (sent before actors were, or not by the API)."""
    try:
        return check_actor(value)
    except ValueError:
        return UNKNOWN_ACTOR


def _integer(value: object) -> int | None:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and INTEGER_TEXT.fullmatch(value):
        return int(value)
    return None


def _degrees(value: object, low: float, high: float) -> float:
    if isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
        value = float(value)  # may be inf for "1e999": refused below
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("must be a finite number")
    elif not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"must be a number between {low:g} and {high:g}")
    if not low <= value <= high:  # compared before float(): a huge int cannot overflow
        raise ValueError(f"must be a number between {low:g} and {high:g}")
    return float(value)


@dataclass(frozen=True)
class Domain(Generic[T]):
    """One value domain: its check and its JSON Schema, for any layer to apply."""

    name: str
    check: Callable[[object], T]
    json_schema: dict[str, Any]


ID = Domain("id", check_id, {"type": "integer", "minimum": ID_MIN, "maximum": ID_MAX})
LATITUDE = Domain("latitude", check_latitude, {"type": "number", "minimum": -90, "maximum": 90})
LONGITUDE = Domain(
    "longitude", check_longitude, {"type": "number", "minimum": -180, "maximum": 180}
)
TEXT = Domain(
    "text",
    check_text,
    {
        "type": "string",
        "maxLength": TEXT_MAX_LENGTH,
        "pattern": TEXT_PATTERN,
    },
)
KEY = Domain(
    "key",
    check_key,
    {"type": "string", "minLength": 1, "maxLength": KEY_MAX_LENGTH, "pattern": KEY_PATTERN},
)
ACTOR = Domain(
    "actor",
    check_actor,
    {
        "type": "string",
        "minLength": 1,
        "maxLength": ACTOR_MAX_LENGTH,
        "pattern": ACTOR_PATTERN,
    },
)

# For signatures and models: the base type plus the domain its values must be in.
Id = Annotated[int, ID]
Latitude = Annotated[float, LATITUDE]
Longitude = Annotated[float, LONGITUDE]
Text = Annotated[str, TEXT]
Key = Annotated[str, KEY]
Actor = Annotated[str, ACTOR]
