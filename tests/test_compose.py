"""docker-compose.yml and the Dockerfile, checked without a Docker engine: every service,
image, command, port and variable they name exists in the project and agrees with it."""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from orderflow import cli, subcommands
from orderflow.encryption import new_key_entry
from orderflow.settings import Settings
from orderflow.temporal import key_ring
from workflows.order_names import SEARCH_ATTRIBUTES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]
OURS = {name: s for name, s in SERVICES.items() if s.get("build") == "."}
DOCKERFILE = (ROOT / "Dockerfile").read_text()


# What an operator must set (${VAR:?message}): compose refuses to start without it.
REQUIRED = {"ENCRYPTION_KEYS": new_key_entry("compose-1")}


def resolved(value: object) -> str:
    """A compose value with ${VAR:-default} replaced by its default, and ${VAR:?message}
    by what an operator would set."""
    text = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))
    return re.sub(r"\$\{([A-Z_]+):\?[^}]*\}", lambda m: REQUIRED[m[1]], text)


def service_settings(name: str) -> Settings:
    """The settings one of our services runs with."""
    environment = {key: resolved(value) for key, value in OURS[name]["environment"].items()}
    return Settings(_env_file=None, **{k.lower(): v for k, v in environment.items()})  # type: ignore[arg-type]


def image_command() -> list[str]:
    """The Dockerfile's CMD (exec form): what a service without a command runs."""
    cmd = re.search(r"^CMD (\[.*?\])$", DOCKERFILE.replace("\\\n", " "), re.M)
    assert cmd, "the Dockerfile has no exec-form CMD"
    command: list[str] = json.loads(cmd.group(1))
    return command


def orderflow_command(command: list[str]) -> argparse.Namespace:
    """What the `orderflow` console script makes of ``command``, parsed by its own parser."""
    assert command[0] == "orderflow", command
    try:
        return cli.parse_arguments(command[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(command)}` is not a command of the orderflow CLI")


def test_the_services_of_the_production_topology() -> None:
    assert {"postgresql", "temporal", "temporal-ui", "temporal-schema", "temporal-setup",
            "migrate", "api", "orders-worker", "customers-worker"} <= SERVICES.keys()  # fmt: skip
    assert set(OURS) == {"migrate", "api", "orders-worker", "customers-worker"}
    for name, service in SERVICES.items():
        assert "restart" in service, name
        for dependency in service.get("depends_on", {}):
            assert dependency in SERVICES, (name, dependency)
        if name not in ("temporal-schema", "temporal-setup", "migrate"):
            assert "healthcheck" in service or name == "temporal-ui", name
    for worker in ("orders-worker", "customers-worker"):
        assert SERVICES[worker]["deploy"]["replicas"] >= 2
        assert SERVICES[worker]["stop_grace_period"]


def test_every_command_is_a_subcommand_of_the_orderflow_cli() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"orderflow": "orderflow.cli:main"}
    runs = {
        name: orderflow_command(service.get("command") or image_command())
        for name, service in OURS.items()
    }
    assert runs["migrate"].handler is subcommands.run_migrate and runs["migrate"].revision == "head"
    assert runs["api"].handler is subcommands.run_api  # the image's CMD
    assert runs["api"].forwarded_allow_ips == "*"  # behind Docker's proxy and a balancer
    for kind in subcommands.WORKER_KINDS:
        worker = runs[f"{kind}-worker"]
        assert worker.handler is subcommands.run_worker and worker.kinds == [kind]


def test_our_services_are_configured_only_by_settings_variables() -> None:
    fields = {name.upper() for name in Settings.model_fields}
    for name, service in OURS.items():
        environment = {key: resolved(value) for key, value in service["environment"].items()}
        assert set(environment) <= fields, (name, set(environment) - fields)
        settings = service_settings(name)
        host, port = settings.temporal_address.split(":")
        assert host in SERVICES and f"{port}:{port}" in SERVICES[host]["ports"]
        database = make_url(settings.database_url)
        postgres = SERVICES[database.host or ""]["environment"]
        assert database.database == postgres["POSTGRES_DB"]
        assert database.username == postgres["POSTGRES_USER"]
        assert database.password == resolved(postgres["POSTGRES_PASSWORD"])
        assert (
            settings.orders_task_queue == "orders" and settings.customers_task_queue == "customers"
        )
        ui_port = settings.ui_url.rsplit(":", 1)[1]
        assert f"{ui_port}:8080" in SERVICES["temporal-ui"]["ports"]
        # Payloads encrypted, with keys the operator must give (none are made up here).
        assert settings.encryption and key_ring(settings) is not None
        assert "${ENCRYPTION_KEYS:?" in service["environment"]["ENCRYPTION_KEYS"]


def test_the_web_ui_decodes_through_the_api() -> None:
    """The UI container's codec is the API's /codec as a browser reaches it, the browser
    sends its sign-in cookie, and the API lets the UI's origin read the answers."""
    ui = SERVICES["temporal-ui"]["environment"]
    api = service_settings("api")
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == api.codec_url == "http://localhost:8000/codec"
    assert f"{api.api_port}:{api.api_port}" in OURS["api"]["ports"]
    assert ui["TEMPORAL_CODEC_INCLUDE_CREDENTIALS"] == "true"
    ui_port = SERVICES["temporal-ui"]["ports"][0].split(":")[0]
    assert f"http://localhost:{ui_port}" in api.codec_origins


def test_ports_and_health_agree() -> None:
    api = OURS["api"]
    port = int(api["environment"]["API_PORT"])
    assert f"{port}:{port}" in api["ports"] and f"EXPOSE {port}" in DOCKERFILE
    assert f"127.0.0.1:{port}/readyz" in " ".join(api["healthcheck"]["test"])
    for worker in ("orders-worker", "customers-worker"):
        health_file = OURS[worker]["environment"]["WORKER_HEALTH_FILE"]
        assert health_file in " ".join(OURS[worker]["healthcheck"]["test"])


def test_the_setup_step_registers_the_search_attributes() -> None:
    script = "\n".join(SERVICES["temporal-setup"]["command"])
    registered = dict(re.findall(r"(\w+):(Keyword|Int)", script))
    expected = {key.name: "Keyword" if key.indexed_value_type.name == "KEYWORD" else "Int"
                for key in SEARCH_ATTRIBUTES}  # fmt: skip
    assert registered == expected


def test_the_dockerfile_is_multi_stage_non_root_without_dev_dependencies() -> None:
    assert len(re.findall(r"^FROM ", DOCKERFILE, re.M)) == 2
    assert re.search(r"^USER (?!root)\w+", DOCKERFILE, re.M)
    assert "pip install --no-cache-dir ." in DOCKERFILE and "[dev]" not in DOCKERFILE
    for copied in re.findall(r"^COPY (?!--from)(.+?) \S+$", DOCKERFILE, re.M):
        for path in copied.split():
            assert (ROOT / path).exists(), path


BUILD_LITTER = (".git", ".venv", ".data", "build", "*.egg-info", "node_modules", "*_cache")


def test_the_package_ships_its_migrations(tmp_path: Path) -> None:
    # Built from a copy: setuptools leaves a build/ folder in the tree it builds.
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*BUILD_LITTER))
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, source],
        check=True,
        capture_output=True,
    )
    [wheel] = wheels.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    migrations = "orderflow/database/migrations"
    assert f"{migrations}/env.py" in names and f"{migrations}/script.py.mako" in names
    assert any(n.startswith(f"{migrations}/versions/0001") for n in names)
    assert {"worker.py", "orderflow/settings.py", "orderflow/cli.py"} <= set(names)
    [entry_points] = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    scripts = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[console_scripts]\norderflow = orderflow.cli:main" in scripts


def test_docker_compose_validates_the_file() -> None:
    if shutil.which("docker-compose") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI installs docker-compose to validate the file")
        pytest.skip("docker-compose is not installed here (apt-get install docker-compose)")
    environment = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    result = subprocess.run(
        ["docker-compose", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**environment, **REQUIRED},
    )
    assert result.returncode == 0, result.stderr
    unset = subprocess.run(
        ["docker-compose", "config", "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )
    assert unset.returncode != 0 and "set ENCRYPTION_KEYS" in unset.stderr
