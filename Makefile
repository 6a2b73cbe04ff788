# The one list of tierflow's entry points. `make demo` and `make test` set up what they need on
# a fresh machine (a venv, the package, Kafka's jars), once: a second run skips what is done.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KAFKA_STAMP := .tierflow/kafka/.fetched

.PHONY: demo test lint format venv kafka-jars chromium bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "tierflow needs Python 3.11+; '$(PYTHON)' is older (set PYTHON=python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# Java 17+ and Maven must be on PATH; `tierflow broker fetch` says so clearly if they are not.
$(KAFKA_STAMP): $(STAMP) streams/broker/pom.xml
	$(BIN)/tierflow broker fetch --home .tierflow

kafka-jars: $(KAFKA_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agents/rules schemas

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The report test renders the HTML report in headless Chromium (Debian's package).
chromium:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium; }

test: lint $(KAFKA_STAMP) chromium
	$(BIN)/pytest

demo: $(KAFKA_STAMP)
	$(BIN)/tierflow demo

bench: $(KAFKA_STAMP)
	$(BIN)/python -m bench

clean:
	-$(BIN)/tierflow broker stop --home .tierflow
	rm -rf $(VENV) .tierflow data .pytest_cache .mypy_cache .ruff_cache
