# The two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install install-test lint format migrate seed clean bench backup restore

TEST_STAMP := $(VENV)/.installed-test-stamp

# What the service needs to run...
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $(STAMP)

# ...and what its tests and linters need besides.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

## run: install, migrate the embedded database, seed the demo, serve web + worker (Ctrl-C stops both)
run: install
	$(PY) manage.py migrate --no-input
	SITE_URL=$${SITE_URL:-http://$(HOST):$(PORT)} $(PY) manage.py seed_demo
	HOST=$(HOST) PORT=$(PORT) PY=$(PY) ./scripts/serve-dev

## test: install, lint, check migrations, run every test (PostgreSQL when DATABASE_URL says so)
test: install-test lint
	$(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy investments compliance ledger

format: install-test
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## backup: pg_dump of DATABASE_URL's database into backups/<name>-<UTC time>.dump (no signing key in it)
backup: install
	$(PY) manage.py db_backup --dir backups

## restore: make restore FILE=backups/x.dump [FORCE=1], into RESTORE_DATABASE_URL (else DATABASE_URL)
restore: install
	@test -n "$(FILE)" || { echo "Say which backup: make restore FILE=backups/....dump" >&2; exit 2; }
	$(PY) manage.py db_restore "$(FILE)" $(if $(FORCE),--force,)

bench: install
	$(PY) bench/ledger.py

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* .pytest_cache staticfiles
