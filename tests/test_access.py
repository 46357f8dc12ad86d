"""API keys as settings hold them: entries of name, scopes and digest; parsed strictly,
never stored in clear, and made by `orderflow keys new`."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from orderflow.access import ADMIN, SCOPES, ApiKey, Caller, identify, parse_entries
from orderflow.settings import Settings
from tests.api_keys import entry
from tests.processes import orderflow


def test_an_entry_names_a_key_its_scopes_and_the_digest_of_its_secret() -> None:
    key = ApiKey.parse(entry("shop", "s3cret", "orders:read", "orders:write"))
    assert key.name == "shop" and key.scopes == {"orders:read", "orders:write"}
    assert key.digest == hashlib.sha256(b"s3cret").digest()
    assert ApiKey.parse(key.entry()) == key
    assert identify([key], "s3cret") == key
    assert identify([key], "s3cret ") is None and identify([key], "") is None


def test_entries_are_separated_by_whitespace_or_semicolons_and_files_have_comments() -> None:
    text = f"""# the shop
    {entry("shop", "a", "orders:write")}  # its frontend
    {entry("ops", "b", "admin")};{entry("feed", "c", "events:read")}
    """
    assert [k.name for k in parse_entries(text)] == ["shop", "ops", "feed"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("s3cret", "is not NAME:SCOPE"),
        ('["s3cret"]', "is not NAME:SCOPE"),  # the old format: secrets in clear
        ("shop:orders:read:" + "ab" * 31, "is not NAME:SCOPE"),  # a digest too short
        ("shop:" + "ab" * 32, "is not NAME:SCOPE"),  # no scopes
        (entry("shop", "x", "orders:delete"), "unknown scope orders:delete"),
        (entry("anonymous", "x", "admin"), "reserved"),
        (entry("unknown", "x", "admin"), "reserved"),
        (entry("a b", "x", "admin"), "is not NAME:SCOPE"),
        (entry("-shop", "x", "admin"), "must be 1 to 32"),
        (entry("s" * 33, "x", "admin"), "must be 1 to 32"),
    ],
)
def test_a_bad_entry_is_refused_without_quoting_it(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason) as refused:
        parse_entries(text)
    assert "s3cret" not in str(refused.value)


def test_settings_take_keys_from_the_variable_and_a_file(tmp_path: Path) -> None:
    keys_file = tmp_path / "keys"
    keys_file.write_text(entry("ops", "b", "admin") + "\n")
    settings = Settings(_env_file=None, api_keys=entry("shop", "a", "orders:write"))
    assert [k.name for k in settings.keyring] == ["shop"]
    both = Settings(
        _env_file=None, api_keys=[entry("shop", "a", "orders:write")], api_keys_file=keys_file
    )
    assert [k.name for k in both.keyring] == ["shop", "ops"]
    # A copy made from its fields (as tests do) has the same keys, not twice as many.
    assert Settings(_env_file=None, **both.model_dump()).keyring == both.keyring
    assert Settings(_env_file=None).keyring == ()


def test_settings_refuse_ambiguous_keys(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="two keys are named 'shop'"):
        Settings(
            _env_file=None, api_keys=[entry("shop", "a", "admin"), entry("shop", "b", "admin")]
        )
    with pytest.raises(ValidationError, match="two keys have the same secret"):
        Settings(_env_file=None, api_keys=[entry("shop", "a", "admin"), entry("ops", "a", "admin")])
    with pytest.raises(ValidationError, match="cannot read"):
        Settings(_env_file=None, api_keys_file=tmp_path / "missing")


def test_admin_implies_every_scope_and_a_key_holds_only_its_own() -> None:
    admin = Caller("ops", frozenset({ADMIN}))
    assert all(admin.may([scope]) for scope in SCOPES)
    reader = Caller("reader", frozenset({"orders:read"}))
    assert reader.may(["orders:read"]) and reader.may(["orders:read", "orders:write"])
    assert not reader.may(["orders:write"]) and not reader.may([ADMIN])
    assert reader.may([])  # a route open to any valid key


def test_keys_new_prints_a_secret_and_the_entry_that_accepts_it(tmp_path: Path) -> None:
    result = orderflow("keys", "new", "shop", "orders:read", "orders:write", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    secret_line, entry_line = result.stdout.strip().splitlines()
    secret = secret_line.rsplit(" ", 1)[1]
    [key] = parse_entries(entry_line.rsplit(" ", 1)[1])
    assert key.name == "shop" and key.scopes == {"orders:read", "orders:write"}
    assert identify([key], secret) == key
    assert secret.startswith("ofk_") and len(secret) >= 40 and secret not in entry_line
    # Two runs, two secrets.
    again = orderflow("keys", "new", "shop", "admin", cwd=tmp_path).stdout
    assert secret not in again
    refused = orderflow("keys", "new", "shop", "orders:delete", cwd=tmp_path)
    assert refused.returncode == 2 and "unknown scope orders:delete" in refused.stderr


def test_a_bad_keys_setting_stops_a_process_with_one_line(tmp_path: Path) -> None:
    result = orderflow("migrate", cwd=tmp_path, API_KEYS='["s3cret"]')
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "orderflow: invalid setting API_KEYS: an entry is not "
        "NAME:SCOPE[,SCOPE…]:SHA256-HEX (see `orderflow keys new`)"
    ]
