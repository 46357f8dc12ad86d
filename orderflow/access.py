"""API keys: who may call the API, and for what. Each key has a name (the actor its
requests are recorded under) and scopes; the service keeps only the SHA-256 of its secret.

A key's settings entry reads ``NAME:SCOPES:SHA256``, e.g.
``shop:orders:read,orders:write:9f86d08…`` (scopes hold colons themselves: the name ends at
the first colon, the digest starts after the last). ``orderflow keys new`` makes a secret
and its entry. Secrets are random 256-bit tokens, so one SHA-256 is enough: a slow password
hash would defend guessable secrets, which these are not, and cost every request.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from workflows.values import ANONYMOUS_ACTOR, UNKNOWN_ACTOR, check_actor

ADMIN = "admin"
# What each scope lets a key do; admin implies every other.
SCOPES: dict[str, str] = {
    "orders:read": "read orders, their commands, events and command outcomes",
    "orders:write": "place orders, run commands, append events",
    "customers:read": "read and find customers, their events",
    "customers:write": "register and update customers",
    "events:read": "the published events feed, its live stream, and the message catalog",
    "metrics:read": "Prometheus metrics (/metrics)",
    ADMIN: "everything, including the codec endpoints",
}
# Secrets start with this, so secret scanners and people can tell one when they see it.
SECRET_PREFIX = "ofk_"
_DIGEST = re.compile(r"[0-9a-f]{64}")
_SEPARATORS = re.compile(r"[\s;]+")
ENTRY_FORMAT = "NAME:SCOPE[,SCOPE…]:SHA256-HEX (see `orderflow keys new`)"


def digest(secret: str) -> bytes:
    """The SHA-256 of a secret, as the settings keep it."""
    return hashlib.sha256(secret.encode()).digest()


def new_secret() -> str:
    """A fresh random secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def check_scopes(scopes: Iterable[str]) -> frozenset[str]:
    """The scopes, each one of SCOPES; at least one."""
    given = frozenset(scopes)
    unknown = sorted(given - SCOPES.keys())
    if unknown:
        raise ValueError(f"unknown scope {', '.join(unknown)} (scopes: {', '.join(SCOPES)})")
    if not given:
        raise ValueError("a key needs at least one scope")
    return given


def check_key_name(name: str) -> str:
    """A key's name: an actor's name that is neither ``anonymous`` nor ``unknown``."""
    check_actor(name)
    if name in (ANONYMOUS_ACTOR, UNKNOWN_ACTOR):
        raise ValueError(f"{name!r} is reserved (it names events no key caused)")
    return name


@dataclass(frozen=True)
class ApiKey:
    """One configured key: its name, its scopes and the digest of its secret."""

    name: str
    scopes: frozenset[str]
    digest: bytes

    def entry(self) -> str:
        """The settings entry for this key."""
        return f"{self.name}:{','.join(sorted(self.scopes))}:{self.digest.hex()}"

    @staticmethod
    def parse(entry: str) -> ApiKey:
        """The key a settings entry describes; ValueError says what is wrong with it (never
        quoting the entry, which may be a secret pasted by mistake)."""
        name, _, rest = entry.partition(":")
        scopes, _, hex_digest = rest.rpartition(":")
        if not name or not scopes or not _DIGEST.fullmatch(hex_digest):
            raise ValueError(f"an entry is not {ENTRY_FORMAT}")
        try:
            check_key_name(name)
            allowed = check_scopes(scopes.split(","))
        except ValueError as error:
            raise ValueError(f"key {name!r}: {error}") from None
        return ApiKey(name, allowed, bytes.fromhex(hex_digest))

    @staticmethod
    def new(name: str, scopes: Iterable[str]) -> tuple[str, ApiKey]:
        """A fresh secret and the key that accepts it."""
        secret = new_secret()
        return secret, ApiKey(check_key_name(name), check_scopes(scopes), digest(secret))


def parse_entries(text: str) -> list[ApiKey]:
    """The keys in ``text``: entries separated by whitespace, newlines or ``;``; in a file,
    ``#`` starts a comment that runs to the end of the line."""
    lines = (line.split("#", 1)[0] for line in text.splitlines())
    return [ApiKey.parse(e) for line in lines for e in _SEPARATORS.split(line) if e]


def check_keyring(keys: Sequence[ApiKey]) -> tuple[ApiKey, ...]:
    """The keys, once each: a name or a secret used twice would make the actor ambiguous."""
    names = [key.name for key in keys]
    for name in names:
        if names.count(name) > 1:
            raise ValueError(f"two keys are named {name!r}")
    if len({key.digest for key in keys}) < len(keys):
        raise ValueError("two keys have the same secret")
    return tuple(keys)


def identify(keys: Sequence[ApiKey], secret: str) -> ApiKey | None:
    """The key whose secret this is, or None. The given secret is hashed and its digest
    compared with every key's, each in constant time and all of them every time, so how
    long it takes tells nothing of which key (or how much of a digest) matched."""
    given = digest(secret)
    found = None
    for key in keys:
        if hmac.compare_digest(given, key.digest):
            found = key
    return found


@dataclass(frozen=True)
class Caller:
    """Who sent a request: a key's name and scopes, or anonymous (the API runs without
    keys, and then everyone may do everything)."""

    name: str
    scopes: frozenset[str]

    def may(self, scopes: Collection[str]) -> bool:
        """Whether the caller holds one of ``scopes`` (none: any caller may)."""
        return not scopes or ADMIN in self.scopes or not self.scopes.isdisjoint(scopes)

    @staticmethod
    def of(key: ApiKey) -> Caller:
        return Caller(key.name, key.scopes)


ANONYMOUS = Caller(ANONYMOUS_ACTOR, frozenset({ADMIN}))
