# kbsite — the two commands: `make run` (try it) and `make test` (the whole suite).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed
PORT ?= 8000
PYTEST_WORKERS ?= auto

# Without DATABASE_URL the suite runs on SQLite: tests that need PostgreSQL, Redis or a browser
# are deselected (not skipped). With DATABASE_URL and REDIS_URL set, everything runs.
ifeq ($(strip $(DATABASE_URL)),)
PYTEST_SELECTION := -m "not postgres and not worker and not browser"
else
# The PostgreSQL pass ends with the contract check: schemathesis against a live server.
CONTRACT := contract
endif

.PHONY: help install run dev test lint typecheck pytest contract lock migrations-check clean

help:
	@echo "make run     set up and serve kbsite at http://127.0.0.1:$(PORT) with demo data"
	@echo "make dev     the same with DEBUG on and auto-reload"
	@echo "make test    set up and run lint, type checks and the whole test suite"
	@echo "make lock    re-resolve requirements.lock from pyproject.toml"

$(INSTALLED): pyproject.toml requirements.lock
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -qq --disable-pip-version-check --upgrade pip
	@$(PY) -m pip install -qq --disable-pip-version-check -r requirements.lock
	@touch $(INSTALLED)

install: $(INSTALLED)

# A local secret for the embedded instance, generated once and kept out of git.
var/secret_key:
	@mkdir -p var
	@$(PYTHON) -c "import secrets; print(secrets.token_urlsafe(50))" > $@

run: install var/secret_key
	@export SECRET_KEY="$${SECRET_KEY:-$$(cat var/secret_key)}" && \
	export SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" && \
	$(PY) manage.py check_services && \
	$(PY) manage.py migrate --no-input -v 0 && \
	$(PY) manage.py collectstatic --no-input -v 0 && \
	$(PY) manage.py seed_demo && \
	$(PY) manage.py recompute_kpis && \
	exec $(PY) manage.py serve --port $(PORT)

dev: install
	@export DEBUG=true && \
	export SITE_URL="$${SITE_URL:-http://127.0.0.1:$(PORT)}" && \
	$(PY) manage.py check_services && \
	$(PY) manage.py migrate --no-input -v 0 && \
	$(PY) manage.py seed_demo && \
	$(PY) manage.py recompute_kpis && \
	exec $(PY) manage.py runserver 127.0.0.1:$(PORT)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: install
	$(VENV)/bin/mypy .

pytest: install
	$(PY) -m pytest -n $(PYTEST_WORKERS) $(PYTEST_SELECTION) $(PYTEST_ARGS)

# Its own database beside DATABASE_URL's; bounded cases and time (tests/contract/).
contract: install
	$(PY) tests/contract/run_schemathesis.py

test: lint typecheck pytest $(CONTRACT)

migrations-check: install
	SECRET_KEY=migrations-check $(PY) manage.py makemigrations --check --dry-run

lock:
	rm -rf /tmp/kbsite-lock && $(PYTHON) -m venv /tmp/kbsite-lock
	/tmp/kbsite-lock/bin/pip install --quiet --upgrade pip
	/tmp/kbsite-lock/bin/pip install --quiet ".[dev]"
	/tmp/kbsite-lock/bin/pip freeze --exclude kbsite > requirements.lock

clean:
	rm -rf $(VENV) staticfiles .mypy_cache .ruff_cache .pytest_cache
