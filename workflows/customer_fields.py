"""The domain of each customer text, defined once: the request models validate with it and
the table's columns are sized by it, so the database never refuses what the API accepted.

Plain Python (no pydantic, no SQLAlchemy): the API, the database layer and the workflows
all import it.
"""

from __future__ import annotations

import re

from workflows.values import CONTROL_CHARACTERS

NAME_MAX = 100
EMAIL_MAX = 254  # RFC 5321's limit on a path
PHONE_MAX = 32
STREET_MAX = 200
CITY_MAX = 100
POSTAL_CODE_MAX = 20
COUNTRY_MAX = 100
# "register-" + an Idempotency-Key (the HTTP edge allows 255 characters) must fit.
REQUEST_ID_MAX = 300

# The longest value of each column, by column name.
MAX_LENGTH: dict[str, int] = {
    "first_name": NAME_MAX,
    "last_name": NAME_MAX,
    "email": EMAIL_MAX,
    "phone": PHONE_MAX,
    "street": STREET_MAX,
    "city": CITY_MAX,
    "postal_code": POSTAL_CODE_MAX,
    "country": COUNTRY_MAX,
}

# Characters no customer text may hold: CONTROL_CHARACTERS (values.py, the one definition
# for every text: C0 and C1 controls, NUL among them, which PostgreSQL cannot store, and the
# line and paragraph separators), and halves of surrogate pairs (not encodable as UTF-8).
_FORBIDDEN = re.compile(f"[{CONTROL_CHARACTERS}\ud800-\udfff]")


def forbidden_character(text: str) -> str | None:
    """The first character of ``text`` that no customer text may hold, or None.

    >>> forbidden_character("Ada\\x00")
    '\\x00'
    """
    found = _FORBIDDEN.search(text)
    return found.group() if found else None


def email_key(email: str) -> str:
    """What makes emails equal regardless of case (it carries the unique constraint).

    Lower-casing can lengthen a text ("İ" becomes two characters), so the key is checked
    against the column too.
    """
    return email.lower()
