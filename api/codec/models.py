"""The bodies of Temporal's remote codec protocol: payloads in proto3 JSON, where every bytes
field (each metadata value, the data) is base64, standard or URL-safe, padded or not."""

from __future__ import annotations

import base64
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints
from temporalio.api.common.v1 import Payload

# Groups of four characters, then an optional tail of two or three (with or without its
# padding): what decodes to bytes. A single dangling character does not.
_CHARACTER = "[A-Za-z0-9+/_-]"
BASE64_PATTERN = rf"^(?:{_CHARACTER}{{4}})*(?:{_CHARACTER}{{2}}(?:==)?|{_CHARACTER}{{3}}=?)?$"
Base64 = Annotated[str, StringConstraints(pattern=BASE64_PATTERN)]


class CodecPayload(BaseModel):
    """One Temporal payload (``temporal.api.common.v1.Payload``) in proto3 JSON."""

    metadata: dict[str, Base64] = Field(
        default_factory=dict,
        description="Metadata values, base64: `encoding` says how `data` is to be read.",
        examples=[{"encoding": "anNvbi9wbGFpbg=="}],
    )
    data: Base64 = Field("", description="The payload's bytes, base64.", examples=["IkFkYSI="])

    @classmethod
    def of(cls, payload: Payload) -> CodecPayload:
        return cls.model_construct(
            metadata={key: _encode(value) for key, value in payload.metadata.items()},
            data=_encode(payload.data),
        )

    def proto(self) -> Payload:
        return Payload(
            metadata={key: _decode(value) for key, value in self.metadata.items()},
            data=_decode(self.data),
        )


class CodecPayloads(BaseModel):
    """The body of a codec request and of its answer: payloads, in the same order."""

    # As many as fit in the body (CODEC_MAX_BODY_BYTES).
    payloads: list[CodecPayload]


def _encode(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _decode(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional (BASE64_PATTERN has held the rest)."""
    unpadded = text.rstrip("=").replace("-", "+").replace("_", "/")
    return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
