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

With ``--interleave N`` both trees run in worker processes that take turns, N passes each,
and the table gives process CPU time per record (best pass): on a shared machine, where the
wall clock of two runs one after the other means little, that still compares like with like.

    python benchmarks/bench_pipeline.py [--records 1000000] [--baseline-tree DIR]
        [--interleave N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

DROP = ["id", "default"]  # as bench_stream.py: 15 fields remain
BATCH = 20_000
PARTITIONS = 3


def workload(records: int) -> Callable[[], tuple[float, float]]:
    """One pass over ``records`` payloads with a fresh pipeline: (CPU seconds, wall seconds)."""
    from stream_monitor.config import ProfileSettings
    from stream_monitor.profile.build import profile_frame
    from stream_monitor.stream.pipeline import Pipeline
    from stream_monitor.stream.settings import StreamSettings
    from stream_monitor.synthetic import traffic

    reference = traffic(100_000, seed=1).drop(DROP)
    profile = profile_frame(reference, ProfileSettings(prediction="predicted_default"))
    payloads = traffic(records, seed=7).drop(DROP).write_ndjson().encode().splitlines()
    # Warm up: compile or load every kernel before the clock starts.
    Pipeline(profile, StreamSettings()).process_payloads(
        "warm", 0, payloads[:BATCH], list(range(BATCH))
    )

    def one_pass() -> tuple[float, float]:
        pipeline = Pipeline(profile, StreamSettings())
        cpu, wall = time.process_time(), time.perf_counter()
        for first in range(0, records, BATCH * PARTITIONS):
            for p in range(PARTITIONS):
                lo = first + p * BATCH
                batch = payloads[lo : lo + BATCH]
                if batch:
                    pipeline.process_payloads("t", p, batch, list(range(lo, lo + len(batch))))
        return time.process_time() - cpu, time.perf_counter() - wall

    return one_pass


def measure(records: int, repeats: int) -> dict[str, float]:
    """Records per second of this interpreter's ``stream_monitor`` (best of ``repeats``)."""
    one_pass = workload(records)
    best = min(one_pass()[1] for _ in range(repeats))
    return {"records": records, "seconds": best, "rate": records / best}


def worker(records: int) -> None:
    """Run a pass for every line read, printing its CPU and wall seconds as JSON."""
    one_pass = workload(records)
    print("ready", flush=True)
    for _ in sys.stdin:
        cpu, wall = one_pass()
        print(json.dumps({"cpu": cpu, "wall": wall}), flush=True)


def tree_command(tree: Path, *args: str) -> tuple[list[str], dict[str, str]]:
    """This script run on ``tree``'s ``stream_monitor``."""
    command = [sys.executable, str(Path(__file__).resolve()), *args]
    return command, {"PYTHONPATH": str(tree.resolve()), "PATH": "/usr/bin:/bin"}


def interleave(trees: dict[str, Path], records: int, rounds: int) -> dict[str, list[float]]:
    """CPU seconds per pass of each tree's pipeline, the trees taking turns."""
    workers: dict[str, subprocess.Popen[str]] = {}
    for name, tree in trees.items():
        command, env = tree_command(tree, "--worker", "--records", str(records))
        workers[name] = subprocess.Popen(
            command, cwd=tree, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
    cpu: dict[str, list[float]] = {name: [] for name in trees}

    def ask(process: subprocess.Popen[str], line: str | None) -> str:
        if process.stdin is None or process.stdout is None:
            raise RuntimeError("a worker without pipes")
        if line is not None:
            process.stdin.write(line)
            process.stdin.flush()
        return process.stdout.readline()

    try:
        for name, process in workers.items():
            if ask(process, None).strip() != "ready":
                raise RuntimeError(f"the worker of {name} did not start")
        for _ in range(rounds):
            for name, process in workers.items():
                cpu[name].append(json.loads(ask(process, "go\n"))["cpu"])
    finally:
        for process in workers.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait()
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--baseline-tree", type=Path, help="an earlier checkout to compare")
    parser.add_argument("--json", action="store_true", help="print one JSON line (internal)")
    parser.add_argument("--worker", action="store_true", help="run passes on request (internal)")
    parser.add_argument(
        "--interleave", type=int, metavar="N", help="N passes per tree, taking turns (CPU time)"
    )
    args = parser.parse_args()
    if args.worker:
        worker(args.records)
        return
    if args.interleave:
        if args.baseline_tree is None:
            parser.error("--interleave needs --baseline-tree")
        this_tree = Path(__file__).resolve().parent.parent
        load = os.getloadavg()[0]
        cpu = interleave(
            {"this tree": this_tree, "baseline": args.baseline_tree},
            args.records,
            args.interleave,
        )
        from _common import machine, table

        ours = min(cpu["this tree"]) / args.records * 1e6
        base = min(cpu["baseline"]) / args.records * 1e6
        print(
            f"Machine: {machine()}; load {load:.1f} -> {os.getloadavg()[0]:.1f}; "
            f"{args.records:,} records, {args.interleave} passes each, taking turns; "
            "process CPU time, best pass"
        )
        print(
            table(
                ["pipeline", "CPU µs a record", "speed relative to this tree"],
                [
                    ["this tree", f"{ours:.2f}", "1.00"],
                    [f"baseline {args.baseline_tree}", f"{base:.2f}", f"{ours / base:.2f}"],
                ],
            )
        )
        return
    result = measure(args.records, args.repeats)
    if args.json:
        print(json.dumps(result))
        return
    from _common import machine, table

    rows = [["this tree", f"{result['rate']:,.0f}", "1.00"]]
    if args.baseline_tree is not None:
        command, env = tree_command(
            args.baseline_tree,
            "--json",
            "--records",
            str(args.records),
            "--repeats",
            str(args.repeats),
        )
        done = subprocess.run(
            command,
            cwd=args.baseline_tree,
            env=env,
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
