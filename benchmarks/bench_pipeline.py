"""The streaming pipeline without Kafka: decode and score JSON payloads, records per second.

This is ``Pipeline.process_payloads``, everything ``stream-monitor run`` does per message
except consuming and producing: one ``read_ndjson`` per batch, every channel (histogram
windows, location and spread ADWIN and Page-Hinkley, category shares, data-quality
measures, the multivariate reconstruction error, concept drift). Payloads are the 15-field
synthetic credit records of ``bench_stream.py``, spread over 3 partitions in 20k-record
batches; the reference is 100k records of the same traffic.

With ``--baseline-tree DIR`` (a checkout of an earlier commit, e.g. made with
``git worktree add /tmp/base d3606f3``) the same payloads go through that tree's pipeline in
a subprocess of the same run, so the ratio compares like with like on this machine.

    python benchmarks/bench_pipeline.py [--records 1000000] [--baseline-tree DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

DROP = ["id", "default"]  # as bench_stream.py: 15 fields remain
BATCH = 20_000
PARTITIONS = 3


def measure(records: int, repeats: int) -> dict[str, float]:
    """Records per second of this interpreter's ``stream_monitor`` (best of ``repeats``)."""
    from stream_monitor.config import ProfileSettings
    from stream_monitor.profile.build import profile_frame
    from stream_monitor.stream.pipeline import Pipeline
    from stream_monitor.stream.settings import StreamSettings
    from stream_monitor.synthetic import traffic

    reference = traffic(100_000, seed=1).drop(DROP)
    profile = profile_frame(reference, ProfileSettings(prediction="predicted_default"))
    payloads = traffic(records, seed=7).drop(DROP).write_ndjson().encode().splitlines()
    best = float("inf")
    for _ in range(repeats):
        pipeline = Pipeline(profile, StreamSettings())
        # Warm up: compile or load every kernel before the clock starts.
        pipeline.process_payloads("warm", 0, payloads[:BATCH], list(range(BATCH)))
        pipeline = Pipeline(profile, StreamSettings())
        start = time.perf_counter()
        for first in range(0, records, BATCH * PARTITIONS):
            for p in range(PARTITIONS):
                lo = first + p * BATCH
                batch = payloads[lo : lo + BATCH]
                if batch:
                    pipeline.process_payloads("t", p, batch, list(range(lo, lo + len(batch))))
        best = min(best, time.perf_counter() - start)
    return {"records": records, "seconds": best, "rate": records / best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-tree", type=Path, help="an earlier checkout to compare")
    parser.add_argument("--json", action="store_true", help="print one JSON line (internal)")
    args = parser.parse_args()
    result = measure(args.records, args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    from _common import machine, table

    rows = [["this tree", f"{result['rate']:,.0f}", "1.00"]]
    if args.baseline_tree is not None:
        done = subprocess.run(
            [
                sys.executable,
                str(Path(__file__).resolve()),
                "--json",
                "--records",
                str(args.records),
                "--repeats",
                str(args.repeats),
            ],
            cwd=args.baseline_tree,
            env={"PYTHONPATH": str(args.baseline_tree.resolve()), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
        base = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(
            [
                f"baseline {args.baseline_tree}",
                f"{base['rate']:,.0f}",
                f"{base['rate'] / result['rate']:.2f}",
            ]
        )
    print(
        f"Machine: {machine()}; {args.records:,} records of 15 fields, {PARTITIONS} "
        f"partitions, {BATCH:,}-record batches, best of {args.repeats}"
    )
    print(table(["pipeline", "records/s", "ratio to this tree"], rows))


if __name__ == "__main__":
    main()
