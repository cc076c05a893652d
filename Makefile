# Two commands for a fresh machine: `make demo` and `make test`.
# Both build .venv from requirements.lock (pinned, hashed) the first time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint typecheck bench bench-deps clean lock

$(STAMP): requirements.lock pyproject.toml bench/requirements-accounting.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip install --quiet --no-deps --require-hashes -r bench/requirements-accounting.txt
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	cd $(CURDIR) && $(BIN)/retailhub --db sqlite:///demo.db demo --orders 200 --seed 7

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/pipeline.py --sizes 10000 100000 --repeat 3
	$(BIN)/python bench/reconcile.py --receipts 1000000 --repeat 3
	$(BIN)/python bench/atp.py
	$(BIN)/python bench/flash_sale.py --minutes 1 --shopify-api both
	$(BIN)/python bench/ledger.py --lines 1000000 10000000 --accounting-lines 50000

# python-accounting, for bench/ledger.py's side-by-side ratios (and its smoke test). Its
# metadata requires mysqlclient and psycopg2 (source builds it never imports on SQLite), so the
# venv installs it alone, without dependencies; what it does import (SQLAlchemy,
# python-dateutil) is in requirements.lock. `bench-deps` re-installs it into an existing venv.
bench-deps: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --require-hashes -r bench/requirements-accounting.txt

lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) demo.db retailhub.toml .pytest_cache .mypy_cache
