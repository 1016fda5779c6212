# Two commands on a fresh clone: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
STAMP := $(VENV)/.installed

.PHONY: install run test lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/provider init --seed-demo
	PORT=$(PORT) $(BIN)/provider serve --port $(PORT)

test: install
	$(BIN)/ruff check provider clients tests bench wsgi.py
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check provider clients tests bench wsgi.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
