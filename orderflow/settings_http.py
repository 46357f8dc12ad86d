"""The HTTP API's part of the settings: its address, API keys, CORS, request limits, the Web
UI's codec endpoint and the live event streams. Settings (orderflow/settings.py) derives from
it and reads the environment; this class is never read on its own."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Self

from pydantic import BaseModel, Field, PrivateAttr, field_validator, model_validator
from pydantic_settings import NoDecode

from orderflow.access import ENTRY_FORMAT, ApiKey, check_keyring, parse_entries


class HttpSettings(BaseModel):
    """The settings of the HTTP API (see Settings for how they are read)."""

    # HTTP API.
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_base_url: str | None = Field(
        None, description="Fixed base URL for links; by default taken from the request."
    )
    # API keys: each a name, scopes and the SHA-256 of its secret (orderflow/access.py). With
    # none, the API is open and records its callers as "anonymous".
    api_keys: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description=f"Keys, {ENTRY_FORMAT}, separated by spaces, newlines or ';'.",
    )
    api_keys_file: Path | None = Field(
        None, description="A file of more keys, one entry a line ('#' starts a comment)."
    )
    _keyring: tuple[ApiKey, ...] = PrivateAttr(default=())
    # Browser origins allowed to call /v1 (CORS), e.g. ["https://shop.example"]; none: CORS off.
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Origins allowed to call /v1 from a browser."
    )
    api_metrics: bool = Field(True, description="Serve Prometheus metrics at /metrics")
    # Request limits: beyond them the API answers 413 / 431 (problem+json) and reads no further.
    api_max_body_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body accepted (bytes)."
    )
    api_max_header_bytes: int = Field(
        16_384, ge=1_024, description="Largest total of a request's header names and values."
    )
    # The Web UI's remote codec (POST /codec/decode, /codec/encode on the API).
    codec_allowed_origins: list[str] = Field(
        default_factory=list,
        description="Web UI origins allowed to call the codec; by default TEMPORAL_UI_URL's.",
    )
    codec_endpoint_url: str | None = Field(
        None, description="The codec's URL as the browser reaches it; the API's /codec by default."
    )
    codec_max_body_bytes: int = Field(
        8 * 1_048_576, ge=1, description="Largest body the codec accepts (history payloads)."
    )
    codec_session_hours: float = Field(
        8.0, gt=0, description="How long a codec sign-in cookie lasts."
    )

    # Live event streams (/v1/events/stream): one broadcaster per API process follows the
    # outbox (LISTEN/NOTIFY on PostgreSQL, polling on SQLite) and feeds every subscriber.
    stream_heartbeat_seconds: float = Field(
        5.0, gt=0, description="A comment line after this long without an event."
    )
    stream_queue_size: int = Field(
        1_000, ge=1, description="Events a subscriber may fall behind before it is closed."
    )
    stream_retry_ms: int = Field(
        1_000, ge=0, description="How long clients wait before reconnecting (SSE retry)."
    )
    stream_poll_seconds: float = Field(
        0.2, gt=0, description="Outbox poll interval: SQLite, or PostgreSQL without LISTEN."
    )
    stream_safety_poll_seconds: float = Field(
        5.0, gt=0, description="Outbox poll interval while LISTEN works (a safety net)."
    )

    @field_validator("api_keys", mode="before")
    @classmethod
    def _api_key_entries(cls, value: object) -> object:
        """Entries as given (one string, or a list of them), checked one by one."""
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return value  # pydantic says what is wrong with it
        return [key.entry() for text in texts for key in parse_entries(text)]

    @field_validator("api_keys_file")
    @classmethod
    def _api_keys_file_readable(cls, path: Path | None) -> Path | None:
        if path is not None:
            parse_entries(_read(path))
        return path

    @model_validator(mode="after")
    def _one_keyring(self) -> Self:
        entries = "\n".join(self.api_keys)
        if self.api_keys_file is not None:
            entries += "\n" + _read(self.api_keys_file)
        self._keyring = check_keyring(parse_entries(entries))
        return self

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> object:
        """Origins separated by commas or spaces: each scheme://host[:port] (no path, as
        browsers send it), or * for any."""
        if isinstance(value, str):
            value = [o for o in value.replace(",", " ").split() if o]
        if isinstance(value, list):
            for origin in value:
                if not isinstance(origin, str) or not (origin == "*" or _ORIGIN.fullmatch(origin)):
                    raise ValueError(f"{origin!r} is not an origin (scheme://host[:port], or *)")
        return value

    @property
    def keyring(self) -> tuple[ApiKey, ...]:
        """Every configured key (API_KEYS and API_KEYS_FILE); empty: the API is open."""
        return self._keyring

    @property
    def codec_url(self) -> str:
        """Where the browser reaches the codec: on the same host as the embedded Web UI
        (localhost), so the two are one site and a codec sign-in cookie is sent."""
        if self.codec_endpoint_url:
            return self.codec_endpoint_url.rstrip("/")
        if self.public_base_url:
            return f"{self.public_base_url.rstrip('/')}/codec"
        loopback = self.api_host in ("127.0.0.1", "0.0.0.0", "::", "::1", "localhost")
        host = "localhost" if loopback else self.api_host
        return f"http://{host}:{self.api_port}/codec"


_ORIGIN = re.compile(r"https?://[^/\s:]+(:[0-9]{1,5})?")


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror}") from None
