#!/usr/bin/env bash
# Create the project virtualenv and install stream-monitor into it (editable).
# Usage: scripts/install.sh [PYTHON] [VENV] [EXTRAS]
#   EXTRAS: empty for the runtime dependencies only (what `make demo` needs), or e.g. `test`
#   for the test tools as well (what `make test` needs).
set -euo pipefail
python=${1:-python3}
venv=${2:-.venv}
extras=${3:-}
cd "$(dirname "$0")/.."
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
target=.
if [ -n "$extras" ]; then
  target=".[$extras]"
fi
"$venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install -q --disable-pip-version-check -e "$target"
