"""Start-up: how long the commands take before they do any real work, as whole processes.

In one run, median of ``--repeats`` processes each:

- ``python -c pass`` and ``python -c "import polars, numba"``: the floor any command pays;
- ``stream-monitor --help``;
- ``stream-monitor run --source`` over a 1,000-record file (imports, profile, every kernel
  loaded from numba's cache, one batch scored): the cold ``run`` figure, with the cache warm;
- the same with an empty numba cache (``NUMBA_CACHE_DIR`` fresh): a first run after install;
- the Kafka ``run``'s pipeline made ready without a broker: imports, the profile, one JSON
  payload decoded and scored (every kernel of the Kafka path, the compiled decoder included,
  loaded), with numba's cache warm and empty;
- ``stream-monitor check-drift`` of 1,000 rows against 1,000 rows.

    python benchmarks/bench_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

CLI = str(Path(sys.executable).with_name("stream-monitor"))


def seconds(argv: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one process running ``argv`` to its end (it must succeed)."""
    started = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, env=env)
    return time.perf_counter() - started


def median(argv: list[str], repeats: int, env: dict[str, str] | None = None) -> float:
    seconds(argv, env)  # warm the page cache (and numba's, unless env says otherwise)
    return statistics.median(seconds(argv, env) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    from stream_monitor.synthetic import traffic

    folder = Path(tempfile.mkdtemp(prefix="bench-startup-"))
    ref, live, profile = folder / "ref.parquet", folder / "live.ndjson", folder / "p.parquet"
    traffic(1_000, seed=1).drop("id").write_parquet(ref)
    traffic(1_000, seed=2).drop("id").write_ndjson(live)
    subprocess.run([CLI, "profile", "--data", str(ref), "--out", str(profile)], check=True)
    run = [CLI, "run", "--profile", str(profile), "--source", str(live)]
    run += ["--alerts-out", str(folder / "alerts.jsonl")]
    drift = [CLI, "check-drift", "--reference-data-path", str(ref)]
    drift += ["--current-data-path", str(ref), "--json-path", str(folder / "r.json")]
    ready = [
        sys.executable,
        "-c",
        "import sys\n"
        "from stream_monitor.profile.store import read_profile\n"
        "from stream_monitor.stream.pipeline import Pipeline\n"
        "from stream_monitor.stream.settings import StreamSettings\n"
        "pipeline = Pipeline(read_profile(sys.argv[1]), StreamSettings())\n"
        "payload = open(sys.argv[2], 'rb').readline().strip()\n"
        "pipeline.process_payloads('t', 0, [payload], [0])\n",
        str(profile),
        str(live),
    ]
    rows = [
        ["python -c pass", median([sys.executable, "-c", "pass"], args.repeats)],
        [
            "python -c 'import polars, numba'",
            median([sys.executable, "-c", "import polars, numba"], args.repeats),
        ],
        ["stream-monitor --help", median([CLI, "--help"], args.repeats)],
        ["run --source, 1,000 records (numba cache warm)", median(run, args.repeats)],
        ["Kafka run's pipeline ready (numba cache warm)", median(ready, args.repeats)],
        ["check-drift, 1,000 + 1,000 rows", median(drift, args.repeats)],
    ]
    for name, argv in (("run --source", run), ("Kafka run's pipeline ready", ready)):
        cold = []
        for _ in range(2):
            env = {**os.environ, "NUMBA_CACHE_DIR": tempfile.mkdtemp(prefix="numba-")}
            cold.append(seconds(argv, env))
        rows.append([f"{name}, empty numba cache (first run)", statistics.median(cold)])
    print(f"Machine: {machine()}; median of {args.repeats} processes (first run: of 2)")
    print(table(["command", "seconds"], [[name, f"{value:.2f}"] for name, value in rows]))


if __name__ == "__main__":
    main()
