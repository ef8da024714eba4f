#!/usr/bin/env bash
# Create benchmarks/evidently/.venv with Evidently for benchmarks/bench_vs_evidently.py.
# stream-monitor is not installed there: the benchmark runs it from the project's .venv
# (scripts/install.sh), each tool in its own environment, as a user would.
# Usage: benchmarks/evidently/setup.sh [PYTHON]
set -euo pipefail
python=${1:-python3}
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
"$here/.venv/bin/pip" install -q --disable-pip-version-check --upgrade pip
"$here/.venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
"$here/.venv/bin/python" -c "import evidently, pandas; print('evidently', evidently.__version__, 'pandas', pandas.__version__)"
