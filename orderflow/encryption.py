"""Payload encryption: every payload orderflow hands to Temporal (workflow inputs, signals,
query results, activity arguments, summaries, failures) is sealed with AES-256-GCM before it
leaves the process, so Temporal's history holds ciphertext only.

Keys come as a key ring, ``id:base64key`` entries with the newest last: payloads are
encrypted with the newest and decrypted with whichever key their metadata names, so a new
key can be added (rotation) while histories written under the old one stay readable.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
KEY_ID_PATTERN = re.compile(r"[A-Za-z0-9._-]{1,64}")


class KeyRingError(ValueError):
    """The configured keys cannot be used (missing, malformed, duplicated)."""


class UndecryptablePayload(ValueError):
    """A payload that says it is encrypted but cannot be decrypted: never passed on as is."""

    def __init__(self, key_id: str, reason: str) -> None:
        super().__init__(f"a payload encrypted with key {key_id!r}: {reason}")
        self.key_id = key_id
        self.reason = reason


@dataclass(frozen=True)
class KeyRing:
    """Key id → 32-byte key, oldest first: the last one encrypts."""

    keys: dict[str, bytes]

    def __post_init__(self) -> None:
        if not self.keys:
            raise KeyRingError("the key ring is empty")

    @property
    def newest(self) -> str:
        return next(reversed(self.keys))

    @classmethod
    def parse(cls, text: str, *, source: str = "the key ring") -> KeyRing:
        """Entries ``id:base64key`` separated by commas or new lines, newest last; blank
        lines and ``#`` comments are ignored. Errors name the entry, never the key."""
        keys: dict[str, bytes] = {}
        entries = (
            entry.strip()
            for line in text.splitlines()
            for entry in line.split("#", 1)[0].split(",")
        )
        for entry in filter(None, entries):
            key_id, separator, encoded = entry.partition(":")
            key_id = key_id.strip()
            if not separator or not KEY_ID_PATTERN.fullmatch(key_id):
                raise KeyRingError(
                    f"{source}: each entry is id:base64key, the id of letters, digits, '.', "
                    "'_' or '-' (at most 64)"
                )
            try:
                key = base64.b64decode(encoded.strip(), validate=True)
            except binascii.Error:
                raise KeyRingError(f"{source}: key {key_id!r} is not valid base64") from None
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"{source}: key {key_id!r} has {len(key)} bytes, AES-256 needs {KEY_BYTES}"
                )
            if key_id in keys:
                raise KeyRingError(f"{source}: key id {key_id!r} appears twice")
            keys[key_id] = key
        if not keys:
            raise KeyRingError(f"{source} holds no key")
        return cls(keys)

    @classmethod
    def read(cls, path: Path) -> KeyRing:
        try:
            text = path.read_text()
        except OSError as error:
            raise KeyRingError(f"cannot read the key file {path}: {error.strerror}") from None
        return cls.parse(text, source=str(path))


def new_key_entry(key_id: str) -> str:
    """A fresh ``id:base64key`` entry from the operating system's random source."""
    if not KEY_ID_PATTERN.fullmatch(key_id):
        raise KeyRingError(f"invalid key id {key_id!r}")
    return f"{key_id}:{base64.b64encode(os.urandom(KEY_BYTES)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each whole serialized payload (its metadata too, so even the
    payload's type is hidden). The result carries the encoding ``binary/encrypted`` and the
    key id; the data is a random 96-bit nonce followed by the ciphertext and its tag, and
    the key id is authenticated with it.

    Decoding passes payloads that are not ``binary/encrypted`` through unchanged: histories
    written before encryption was turned on keep working. An encrypted payload whose key is
    not in the ring, or that does not authenticate, raises :class:`UndecryptablePayload`.
    """

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.ring.newest
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), key_id.encode())
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID: key_id.encode()}, data=nonce + sealed
        )

    def decrypt(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise UndecryptablePayload(
                key_id, f"no such key in the ring (it has {', '.join(self.ring.keys)})"
            )
        nonce, sealed = payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:]
        try:
            plain = cipher.decrypt(nonce, sealed, key_id.encode())
        except (InvalidTag, ValueError):
            raise UndecryptablePayload(key_id, "it does not authenticate") from None
        decrypted = Payload()
        decrypted.ParseFromString(plain)
        return decrypted
