# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: install run test test-fast lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/provider init --seed-demo
	PORT=$(PORT) $(BIN)/provider serve --port $(PORT)

test: lint
	$(BIN)/python -m pytest

# the linters and the unit and integration tests only (no live provider, no browser):
# about two minutes
test-fast: lint
	$(BIN)/python -m pytest tests/unit tests/integration

# ruff, and the import contracts in pyproject.toml (layers, no SQL in views, clients over HTTP)
lint: install
	$(BIN)/ruff check provider clients tests bench wsgi.py
	$(BIN)/lint-imports

# W1-W7 side by side with node-oidc-provider and the Python hello-world ceiling, with
# wrk; writes bench/results/compare-*.md (bench/README.md)
bench: install
	command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/pip install --quiet -e '.[test,bench]'
	cd bench/node && npm ci --silent --no-audit --no-fund
	$(BIN)/python -m bench.compare

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
