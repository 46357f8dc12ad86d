"""Export the message catalog as an EventCatalog folder: ``orderflow catalog export DIR``.

Writes teams/, services/<service>/index.md (what each sends and receives), and one folder
per command, query and event with its index.md (front matter) and schema.json, all from
api.published.catalog, so the architecture documentation is generated from the code. The
folder passes the official EventCatalog linter (``@eventcatalog/linter``) with no error and
no warning; CI checks it (``.ci/run``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from api.published.catalog import Message, build_catalog

FOLDERS = {"command": "commands", "query": "queries", "event": "events"}
TEAMS = {
    "customer-platform": (
        "Customer Platform",
        "Owns customer registration and customer data (the Customer API).",
    ),
    "order-platform": (
        "Order Platform",
        "Owns the order lifecycle: every order a Temporal workflow (the Order API).",
    ),
}
# The linter's own configuration, beside the catalog: its defaults leave out the rules that
# check each file's front matter against EventCatalog's types (missing ids, wrong types).
LINTER_CONFIG = """\
module.exports = { rules: { 'schema/valid-type': 'error', 'schema/validation-error': 'error' } };
"""
SERVICES = {
    "customer-api": (
        "Customer API",
        "Registers and updates customers; PostgreSQL is the system of record.",
    ),
    "order-api": ("Order API", "Every order a Temporal workflow: commands in, events out."),
}


def _front_matter(fields: dict[str, Any], body: str) -> str:
    # JSON is valid YAML: a front matter that no quoting rule can break.
    lines = [f"{name}: {json.dumps(value)}" for name, value in fields.items()]
    return "---\n" + "\n".join(lines) + "\n---\n\n" + body + "\n"


def export(target: Path) -> list[Path]:
    """Write the catalog under ``target``; returns the files written."""
    messages = build_catalog()
    written: list[Path] = []

    def write(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        written.append(path)

    write(target / ".eventcatalogrc.js", LINTER_CONFIG)
    for team, (name, summary) in TEAMS.items():
        write(
            target / "teams" / f"{team}.md",
            _front_matter({"id": team, "name": name, "summary": summary}, f"# {name}\n\n{summary}"),
        )
    for service, (name, summary) in SERVICES.items():
        mine = [m for m in messages if m.service == service]
        fields = {
            "id": service,
            "name": name,
            "version": "1.0.0",
            "summary": summary,
            "owners": sorted({m.owner for m in mine}),
            "receives": [_pointer(m) for m in mine if m.kind != "event"],
            "sends": [_pointer(m) for m in mine if m.kind == "event"],
        }
        write(
            target / "services" / service / "index.md",
            _front_matter(fields, f"# {name}\n\n{summary}"),
        )
    for message in messages:
        folder = target / FOLDERS[message.kind] / message.name
        fields = {
            "id": message.name,
            "name": message.name,
            "version": message.version,
            "summary": message.summary,
            "owners": [message.owner],
            "schemaPath": "schema.json",
        }
        body = f"# {message.name}\n\n{message.summary}."
        if message.http:
            body += f"\n\nOver HTTP: `{message.http}`."
        write(
            folder / "index.md", _front_matter(fields, body + '\n\n<Schema file="schema.json" />')
        )
        write(folder / "schema.json", json.dumps(message.schema, indent=2) + "\n")
    return written


def _pointer(message: Message) -> dict[str, str]:
    return {"id": message.name, "version": message.version}
