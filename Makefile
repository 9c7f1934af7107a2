# The two commands of the README: `make demo` and `make test`. Everything else supports them.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
UV := $(VENV)/bin/uv
UV_VERSION := 0.13.9
# Date the lock is resolved "as of": about one week after the Airflow release it is built around.
LOCK_DATE := 2026-06-05

# uv does not read pip's configuration; hand it the same extra wheel locations (e.g. a local CPU build of torch).
export UV_FIND_LINKS ?= $(shell pip config get global.find-links 2>/dev/null || python3 -m pip config get global.find-links 2>/dev/null)

.PHONY: install demo up browser test lint typecheck unit engine images lock clean help

help:
	@echo "make demo   - the training pipeline end to end in Airflow on the embedded default (no manual step)"
	@echo "make up     - Airflow, the MLflow UI and the endpoint router in the foreground"
	@echo "make test   - install everything and run linters, type checks and the whole test suite"
	@echo "make engine - install and start a local Docker engine (root)"
	@echo "make images - build every algorithm's image (offline, incremental)"
	@echo "make lock   - re-resolve requirements.lock from requirements.in"

install: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync -q --compile-bytecode --python $(PY) requirements.lock
	$(UV) pip install -q --python $(PY) --no-deps -e .
	touch $@

demo: install
	$(PY) -m mlops.airflow.demo

up: install
	$(PY) -m mlops.airflow.up

browser:
	bash infra/airflow/ensure-chromium.sh

lint: install
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

engine:
	bash infra/docker/ensure-engine.sh

images: install
	$(VENV)/bin/mlops images build

test: install lint typecheck
	-bash infra/docker/ensure-engine.sh
	-bash infra/airflow/ensure-chromium.sh
	if docker info >/dev/null 2>&1; then $(VENV)/bin/mlops images build xgboost byoc-example; fi
	$(PY) -m pytest -q

lock:
	test -x $(UV) || (python3 -m venv $(VENV) && $(PY) -m pip install -q uv==$(UV_VERSION))
	$(UV) pip compile --python 3.11 --exclude-newer $(LOCK_DATE) --exclude-newer-package torch=2026-07-09 \
		requirements.in -o requirements.lock

clean:
	rm -rf .mlops .pytest_cache .mypy_cache .ruff_cache
