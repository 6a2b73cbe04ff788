# The one list of tierflow's entry points. `make demo` and `make test` set up what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
KAFKA_STAMP := .tierflow/kafka/.fetched

.PHONY: demo test lint format venv kafka-jars bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

$(KAFKA_STAMP): $(STAMP) streams/kafka/pom.xml
	$(BIN)/tierflow broker fetch

kafka-jars: $(KAFKA_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agents/rules schemas

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: lint $(KAFKA_STAMP)
	$(BIN)/pytest

demo: $(KAFKA_STAMP)
	$(BIN)/tierflow demo

bench: $(KAFKA_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .tierflow data .pytest_cache .mypy_cache .ruff_cache
