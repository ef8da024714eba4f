"""Global windows: what tier 1 and tier 2 cost, and how much sooner a drift is judged.

Runs the stream without Kafka (``Processor`` over a ``MemorySource``, a ``GlobalOwner``
reading the partials in order), on the 15-field records of ``bench_stream.py``, spread
over P partitions, with event times 1 ms apart across the topic (1,000 records/s in total),
and a drift of 0.5 sd in ``income`` from the middle on. For P = 3 and 12 it prints:

- **cost**: records/s of the pipeline with global windows off and on (tier 1 counting and
  the partials records), and of tier 2 over those records, best of ``--repeats``, in the
  same run;
- **delay**: the event time from the change to the first per-partition histogram verdict
  (a ``psi`` alert of a 10,000-row window of one partition) and to the global verdict (the
  first global alert, at the end of its window plus the allowed lateness), default
  ``stream.global`` (1 min windows, 10 s lateness).

    python benchmarks/bench_global.py [--records 600000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

DROP = ["id", "default"]  # as bench_stream.py: 15 fields remain
BATCH = 20_000
RATE_PER_MS = 1  # event time: one record per millisecond over the whole topic


def _inputs(
    records: int, partitions: int
) -> tuple[Any, dict[Any, list[bytes | None]], dict[Any, list[int]]]:
    from stream_monitor.config import ProfileSettings
    from stream_monitor.profile.build import profile_frame
    from stream_monitor.synthetic import Drift, traffic

    reference = traffic(100_000, seed=1).drop(DROP)
    profile = profile_frame(reference, ProfileSettings(prediction="predicted_default"))
    live = traffic(records, seed=7, drift=Drift("income", records // 2, 0.5)).drop(DROP)
    lines = live.write_ndjson().encode().splitlines()
    payloads: dict[Any, list[bytes | None]] = {("t", p): [] for p in range(partitions)}
    times: dict[Any, list[int]] = {("t", p): [] for p in range(partitions)}
    for i, line in enumerate(lines):  # record i goes to partition i % P, at event time i ms
        payloads[("t", i % partitions)].append(line)
        times[("t", i % partitions)].append(i // RATE_PER_MS)
    return profile, payloads, times


def _run(
    profile: Any, payloads: Any, times: Any, settings: Any
) -> tuple[float, list[Any], list[Any]]:
    from stream_monitor.metrics import StreamMetrics
    from stream_monitor.stream.pipeline import Pipeline
    from stream_monitor.stream.processor import Processor
    from stream_monitor.stream.sinks import MemorySink
    from stream_monitor.stream.sources import MemorySource

    pipeline = Pipeline(profile, settings)
    alerts: MemorySink[dict[str, Any]] = MemorySink()
    partials: MemorySink[tuple[str, dict[str, Any]]] | None = (
        None if settings.global_windows is None else MemorySink()
    )
    processor = Processor(pipeline, alerts, MemorySink(), StreamMetrics(), partials=partials)
    warm = MemorySource({k: v[:BATCH] for k, v in payloads.items()}, timestamps=times, run=BATCH)
    Processor(Pipeline(profile, settings), MemorySink(), MemorySink(), StreamMetrics()).process(
        warm.poll(BATCH)
    )
    source = MemorySource(payloads, timestamps=times, run=BATCH // len(payloads))
    start = time.process_time()
    while not source.exhausted:
        processor.process(source.poll(BATCH))
    seconds = time.process_time() - start
    return seconds, alerts.items, [] if partials is None else partials.items


def _tier2(
    profile: Any, settings: Any, records: list[Any], partitions: int
) -> tuple[float, list[Any]]:
    from stream_monitor.stream.global_owner import GlobalOwner

    owner = GlobalOwner(profile, settings, {("t", p) for p in range(partitions)})
    start = time.process_time()
    published = []
    for column, record in records:
        published += owner.handle(column, record, 0.0)
    return time.process_time() - start, published


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=600_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from _common import machine, table

    from stream_monitor.stream.settings import GlobalSettings, StreamSettings

    off = StreamSettings(monitor="bench")
    on = replace(off, global_windows=GlobalSettings())
    change_ms = args.records // 2 // RATE_PER_MS
    cost_rows, delay_rows = [], []
    for partitions in (3, 12):
        profile, payloads, times = _inputs(args.records, partitions)
        best: dict[str, float] = {}
        for _ in range(args.repeats):
            for name, settings in (("off", off), ("on", on)):
                seconds, alerts, partials = _run(profile, payloads, times, settings)
                best[name] = min(best.get(name, float("inf")), seconds)
                if name == "on":
                    tier2, published = _tier2(profile, on, partials, partitions)
                    best["tier2"] = min(best.get("tier2", float("inf")), tier2)
                    kept = (alerts, partials, published)
                else:
                    partition_alerts = alerts
        alerts, partials, published = kept
        n = args.records
        cost_rows.append(
            [
                partitions,
                f"{n / best['off']:,.0f}",
                f"{n / best['on']:,.0f}",
                f"{best['off'] / best['on']:.2f}",
                f"{len(partials):,}",
                f"{len(partials) / best['tier2']:,.0f}",
            ]
        )
        first_psi = min(
            (
                times[("t", a["window"]["partition"])][a["window"]["last_offset"]]
                for a in partition_alerts
                if a["detector"] == "psi" and a["feature"] == "income"
            ),
            default=None,
        )
        global_alerts = [
            a for a in published if a["scope"] == "global" and a["detector"] != "incident"
        ]
        first_global = min(
            (_ms(a["window"]["event_time_end"]) for a in global_alerts if a["feature"] == "income"),
            default=None,
        )
        lateness = on.global_windows.lateness_ms if on.global_windows else 0
        delay_rows.append(
            [
                partitions,
                "none" if first_psi is None else f"{(first_psi - change_ms) / 1000:.1f} s",
                "none"
                if first_global is None
                else f"{(first_global + lateness - change_ms) / 1000:.1f} s",
                len({a["feature"] for a in global_alerts}),
            ]
        )
    print(
        f"Machine: {machine()}; {args.records:,} records of 15 fields, 1,000 records/s of "
        f"event time, drift of 0.5 sd in income at {change_ms / 1000:.0f} s; CPU seconds, "
        f"best of {args.repeats}"
    )
    print(
        table(
            [
                "partitions",
                "pipeline, global off (rec/s)",
                "global on (rec/s)",
                "on / off",
                "partials records",
                "tier 2 (records/s)",
            ],
            cost_rows,
        )
    )
    print()
    print(
        table(
            [
                "partitions",
                "first per-partition psi verdict after the change",
                "global verdict (window end + lateness)",
                "features with a global alert",
            ],
            delay_rows,
        )
    )


def _ms(iso: str) -> int:
    from datetime import datetime

    return int(datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp() * 1000)


if __name__ == "__main__":
    main()
