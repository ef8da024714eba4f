#!/usr/bin/env bash
# Run the whole test suite, starting everything it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m pytest "$@"
