# The two commands the README opens with:
#   make demo   installs into .venv and runs the embedded demo (no Kafka, no network)
#   make test   installs into .venv and runs lint, type checks and the whole test suite
# CI (.ci/run) calls `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test lint typecheck pytest bench clean

$(STAMP): pyproject.toml
	scripts/install.sh "$(PYTHON)" "$(VENV)"
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/stream-monitor demo

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	scripts/test.sh

test: lint typecheck pytest

bench: install
	$(BIN)/python benchmarks/bench_detectors.py
	$(BIN)/python benchmarks/bench_histogram.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
