# The two commands people and CI use: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint bench bench-api coverage screenshots clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Sesame needs Python 3.11+"'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sesame serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

# Every benchmark, each against its baseline in the same run (bench/README.md); about
# 4½ minutes on a 2-core machine. rewrite.py runs when it is there.
bench: $(STAMP)
	@if [ -f bench/rewrite.py ]; then echo "$(BIN)/python bench/rewrite.py"; $(BIN)/python bench/rewrite.py; fi
	$(BIN)/python bench/clicks.py
	$(BIN)/python bench/send.py
	$(BIN)/python bench/quota.py
	$(BIN)/python bench/api.py
	@# Last: without PostgreSQL it prints the SQLite half and exits 1.
	$(BIN)/python bench/nodes.py

bench-api: $(STAMP)
	$(BIN)/python bench/api.py
	$(BIN)/python bench/api_stages.py

# Retake the README's inbox screenshots (docs/*.png) with the browser tests.
screenshots: $(STAMP)
	SESAME_SCREENSHOTS=1 $(BIN)/pytest -q tests/web/test_inbox_browser.py

coverage: $(STAMP)
	$(BIN)/sesame coverage

clean:
	rm -rf $(VENV) .sesame .mypy_cache .pytest_cache .ruff_cache
