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

# The JVM consumer of the contract (examples/java, Maven; Java 17+): rebuilt only when its
# sources, its pom or the schemas it generates classes from change.
JAVA_CONSUMER := examples/java/target/tierflow-java-consumer.jar
JAVA_CONSUMER_INPUTS := examples/java/pom.xml $(shell find examples/java/src -type f) \
  $(wildcard schemas/*.avsc)

$(JAVA_CONSUMER): $(JAVA_CONSUMER_INPUTS)
	@command -v mvn >/dev/null 2>&1 || { echo "the Java consumer needs Maven 3.8+ and Java 17+ on PATH"; exit 1; }
	mvn -B -q -Dstyle.color=never -f examples/java/pom.xml package -DskipTests
	touch $@

.PHONY: java-consumer
java-consumer: $(JAVA_CONSUMER)

# promtool, Prometheus's checker of rules and configs, for tests/ops (ops/prometheus/): built
# from the Go module proxy into .tierflow/bin/ once per version (the first build takes minutes,
# a second run nothing). Without Go, only CI=true makes that an error; elsewhere
# tests/ops skips the promtool checks and says how to get it.
PROMTOOL_VERSION := v0.316.0
PROMTOOL_STAMP := .tierflow/bin/.promtool-$(PROMTOOL_VERSION)
# Go from PATH, else where go.dev's installer puts it (a shell that did not read a profile).
GO ?= $(firstword $(shell command -v go 2>/dev/null) $(wildcard /usr/local/go/bin/go))

$(PROMTOOL_STAMP):
	@if [ -n "$(GO)" ]; then \
	  echo "building promtool $(PROMTOOL_VERSION) into $(@D) (Go module proxy)"; \
	  mkdir -p $(@D) && \
	  GOBIN="$(CURDIR)/$(@D)" $(GO) install github.com/prometheus/prometheus/cmd/promtool@$(PROMTOOL_VERSION) && \
	  touch $@; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "promtool needs Go (CI=true: the alert rules must be checked)"; exit 1; \
	else \
	  echo "no Go: promtool not built; tests/ops skips its promtool checks"; \
	fi

.PHONY: promtool
promtool: $(PROMTOOL_STAMP)

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

test: lint $(KAFKA_STAMP) chromium $(JAVA_CONSUMER) promtool
	$(BIN)/pytest

demo: $(KAFKA_STAMP)
	$(BIN)/tierflow demo

bench: $(KAFKA_STAMP)
	$(BIN)/python -m bench

clean:
	-$(BIN)/tierflow broker stop --home .tierflow
	rm -rf $(VENV) .tierflow data .pytest_cache .mypy_cache .ruff_cache
