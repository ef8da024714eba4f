#!/usr/bin/env bash
# Run the whole test suite, starting everything it needs: Chromium for the browser tests
# (installed from Debian's packages if missing) and the local Kafka broker (unless
# STREAM_MONITOR_BOOTSTRAP already points at one). A broker this script started is stopped
# when the tests end; one that was already running is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/system-deps.sh

if [ -z "${STREAM_MONITOR_BOOTSTRAP:-}" ]; then
  running_before=no
  scripts/kafka.sh status >/dev/null 2>&1 && running_before=yes
  STREAM_MONITOR_BOOTSTRAP=$(scripts/kafka.sh start | tail -n 1)
  if [ "$running_before" = no ]; then
    trap 'scripts/kafka.sh stop >&2 || true' EXIT
  fi
fi
export STREAM_MONITOR_BOOTSTRAP
echo "Kafka broker: $STREAM_MONITOR_BOOTSTRAP" >&2

.venv/bin/python -m pytest "$@"
