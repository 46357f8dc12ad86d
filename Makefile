# The two commands of the README: `make run` (the whole service) and `make test` (the suite).
# Every process is started by the `orderflow` command (orderflow/cli.py): `orderflow --help`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test contract lint bench soak clean

run: $(VENV)/.runtime
	$(VENV)/bin/orderflow run

test: $(VENV)/.dev
	$(PY) -m pytest

# schemathesis against the live API (also part of `make test`).
contract: $(VENV)/.dev
	$(PY) -m pytest tests/test_contract_schemathesis.py

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

bench: $(VENV)/.dev
	$(VENV)/bin/orderflow bench orders

# Ten minutes of mixed load on a stack of its own; fails on a 5xx, a stuck request or a leak.
soak: $(VENV)/.dev
	$(VENV)/bin/orderflow bench soak --minutes 10

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@ $(VENV)/.runtime

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .ci/eventcatalog/node_modules
