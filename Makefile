# The two commands: `make run` (the whole system, local mode) and `make test` (the whole suite).
SHELL := /bin/bash
.DEFAULT_GOAL := help
UV := $(shell ./scripts/ensure-uv.sh)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON_PREFERENCE := only-system
RUN := $(UV) run --frozen
PYTEST_ARGS ?=

.PHONY: help setup services lint format typecheck contracts pytest test migrate run promote compose-check bench

help:
	@echo "make run     start the whole system locally (gateway on :8000)"
	@echo "make test    lint, types, import contracts and every test against real servers"
	@echo "make migrate apply every service's migrations (DATABASE_URL, default local db)"
	@echo "make bench   run the benchmarks under bench/ (prints JSON figures)"
	@echo "make promote PHONE=+1... ROLE=admin   give a local user a role (merchant, admin)"
	@echo "make compose-check   validate docker-compose.yml (no Docker engine needed)"

setup:
	@$(UV) sync --locked --all-packages --quiet

services:
	@./scripts/ensure-services.sh

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

typecheck: setup
	$(RUN) mypy libs services tools bench tests/support tests/fakes

contracts: setup
	$(RUN) lint-imports

pytest: setup services
	$(RUN) pytest $(PYTEST_ARGS)

test: lint typecheck contracts pytest

migrate: setup services
	$(RUN) python -m deploy.local.migrate

run: setup services
	$(RUN) python -m deploy.local.migrate
	$(RUN) python -m deploy.local.stack --otp-provider $(or $(OTP_PROVIDER),console)

promote: setup services
	$(RUN) python -m deploy.local.auth_manage promote --phone "$(PHONE)" --role "$(ROLE)"

compose-check: setup
	$(RUN) pytest -q -p no:cacheprovider tests/contract/test_compose.py

bench: setup services
	@./scripts/ensure-bench-tools.sh
	$(RUN) python -m bench
