"""End to end on the local broker: ``stream-monitor run`` vs a plain confluent-kafka loop.

In one run, on the same topic:

1. fill a topic with ``--records`` JSON records of 15 fields (synthetic credit traffic);
2. time a plain consume loop that reads each message's value (the baseline);
3. time the monitor over the same records (``run --max-records``), sampling its resident
   memory every half second, in at-least-once and then in exactly-once mode;
4. measure alert latency: with the monitor caught up and idle, produce drifted traffic at a
   steady rate and time each alert from the produce time of the record it names (its
   window's last record) to its arrival on the alert topic.

Each phase runs in its own process, so peak memory is the phase's own.

    python benchmarks/bench_stream.py [--records 2000000] [--partitions 3] [--fields 15]
                                      [--no-latency] [--repeats 3]
                                      [--bootstrap HOST:PORT]  (default: scripts/kafka.sh start)

``--fields 40`` adds 25 numeric fields (normal, lognormal and integer counts) to each record.
Each phase also reports its whole-process time: spawn, imports, group join and the run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, table

ROOT = Path(__file__).resolve().parent.parent
DROP = ["id", "default"]  # 15 fields remain: 12 numeric, 2 categorical, the prediction


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, it starts over at exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def records(n: int, seed: int, fields: int, start: int = 0) -> Any:
    """``n`` synthetic records of ``fields`` fields (15, or more with extra numeric ones)."""
    import polars as pl

    from stream_monitor.synthetic import traffic

    frame = traffic(n, seed=seed, start=start).drop(DROP)
    extra = fields - frame.width
    if extra <= 0:
        return frame
    rng = np.random.default_rng([seed, start])
    columns = {}
    for k in range(extra):
        kind = k % 3
        if kind == 0:
            values = rng.normal(k, 1.0 + k / 10, n)
        elif kind == 1:
            values = rng.lognormal(0.0, 0.5 + k / 50, n)
        else:
            values = rng.poisson(1 + k % 7, n).astype(np.float64)
        columns[f"extra_{k:02d}"] = values
    return pl.concat([frame, pl.DataFrame(columns)], how="horizontal")


def fill(bootstrap: str, topic: str, n: int, partitions: int, fields: int) -> tuple[int, float]:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    from stream_monitor.stream import kafka_io

    admin = AdminClient({"bootstrap.servers": bootstrap})
    kafka_io.create_topics(admin, [NewTopic(topic, partitions, 1)])
    producer = Producer(
        {"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000, "acks": 1}
    )
    total_bytes = 0
    chunk = 200_000
    for start in range(0, n, chunk):
        lines = records(min(chunk, n - start), 7, fields, start).write_ndjson()
        for i, value in enumerate(lines.encode().splitlines()):
            total_bytes += len(value)
            while True:
                try:
                    producer.produce(topic, value, partition=(start + i) % partitions)
                    break
                except BufferError:
                    producer.poll(0.05)
        producer.poll(0)
    assert producer.flush(120) == 0
    return total_bytes, total_bytes / n


def baseline(bootstrap: str, topic: str, n: int, out: Any) -> None:
    from confluent_kafka import Consumer

    from stream_monitor.stream.kafka_io import FETCH_DEFAULTS

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"baseline-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **FETCH_DEFAULTS,  # the monitor's own fetch settings
        }
    )
    consumer.subscribe([topic])
    seen = size = 0
    first = None
    while seen < n:
        for message in consumer.consume(num_messages=5000, timeout=0.2):
            if message.error() is None:
                if first is None:
                    first = time.perf_counter()
                value = message.value()
                size += len(value) if value else 0
                seen += 1
    elapsed = time.perf_counter() - (first or time.perf_counter())
    consumer.close()
    out.put({"records": seen, "bytes": size, "seconds": elapsed, "peak_mb": peak_mb()})


def monitored(
    bootstrap: str, topic: str, profile_path: str, n: int, guarantee: str, out: Any
) -> None:
    from stream_monitor.profile.store import read_profile
    from stream_monitor.stream.kafka_app import KafkaMonitor
    from stream_monitor.stream.settings import StreamSettings

    settings = StreamSettings(
        monitor="bench",
        bootstrap_servers=bootstrap,
        input_topics=(topic,),
        alert_topic=f"{topic}.alerts",
        dead_letter_topic=f"{topic}.dlq",
        state_topic=f"{topic}.state-{uuid.uuid4().hex[:8]}",  # no state of an earlier run
        group_id=f"monitor-{uuid.uuid4()}",
        processing_guarantee=guarantee,
        instance_id=uuid.uuid4().hex[:8],
    )
    monitor = KafkaMonitor(read_profile(profile_path), settings)
    stamps: list[float] = []
    original = monitor._score

    def timed(messages: list[Any]) -> None:
        if not stamps:
            stamps.append(time.perf_counter())
        original(messages)

    monitor._score = timed  # type: ignore[method-assign]
    samples: list[tuple[int, float]] = []
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.5):
            samples.append((monitor.pipeline.counters.messages, rss_mb()))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    counters = monitor.run(n)
    elapsed = time.perf_counter() - stamps[0]
    stop.set()
    out.put(
        {
            "records": counters.messages,
            "scored": counters.scored,
            "alerts": counters.alerts,
            "seconds": elapsed,
            "peak_mb": peak_mb(),
            "rss": samples,
        }
    )


def latency(bootstrap: str, profile_path: str, out: Any, rate: int = 50_000) -> None:
    """Alert latency with the monitor live: produce drifted traffic, time the alerts."""
    from confluent_kafka import Consumer, Producer
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    from stream_monitor.profile.store import read_profile
    from stream_monitor.stream import kafka_io
    from stream_monitor.stream.kafka_app import KafkaMonitor
    from stream_monitor.stream.settings import StreamSettings
    from stream_monitor.synthetic import Drift, traffic

    topic = f"latency-{uuid.uuid4().hex[:8]}"
    alerts_topic = f"{topic}.alerts"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    kafka_io.create_topics(admin, [NewTopic(name, 1, 1) for name in (topic, alerts_topic)])
    settings = StreamSettings(
        monitor="latency",
        bootstrap_servers=bootstrap,
        input_topics=(topic,),
        alert_topic=alerts_topic,
        dead_letter_topic=f"{topic}.dlq",
        state_topic=f"{topic}.state",
        group_id=f"latency-{uuid.uuid4()}",
    )
    # Every window's alert is sent, for many latency samples (defaults otherwise).
    settings = replace(settings, repeat_after_rows=1)
    monitor = KafkaMonitor(read_profile(profile_path), settings)
    runner = threading.Thread(target=monitor.run, daemon=True)
    runner.start()
    if not monitor.ready.wait(60):
        raise RuntimeError("monitor got no partition")
    arrivals: dict[str, float] = {}
    alerts: list[dict[str, Any]] = []
    tail = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"tail-{uuid.uuid4()}",
            "auto.offset.reset": "earliest",
        }
    )
    tail.subscribe([alerts_topic])
    done = threading.Event()

    def read_alerts() -> None:
        while not done.is_set():
            message = tail.poll(0.05)
            if message is not None and message.error() is None:
                alert = json.loads(message.value())
                arrivals[alert["alert_id"]] = time.time()
                alerts.append(alert)

    reader = threading.Thread(target=read_alerts, daemon=True)
    reader.start()
    total = 300_000
    values = traffic(total, seed=8, drift=Drift("income", 0, 1.0)).drop(DROP).write_ndjson()
    lines = values.encode().splitlines()
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 1})
    sent_at = np.zeros(total)
    t0 = time.time()
    for i, value in enumerate(lines):
        target = t0 + i / rate
        now = time.time()
        if target > now:
            time.sleep(target - now)
        sent_at[i] = time.time()
        producer.produce(topic, value)
        if i % 1000 == 0:
            producer.poll(0)
    producer.flush(30)
    time.sleep(3)
    done.set()
    reader.join()
    tail.close()
    monitor.stop()
    runner.join(60)
    lat = [arrivals[a["alert_id"]] - sent_at[a["window"]["last_offset"]] for a in alerts]
    out.put({"latencies": lat, "alerts": len(alerts), "rate": rate})


def in_child(target: Any, *args: Any) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    process = ctx.Process(target=target, args=(*args, queue))
    started = time.perf_counter()
    process.start()
    result: dict[str, Any] = queue.get(timeout=1800)
    process.join()
    result["process_seconds"] = time.perf_counter() - started
    return result


def median_run(found: list[dict[str, Any]]) -> dict[str, Any]:
    """The run of median speed (its own figures: memory, process time, RSS samples)."""
    ranked = sorted(found, key=lambda run: run["records"] / run["seconds"])
    return ranked[len(ranked) // 2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=2_000_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--fields", type=int, default=15, help="fields per record, 15 or more")
    parser.add_argument("--no-latency", action="store_true", help="skip the alert-latency phase")
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved runs of each consumer (median shown)"
    )
    parser.add_argument("--bootstrap", default=os.environ.get("STREAM_MONITOR_BOOTSTRAP"))
    args = parser.parse_args()
    started_broker = False
    if not args.bootstrap:
        script = ROOT / "scripts" / "kafka.sh"
        result = subprocess.run([script, "start"], check=True, capture_output=True, text=True)
        args.bootstrap = result.stdout.strip().splitlines()[-1]
        started_broker = True
    try:
        from stream_monitor.config import ProfileSettings
        from stream_monitor.profile.build import build_profile
        from stream_monitor.profile.store import write_profile

        workdir = Path(tempfile.mkdtemp(prefix="bench-stream-"))
        ref = workdir / "reference.parquet"
        records(200_000, 1, args.fields).write_parquet(ref)
        profile_path = workdir / "profile.parquet"
        write_profile(build_profile(ref, ProfileSettings()), profile_path)

        topic = f"bench-{uuid.uuid4().hex[:8]}"
        t = time.perf_counter()
        total_bytes, per_record = fill(
            args.bootstrap, topic, args.records, args.partitions, args.fields
        )
        print(
            f"filled {topic}: {args.records:,} records, {per_record:.0f} bytes each, "
            f"in {time.perf_counter() - t:.1f} s",
            flush=True,
        )
        # Interleaved repeats: the broker shares the machine, and its speed drifts between
        # runs (see ../shared/notes/measuring-throughput.md); medians are reported.
        runs: dict[str, list[dict[str, Any]]] = {
            "base": [],
            "at_least_once": [],
            "exactly_once": [],
        }
        for repeat in range(args.repeats):
            runs["base"].append(in_child(baseline, args.bootstrap, topic, args.records))
            for guarantee in ("at_least_once", "exactly_once"):
                runs[guarantee].append(
                    in_child(
                        monitored, args.bootstrap, topic, str(profile_path), args.records, guarantee
                    )
                )
            print(
                f"repeat {repeat + 1}: "
                + ", ".join(
                    f"{name} {found[-1]['records'] / found[-1]['seconds']:,.0f}/s"
                    for name, found in runs.items()
                ),
                flush=True,
            )
        base, ours, eos = (median_run(runs[k]) for k in ("base", "at_least_once", "exactly_once"))
        # The latency phase's drifted traffic has the 15 fields only.
        skip = args.no_latency or args.fields != 15
        lat = None if skip else in_child(latency, args.bootstrap, str(profile_path))
    finally:
        if started_broker:
            subprocess.run([ROOT / "scripts" / "kafka.sh", "stop"], check=False)

    mb = total_bytes / 1e6
    rows = [
        [
            "plain consume loop (reads each value)",
            f"{base['records'] / base['seconds']:,.0f}",
            f"{mb / base['seconds']:.0f}",
            "1.00",
            f"{base['peak_mb']:.0f}",
            f"{base['process_seconds']:.1f}",
        ],
        *[
            [
                f"stream-monitor run ({label})",
                f"{run['records'] / run['seconds']:,.0f}",
                f"{mb / run['seconds']:.0f}",
                f"{base['seconds'] / run['seconds']:.2f}",
                f"{run['peak_mb']:.0f}",
                f"{run['process_seconds']:.1f}",
            ]
            for label, run in (("at-least-once", ours), ("exactly-once", eos))
        ],
    ]
    print(
        f"Machine: {machine()}; {args.records:,} records of {args.fields} JSON fields "
        f"on {args.partitions} partitions; one consumer process each; median of "
        f"{args.repeats} interleaved runs"
    )
    headers = ["consumer", "records/s", "MB/s", "ratio", "peak RSS MB", "process s"]
    print(table(headers, rows))
    rss = ours["rss"]
    if rss:
        warm = [r for n, r in rss if n >= 0.1 * args.records] or [r for _, r in rss]
        print(
            f"monitor RSS: {rss[0][1]:.0f} MB at start, {warm[0]:.0f} MB after 10% of records, "
            f"{max(warm):.0f} MB max after, {rss[-1][1]:.0f} MB at the end "
            f"(growth after warm-up {max(warm) - warm[0]:+.0f} MB)"
        )
    if lat is None:
        return
    lats = np.array(lat["latencies"])
    if lats.size:
        p50, p99 = (np.percentile(lats, q) * 1000 for q in (50, 99))
        print(
            f"alert latency (drifted traffic at {lat['rate']:,} records/s, "
            f"{lat['alerts']} alerts): p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        )
    else:
        print("alert latency: no alert arrived")


if __name__ == "__main__":
    main()
