# The two commands the README opens with:
#   make demo   installs into .venv (runtime dependencies only) and runs the embedded demo
#               (no Kafka, no network)
#   make test   installs into .venv with the test tools and runs lint, type checks and the
#               whole test suite
# CI (.ci/run) calls `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.installed-test-stamp

.PHONY: install install-test demo test lint typecheck pytest bench clean

# The runtime dependencies only: what a user of the package gets.
$(STAMP): pyproject.toml
	scripts/install.sh "$(PYTHON)" "$(VENV)"
	touch $(STAMP)

# The same, with the `test` extra (pytest, ruff, mypy, river, ...).
$(TEST_STAMP): pyproject.toml
	scripts/install.sh "$(PYTHON)" "$(VENV)" test
	touch $(STAMP) $(TEST_STAMP)

install: $(STAMP)

install-test: $(TEST_STAMP)

demo: install
	$(BIN)/stream-monitor demo

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install-test
	$(BIN)/mypy

pytest: install-test
	scripts/test.sh

test: lint typecheck pytest

bench: install-test
	$(BIN)/python benchmarks/bench_detectors.py
	$(BIN)/python benchmarks/bench_histogram.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
