"""Prometheus metrics of the streaming monitor, and the HTTP server that exposes them.

``StreamMetrics`` owns its own ``CollectorRegistry`` (never prometheus_client's global one), so
several monitors, or several tests, in one process do not clash. The monitor loop calls its small
methods (``consumed``, ``scored``, ``score``, ...); ``render`` and ``write_textfile`` export it.

Every series carries the ``monitor`` and ``model`` labels, as the batch jobs' series do, so that
one set of alert rules and dashboards serves both (``docs/metrics.md`` lists every metric of
either).

``HealthServer`` serves ``/metrics``, ``/livez`` and ``/readyz`` from a daemon thread. It binds to
127.0.0.1 unless given another host explicitly.
"""

from __future__ import annotations

import json
import os
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    write_to_textfile,
)

from stream_monitor import __version__

PREFIX = "stream_monitor_"
# The labels every series of stream-monitor carries, batch or stream.
COMMON_LABELS = ("monitor", "model")
# The ``command`` label of ``last_success_timestamp_seconds`` for the streaming monitor.
RUN_COMMAND = "run"

# One micro-batch takes from about a millisecond (a few records) to seconds (a large batch
# on a slow detector); the buckets cover 1 ms .. 5 s in 1-2.5-5 steps.
BATCH_SECONDS_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class StreamMetrics:
    """The monitor's metrics, in a registry of their own.

    Label values are strings; partitions are given as ints and exported as their decimal text.
    ``monitor`` and ``model`` label every series.

    >>> m = StreamMetrics(monitor="credit", model="scorecard-v2")
    >>> m.consumed("in", 0, 100)
    >>> m.registry.get_sample_value(
    ...     "stream_monitor_records_consumed_total",
    ...     {"monitor": "credit", "model": "scorecard-v2", "topic": "in", "partition": "0"},
    ... )
    100.0
    """

    def __init__(self, *, monitor: str = "stream-monitor", model: str = "default") -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.monitor = monitor
        self.model = model
        self._common = (monitor, model)
        reg = self.registry
        tp = (*COMMON_LABELS, "topic", "partition")
        fdp = (*COMMON_LABELS, "feature", "detector", "partition")
        self._consumed = Counter(
            PREFIX + "records_consumed", "Records read from the input topic.", tp, registry=reg
        )
        self._scored = Counter(
            PREFIX + "records_scored", "Records scored by the drift detectors.", tp, registry=reg
        )
        self._dead_lettered = Counter(
            PREFIX + "records_dead_lettered",
            "Records sent to the dead-letter topic instead of being scored.",
            (*tp, "reason"),
            registry=reg,
        )
        self._stale = Counter(
            PREFIX + "records_stale",
            "Records fetched before a rebalance or rewind and skipped: another owner's, "
            "or already counted.",
            tp,
            registry=reg,
        )
        self._batch_seconds = Histogram(
            PREFIX + "batch_duration_seconds",
            "Wall-clock time to process one micro-batch.",
            COMMON_LABELS,
            buckets=BATCH_SECONDS_BUCKETS,
            registry=reg,
        ).labels(*self._common)
        self._lag = Gauge(
            PREFIX + "consumer_lag",
            "Messages between the partition's end offset and the group's committed offset, "
            "from librdkafka statistics.",
            tp,
            registry=reg,
        )
        self._drift_score = Gauge(
            PREFIX + "window_drift_score",
            "Score of a feature's last window in a partition, by a detector.",
            fdp,
            registry=reg,
        )
        self._drift_detected = Gauge(
            PREFIX + "window_drift_detected",
            "1 if the feature's last window in the partition drifted by the detector, else 0.",
            fdp,
            registry=reg,
        )
        self._alerts = Counter(
            PREFIX + "alerts_produced",
            "Alert messages produced.",
            (*COMMON_LABELS, "type"),
            registry=reg,
        )
        self._incidents = Gauge(
            PREFIX + "incidents_open",
            "1 while an incident (docs/alerts.md) is open on the feature, for the type; 0 after "
            "it resolved. Reported by the instance that owns the feature's key.",
            (*COMMON_LABELS, "type", "feature"),
            registry=reg,
        )
        self._late = Counter(
            PREFIX + "global_late_rows",
            "Rows that reached their global window after it was merged: counted, never merged.",
            (*COMMON_LABELS, "feature"),
            registry=reg,
        )
        self._produce_errors = Counter(
            PREFIX + "produce_errors",
            "Messages the producer failed to deliver.",
            (*COMMON_LABELS, "topic"),
            registry=reg,
        )
        self._checkpoints = Counter(
            PREFIX + "checkpoints", "Checkpoints completed.", COMMON_LABELS, registry=reg
        ).labels(*self._common)
        self._last_checkpoint = Gauge(
            PREFIX + "last_checkpoint_timestamp_seconds",
            "Unix time of the last completed checkpoint.",
            COMMON_LABELS,
            registry=reg,
        ).labels(*self._common)
        self._last_success = Gauge(
            PREFIX + "last_success_timestamp_seconds",
            "Unix time of the last successful run of a batch job, or of the streaming "
            "monitor's last completed poll of its input.",
            (*COMMON_LABELS, "command"),
            registry=reg,
        ).labels(*self._common, RUN_COMMAND)
        self._last_success.set(time.time())  # a monitor that never polls goes stale from here
        build_info = Gauge(
            PREFIX + "build_info",
            "Always 1; labelled with the build.",
            (*COMMON_LABELS, "version"),
            registry=reg,
        )
        build_info.labels(*self._common, __version__).set(1)
        # Label sets of the per-partition gauges, so that remove_partition can drop exactly
        # those series: remove_by_labels is only in prometheus_client releases from late 2025,
        # far above the floor in pyproject.
        self._lag_series: set[tuple[str, str]] = set()
        self._drift_series: dict[str, set[tuple[str, str]]] = {}

    def consumed(self, topic: str, partition: int, n: int = 1) -> None:
        """Count ``n`` records read from ``topic`` / ``partition``."""
        self._consumed.labels(*self._common, topic, str(partition)).inc(n)

    def scored(self, topic: str, partition: int, n: int = 1) -> None:
        """Count ``n`` records scored by the detectors."""
        self._scored.labels(*self._common, topic, str(partition)).inc(n)

    def dead_lettered(self, topic: str, partition: int, reason: str, n: int = 1) -> None:
        """Count ``n`` records dead-lettered; ``reason`` must come from a small fixed set."""
        self._dead_lettered.labels(*self._common, topic, str(partition), reason).inc(n)

    def stale(self, topic: str, partition: int, n: int) -> None:
        """Count ``n`` records skipped as fetched before a rebalance or rewind."""
        self._stale.labels(*self._common, topic, str(partition)).inc(n)

    def batch_seconds(self, seconds: float) -> None:
        """Record how long one micro-batch took."""
        self._batch_seconds.observe(seconds)

    def lag(self, topic: str, partition: int, messages: float) -> None:
        """Set the consumer lag of ``topic`` / ``partition``, in messages."""
        self._lag.labels(*self._common, topic, str(partition)).set(messages)
        self._lag_series.add((topic, str(partition)))

    def observe_librdkafka_stats(self, stats_json: str) -> int:
        """Set ``consumer_lag`` from the JSON that confluent-kafka passes to ``stats_cb``.

        Reads ``topics.<name>.partitions.<id>.consumer_lag`` (end offset minus committed offset).
        The internal partition ``-1`` and lags that librdkafka reports as ``-1`` (unknown, e.g.
        before the first commit) or leaves out are skipped, so the gauge keeps its last known
        value. Missing or oddly typed keys are skipped too: this runs inside ``poll()``, where an
        exception would stop the consumer. Returns how many partitions were set. Text that is
        not JSON at all (librdkafka never sends it) raises ``ValueError``.
        """
        n = 0
        for topic, tstats in _children(json.loads(stats_json), "topics"):
            for pid, pstats in _children(tstats, "partitions"):
                lag = pstats.get("consumer_lag") if isinstance(pstats, dict) else None
                if pid == "-1" or isinstance(lag, bool) or not isinstance(lag, int) or lag < 0:
                    continue
                self.lag(topic, int(pid), lag)
                n += 1
        return n

    def score(
        self, feature: str, detector: str, partition: int, value: float, drifted: bool
    ) -> None:
        """Set the last window score of ``feature`` by ``detector`` and whether it drifted."""
        labels = (*self._common, feature, detector, str(partition))
        self._drift_score.labels(*labels).set(value)
        self._drift_detected.labels(*labels).set(1 if drifted else 0)
        self._drift_series.setdefault(str(partition), set()).add((feature, detector))

    def alert(self, type_: str) -> None:
        """Count one alert message produced, of type ``type_`` (as in the alert's ``type``)."""
        self._alerts.labels(*self._common, type_).inc()

    def incidents(self, open_now: set[tuple[str, str]], known: set[tuple[str, str]]) -> None:
        """Set the incident gauges: 1 for each (type, feature) in ``open_now``, 0 for the
        others in ``known``."""
        for type_, feature in known | open_now:
            value = 1 if (type_, feature) in open_now else 0
            self._incidents.labels(*self._common, type_, feature).set(value)

    def late_rows(self, feature: str, n: int) -> None:
        """Count ``n`` rows that arrived after their global window was merged."""
        if n:
            self._late.labels(*self._common, feature).inc(n)

    def produce_error(self, topic: str) -> None:
        """Count one message that could not be delivered to ``topic``."""
        self._produce_errors.labels(*self._common, topic).inc()

    def produces_to(self, topics: Iterable[str]) -> None:
        """Start the produce-error counters of ``topics`` at 0, so that their rate exists
        (and reads 0) before the first error rather than appearing with it."""
        for topic in topics:
            self._produce_errors.labels(*self._common, topic)

    def checkpointed(self, timestamp: float | None = None) -> None:
        """Count one completed checkpoint, made at Unix time ``timestamp`` (default: now)."""
        self._checkpoints.inc()
        self._last_checkpoint.set(time.time() if timestamp is None else timestamp)

    def polled(self, timestamp: float | None = None) -> None:
        """Mark one completed poll of the input, at Unix time ``timestamp`` (default: now):
        ``last_success_timestamp_seconds{command="run"}``, the liveness the alerts watch."""
        self._last_success.set(time.time() if timestamp is None else timestamp)

    def remove_partition(self, topic: str, partition: int) -> None:
        """Drop the gauges of a revoked partition, so its lag and scores do not linger.

        Counters are kept: they are cumulative, and dropping them would read as a reset.
        The drift gauges carry no topic label (the monitor reads one input topic), so all of
        that partition's drift series go.
        """
        p = str(partition)
        if (topic, p) in self._lag_series:
            self._lag_series.discard((topic, p))
            self._lag.remove(*self._common, topic, p)
        for feature, detector in self._drift_series.pop(p, set()):
            self._drift_score.remove(*self._common, feature, detector, p)
            self._drift_detected.remove(*self._common, feature, detector, p)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)

    def write_textfile(self, path: str | os.PathLike[str]) -> None:
        """Write the metrics atomically to ``path`` for node_exporter's textfile collector.

        The file is written next to ``path`` and renamed over it, so a reader never sees half
        a file. node_exporter only reads files whose names end in ``.prom``.
        """
        write_to_textfile(os.fspath(path), self.registry)


def _children(node: object, key: str) -> list[tuple[str, Any]]:
    """The items of ``node[key]``, or none if either is not a JSON object."""
    child = node.get(key) if isinstance(node, dict) else None
    return list(child.items()) if isinstance(child, dict) else []


def _always() -> bool:
    return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        metrics: StreamMetrics,
        live: Callable[[], bool],
        ready: Callable[[], bool],
    ) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.metrics = metrics
        self.live = live
        self.ready = ready
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host's FQDN, a DNS lookup that can stall start()
        # and that nothing here needs.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # a stalled client must not hold a thread forever
    server_version = "stream-monitor"
    sys_version = ""  # the Server header need not name the Python version

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/metrics":
            self._reply(200, self.server.metrics.render(), CONTENT_TYPE_LATEST)
        elif path == "/livez":
            self._check(self.server.live, "ok", "not live")
        elif path == "/readyz":
            self._check(self.server.ready, "ok", "not ready")
        else:
            self._reply(404, b"not found\n")

    def _check(self, probe: Callable[[], bool], good: str, bad: str) -> None:
        try:
            ok = probe()
        except Exception as e:  # a failing probe is a failed check, not a crashed server
            self._reply(503, f"{bad}: check raised {type(e).__name__}\n".encode())
            return
        self._reply(200 if ok else 503, f"{good if ok else bad}\n".encode())

    def _reply(
        self, status: int, body: bytes, content_type: str = "text/plain; charset=utf-8"
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Log nothing: probes hit these endpoints every few seconds, and a request line
        carries a query string, which must not reach the logs."""


class HealthServer:
    """``GET /metrics``, ``/livez`` and ``/readyz`` over HTTP, served from a daemon thread.

    ``live()`` says whether the monitor's loop is alive and ``ready()`` whether it can do its
    work (partitions assigned, state restored); each answers 200 when true, else 503 with a
    short reason. Both default to always true. Any other path is 404. The server binds to
    127.0.0.1 unless ``host`` says otherwise; port 0 picks a free port.
    """

    def __init__(
        self,
        metrics: StreamMetrics,
        *,
        host: str = "127.0.0.1",
        port: int = 9108,
        live: Callable[[], bool] = _always,
        ready: Callable[[], bool] = _always,
    ) -> None:
        self.metrics = metrics
        self.host = host
        self.port = port
        self.live = live
        self.ready = ready
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> tuple[str, int]:
        """Bind, start serving in a daemon thread, and return the bound (host, port)."""
        if self._server is not None:
            raise RuntimeError("HealthServer is already started")
        server = _Server((self.host, self.port), self.metrics, self.live, self.ready)
        self._server = server
        # stop() waits up to one poll interval for serve_forever to notice; the default 0.5 s
        # would slow every shutdown, and a 0.1 s select timeout costs nothing.
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="stream-monitor-health",
            daemon=True,
        )
        self._thread.start()
        host, port = server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread; a no-op if not started."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join()

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
