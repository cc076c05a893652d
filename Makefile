# Two commands for a fresh machine: `make demo` and `make test`.
# Both build .venv from requirements.lock (pinned, hashed) the first time.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv demo test lint typecheck bench clean lock

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
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

lock:
	uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) demo.db retailhub.toml .pytest_cache .mypy_cache
