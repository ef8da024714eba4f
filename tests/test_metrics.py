"""Tests of stream_monitor.metrics: the Prometheus metrics and the health/metrics HTTP server."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from urllib.error import HTTPError

import pytest
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from stream_monitor import __version__
from stream_monitor.metrics import HealthServer, StreamMetrics

COMMON = {"monitor": "stream-monitor", "model": "default"}
TP0 = {"topic": "in", "partition": "0"}

# The shape of the JSON that librdkafka hands to confluent-kafka's stats_cb for a consumer
# (STATISTICS.md in librdkafka), trimmed to a representative subset of its fields.
_PARTITION_FIELDS = {
    "broker": 1,
    "leader": 1,
    "desired": True,
    "unknown": False,
    "msgq_cnt": 0,
    "fetchq_cnt": 12,
    "fetch_state": "active",
    "query_offset": -1001,
    "next_offset": 1042,
    "app_offset": 1000,
    "stored_offset": 1000,
    "committed_offset": 990,
    "eof_offset": -1001,
    "lo_offset": 0,
    "hi_offset": 1042,
    "ls_offset": 1042,
    "consumer_lag_stored": 52,
    "txmsgs": 0,
    "rxmsgs": 1000,
    "rxbytes": 64000,
}
STATS = {
    "name": "rdkafka#consumer-1",
    "client_id": "stream-monitor",
    "type": "consumer",
    "ts": 5016483227792,
    "time": 1700000000,
    "replyq": 0,
    "msg_cnt": 0,
    "brokers": {"localhost:9092/1": {"name": "localhost:9092/1", "nodeid": 1, "state": "UP"}},
    "topics": {
        "in": {
            "topic": "in",
            "age": 120000,
            "metadata_age": 60000,
            "batchsize": {"min": 0, "max": 0, "avg": 0, "cnt": 0},
            "batchcnt": {"min": 0, "max": 0, "avg": 0, "cnt": 0},
            "partitions": {
                "0": {"partition": 0, **_PARTITION_FIELDS, "consumer_lag": 42},
                "1": {"partition": 1, **_PARTITION_FIELDS, "consumer_lag": 0},
                # No committed offset yet: librdkafka reports the lag as -1 (unknown).
                "2": {"partition": 2, **_PARTITION_FIELDS, "desired": False, "consumer_lag": -1},
                # librdkafka's internal queue for messages of no partition yet; always present.
                "-1": {
                    **_PARTITION_FIELDS,
                    "partition": -1,
                    "broker": -1,
                    "leader": -1,
                    "desired": False,
                    "fetch_state": "none",
                    "consumer_lag": -1,
                    "consumer_lag_stored": -1,
                },
            },
        },
        "other": {"topic": "other", "partitions": {"3": {"partition": 3, "consumer_lag": 7}}},
    },
    "cgrp": {"state": "up", "join_state": "steady", "assignment_size": 3},
}


def sample(m: StreamMetrics, name: str, labels: dict[str, str] | None = None) -> float | None:
    """The current value of one sample of ``m`` (``monitor`` and ``model`` labels implied),
    or None if the series does not exist."""
    value: float | None = m.registry.get_sample_value(name, {**COMMON, **(labels or {})})
    return value


def test_counters_increase_by_the_given_amounts() -> None:
    """Each counting method adds exactly its count to the series of its labels."""
    m = StreamMetrics()
    m.consumed("in", 0, 3)
    m.consumed("in", 0, 4)
    m.consumed("in", 1)
    m.scored("in", 0, 5)
    m.dead_lettered("in", 0, "decode_error", 2)
    m.dead_lettered("in", 0, "decode_error")
    m.alert("feature_drift")
    m.alert("feature_drift")
    m.produce_error("alerts")
    m.stale("in", 1, 4)
    assert sample(m, "stream_monitor_records_consumed_total", TP0) == 7.0
    assert sample(m, "stream_monitor_records_stale_total", {**TP0, "partition": "1"}) == 4.0
    assert sample(m, "stream_monitor_records_stale_total", TP0) is None
    assert sample(m, "stream_monitor_records_consumed_total", {**TP0, "partition": "1"}) == 1.0
    assert sample(m, "stream_monitor_records_scored_total", TP0) == 5.0
    assert (
        sample(m, "stream_monitor_records_dead_lettered_total", {**TP0, "reason": "decode_error"})
        == 3.0
    )
    assert sample(m, "stream_monitor_alerts_produced_total", {"type": "feature_drift"}) == 2.0
    assert sample(m, "stream_monitor_produce_errors_total", {"topic": "alerts"}) == 1.0


def test_batch_seconds_fill_the_histogram() -> None:
    """Batch durations land in the right buckets, and count and sum add up."""
    m = StreamMetrics()
    for s in (0.0005, 0.003, 0.2, 7.0):
        m.batch_seconds(s)
    name = "stream_monitor_batch_duration_seconds"
    assert sample(m, name + "_count") == 4.0
    assert sample(m, name + "_sum") == pytest.approx(7.2035)
    assert sample(m, name + "_bucket", {"le": "0.001"}) == 1.0
    assert sample(m, name + "_bucket", {"le": "0.005"}) == 2.0
    assert sample(m, name + "_bucket", {"le": "5.0"}) == 3.0
    assert sample(m, name + "_bucket", {"le": "+Inf"}) == 4.0


def test_checkpointed_counts_and_stamps() -> None:
    """A checkpoint increments the counter and sets the timestamp gauge to its time."""
    m = StreamMetrics()
    m.checkpointed(1_700_000_000.5)
    m.checkpointed(1_700_000_060.0)
    assert sample(m, "stream_monitor_checkpoints_total") == 2.0
    assert sample(m, "stream_monitor_last_checkpoint_timestamp_seconds") == 1_700_000_060.0


def test_monitor_and_model_label_every_series() -> None:
    """The monitor and model given label every series, and the liveness stamp is labelled
    with the ``run`` command as the batch jobs' stamps are with theirs."""
    m = StreamMetrics(monitor="credit", model="scorecard-v2")
    m.consumed("in", 0, 3)
    m.polled(1_700_000_000.0)
    labels = {"monitor": "credit", "model": "scorecard-v2"}
    value = m.registry.get_sample_value(
        "stream_monitor_last_success_timestamp_seconds", {**labels, "command": "run"}
    )
    assert value == 1_700_000_000.0
    for family in text_string_to_metric_families(m.render().decode()):
        for s in family.samples:
            assert s.labels.items() >= labels.items(), s


def test_produce_errors_of_known_topics_start_at_zero() -> None:
    """The produce-error counters of the output topics exist at 0 before any error."""
    m = StreamMetrics()
    m.produces_to(["alerts", "dlq"])
    assert sample(m, "stream_monitor_produce_errors_total", {"topic": "alerts"}) == 0.0
    m.produce_error("dlq")
    assert sample(m, "stream_monitor_produce_errors_total", {"topic": "dlq"}) == 1.0


def test_build_info_carries_the_package_version() -> None:
    """build_info is 1 for the running version and absent for any other."""
    m = StreamMetrics()
    assert sample(m, "stream_monitor_build_info", {"version": __version__}) == 1.0
    assert sample(m, "stream_monitor_build_info", {"version": "0.0.0"}) is None


def test_score_sets_the_last_value_and_verdict() -> None:
    """score() keeps the last value per feature, detector and partition, and the verdict as 0/1."""
    m = StreamMetrics()
    labels = {"feature": "age", "detector": "psi", "partition": "0"}
    m.score("age", "psi", 0, 0.31, True)
    m.score("age", "psi", 0, 0.02, False)
    m.score("age", "ks", 0, 0.5, True)
    assert sample(m, "stream_monitor_window_drift_score", labels) == 0.02
    assert sample(m, "stream_monitor_window_drift_detected", labels) == 0.0
    assert sample(m, "stream_monitor_window_drift_detected", {**labels, "detector": "ks"}) == 1.0


def test_lag_is_read_from_librdkafka_stats() -> None:
    """Lag is set per topic and partition; partition -1 and unknown (-1) lags are skipped."""
    m = StreamMetrics()
    assert m.observe_librdkafka_stats(json.dumps(STATS)) == 3
    lag = "stream_monitor_consumer_lag"
    assert sample(m, lag, TP0) == 42.0
    assert sample(m, lag, {**TP0, "partition": "1"}) == 0.0
    assert sample(m, lag, {"topic": "other", "partition": "3"}) == 7.0
    assert sample(m, lag, {**TP0, "partition": "2"}) is None
    assert sample(m, lag, {**TP0, "partition": "-1"}) is None


def test_unknown_lag_keeps_the_last_known_value() -> None:
    """A later report of lag -1, or of no lag at all, leaves the gauge at its last value."""
    m = StreamMetrics()
    m.observe_librdkafka_stats(json.dumps(STATS))
    unknown = {"topics": {"in": {"partitions": {"0": {"partition": 0, "consumer_lag": -1}}}}}
    missing = {"topics": {"in": {"partitions": {"0": {"partition": 0}}}}}
    assert m.observe_librdkafka_stats(json.dumps(unknown)) == 0
    assert m.observe_librdkafka_stats(json.dumps(missing)) == 0
    assert sample(m, "stream_monitor_consumer_lag", TP0) == 42.0


def test_stats_without_topics_set_nothing() -> None:
    """Stats of a client with no topics (or an odd shape) set no lag and do not raise."""
    m = StreamMetrics()
    assert m.observe_librdkafka_stats(json.dumps({"name": "c", "type": "consumer"})) == 0
    assert m.observe_librdkafka_stats(json.dumps({"topics": {"in": {"partitions": []}}})) == 0
    assert m.observe_librdkafka_stats("[]") == 0
    assert b"stream_monitor_consumer_lag{" not in m.render()


def test_remove_partition_drops_its_gauges_only() -> None:
    """Revoking a partition drops its lag and drift gauges, not other partitions or counters."""
    m = StreamMetrics()
    m.observe_librdkafka_stats(json.dumps(STATS))
    m.consumed("in", 0, 10)
    for p in (0, 1):
        m.score("age", "psi", p, 0.3, True)
        m.score("income", "ks", p, 0.1, False)
    m.remove_partition("in", 0)
    m.remove_partition("in", 9)  # never seen: nothing to do
    assert sample(m, "stream_monitor_consumer_lag", TP0) is None
    assert sample(m, "stream_monitor_consumer_lag", {**TP0, "partition": "1"}) == 0.0
    for name in ("stream_monitor_window_drift_score", "stream_monitor_window_drift_detected"):
        for feature, detector in (("age", "psi"), ("income", "ks")):
            labels = {"feature": feature, "detector": detector}
            assert sample(m, name, {**labels, "partition": "0"}) is None
            assert sample(m, name, {**labels, "partition": "1"}) is not None
    assert sample(m, "stream_monitor_records_consumed_total", TP0) == 10.0
    m.score("age", "psi", 0, 0.2, False)  # a reassigned partition reports again
    assert (
        sample(
            m,
            "stream_monitor_window_drift_score",
            {"feature": "age", "detector": "psi", "partition": "0"},
        )
        == 0.2
    )


def test_incident_gauges_follow_open_incidents_and_late_rows_add_up() -> None:
    """An incident's gauge is 1 while it is open and 0 once resolved, so Alertmanager's
    firing and resolved states follow it; late rows of global windows are counted."""
    m = StreamMetrics()
    opened = {("feature_drift", "income")}
    m.incidents(opened, set())
    labels = {"type": "feature_drift", "feature": "income"}
    assert sample(m, "stream_monitor_incidents_open", labels) == 1.0
    m.incidents(set(), opened)
    assert sample(m, "stream_monitor_incidents_open", labels) == 0.0
    m.late_rows("income", 3)
    m.late_rows("income", 0)
    m.late_rows("income", 4)
    assert sample(m, "stream_monitor_global_late_rows_total", {"feature": "income"}) == 7.0


def test_instances_do_not_share_a_registry() -> None:
    """Two instances register the same names without clashing, and none of them is global."""
    a, b = StreamMetrics(), StreamMetrics()
    a.consumed("in", 0, 5)
    b.consumed("in", 0, 1)
    assert sample(a, "stream_monitor_records_consumed_total", TP0) == 5.0
    assert sample(b, "stream_monitor_records_consumed_total", TP0) == 1.0
    assert (
        REGISTRY.get_sample_value("stream_monitor_build_info", {**COMMON, "version": __version__})
        is None
    )


def parse(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample in a Prometheus text exposition, keyed by name and labels."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_render_is_valid_exposition_with_every_metric() -> None:
    """render() produces text the Prometheus parser reads, with HELP/TYPE for every metric."""
    m = StreamMetrics()
    m.consumed("in", 0, 3)
    text = m.render().decode()
    key = frozenset({**COMMON, **TP0}.items())
    assert parse(text)[("stream_monitor_records_consumed_total", key)] == 3.0
    # prometheus_client also emits *_created gauges; switching them off is process-global
    # (disable_created_metrics), so that choice is left to the application.
    families = text_string_to_metric_families(text)
    types = {f.name: f.type for f in families if not f.name.endswith("_created")}
    assert types == {
        "stream_monitor_records_consumed": "counter",
        "stream_monitor_records_scored": "counter",
        "stream_monitor_records_dead_lettered": "counter",
        "stream_monitor_records_stale": "counter",
        "stream_monitor_batch_duration_seconds": "histogram",
        "stream_monitor_consumer_lag": "gauge",
        "stream_monitor_window_drift_score": "gauge",
        "stream_monitor_window_drift_detected": "gauge",
        "stream_monitor_alerts_produced": "counter",
        "stream_monitor_incidents_open": "gauge",
        "stream_monitor_global_late_rows": "counter",
        "stream_monitor_produce_errors": "counter",
        "stream_monitor_checkpoints": "counter",
        "stream_monitor_last_checkpoint_timestamp_seconds": "gauge",
        "stream_monitor_last_success_timestamp_seconds": "gauge",
        "stream_monitor_build_info": "gauge",
    }
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            assert s.labels.items() >= COMMON.items(), s


def test_textfile_is_written_whole_and_parseable(tmp_path: Path) -> None:
    """write_textfile leaves exactly the target file, holding the current values."""
    m = StreamMetrics()
    path = tmp_path / "stream_monitor.prom"
    m.consumed("in", 0, 3)
    m.write_textfile(path)
    m.consumed("in", 0, 4)
    m.write_textfile(str(path))
    samples = parse(path.read_text())
    consumed = frozenset({**COMMON, **TP0}.items())
    assert samples[("stream_monitor_records_consumed_total", consumed)] == 7.0
    info = frozenset({**COMMON, "version": __version__}.items())
    assert samples[("stream_monitor_build_info", info)] == 1.0
    assert [p.name for p in tmp_path.iterdir()] == ["stream_monitor.prom"]


# HTTP: no proxy, whatever the environment says, since the server is on loopback.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def get(address: tuple[str, int], path: str, method: str = "GET") -> tuple[int, Message, bytes]:
    """Request ``path`` from the server at ``address``: status, headers and body."""
    host, port = address
    request = urllib.request.Request(f"http://{host}:{port}{path}", method=method)
    try:
        with _OPENER.open(request, timeout=5) as r:
            return r.status, r.headers, r.read()
    except HTTPError as e:
        with e:
            return e.code, e.headers, e.read()


class Flags:
    """Liveness and readiness that a test can flip."""

    def __init__(self) -> None:
        self.live = True
        self.ready = False


@pytest.fixture
def flags() -> Flags:
    """Fresh probe flags: live, not ready."""
    return Flags()


@pytest.fixture
def served(flags: Flags) -> Iterator[tuple[StreamMetrics, tuple[str, int]]]:
    """A HealthServer on a free loopback port, stopped after the test."""
    m = StreamMetrics()
    server = HealthServer(m, port=0, live=lambda: flags.live, ready=lambda: flags.ready)
    address = server.start()
    try:
        yield m, address
    finally:
        server.stop()


def test_server_binds_to_loopback_by_default(
    served: tuple[StreamMetrics, tuple[str, int]],
) -> None:
    """Without an explicit host the server listens on 127.0.0.1, on the port it picked."""
    _, (host, port) = served
    assert host == "127.0.0.1"
    assert 0 < port < 65536


def test_metrics_endpoint_serves_the_exposition(
    served: tuple[StreamMetrics, tuple[str, int]],
) -> None:
    """GET /metrics returns the current metrics with Prometheus's content type."""
    m, address = served
    m.consumed("in", 0, 11)
    status, headers, body = get(address, "/metrics")
    assert status == 200
    assert headers["Content-Type"] == CONTENT_TYPE_LATEST
    assert (
        parse(body.decode())[
            ("stream_monitor_records_consumed_total", frozenset({**COMMON, **TP0}.items()))
        ]
        == 11.0
    )


def test_livez_follows_the_live_probe(
    served: tuple[StreamMetrics, tuple[str, int]], flags: Flags
) -> None:
    """GET /livez is 200 "ok" while live() is true and 503 once it is false."""
    _, address = served
    assert get(address, "/livez")[::2] == (200, b"ok\n")
    flags.live = False
    assert get(address, "/livez")[::2] == (503, b"not live\n")


def test_readyz_flips_from_503_to_200(
    served: tuple[StreamMetrics, tuple[str, int]], flags: Flags
) -> None:
    """GET /readyz is 503 with a reason until ready() turns true, then 200."""
    _, address = served
    assert get(address, "/readyz")[::2] == (503, b"not ready\n")
    flags.ready = True
    assert get(address, "/readyz")[::2] == (200, b"ok\n")


def test_probe_that_raises_is_a_failed_check() -> None:
    """A readiness probe that raises gives 503 naming the exception type, and the server goes on."""

    def broken() -> bool:
        raise KeyError("secret")

    server = HealthServer(StreamMetrics(), port=0, ready=broken)
    address = server.start()
    try:
        status, _, body = get(address, "/readyz")
        assert (status, body) == (503, b"not ready: check raised KeyError\n")
        assert get(address, "/livez")[0] == 200
    finally:
        server.stop()


def test_other_paths_are_404_and_queries_are_ignored(
    served: tuple[StreamMetrics, tuple[str, int]],
) -> None:
    """Unknown paths are 404, other methods 501, and a query string changes nothing."""
    _, address = served
    assert get(address, "/")[0] == 404
    assert get(address, "/metrics", method="POST")[0] == 501
    assert get(address, "/metrics/extra")[0] == 404
    assert get(address, "/livez?token=x")[::2] == (200, b"ok\n")


def test_requests_are_not_logged(
    served: tuple[StreamMetrics, tuple[str, int]], capfd: pytest.CaptureFixture[str]
) -> None:
    """Serving requests, including a 404 with a query string, writes nothing to stdout or stderr."""
    _, address = served
    get(address, "/metrics")
    get(address, "/nope?password=hunter2")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_stop_frees_the_port() -> None:
    """After stop() nothing listens on the port, the thread is gone, and the port binds again."""
    server = HealthServer(StreamMetrics(), port=0)
    address = server.start()
    assert get(address, "/livez")[0] == 200
    server.stop()
    assert "stream-monitor-health" not in {t.name for t in threading.enumerate()}
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(address, timeout=1).close()
    again = HealthServer(StreamMetrics(), port=address[1])
    try:
        assert again.start() == address
    finally:
        again.stop()
    server.stop()  # stopping twice is harmless


def test_start_twice_is_an_error() -> None:
    """Starting a running server raises instead of leaking a second socket."""
    with HealthServer(StreamMetrics(), port=0) as server, pytest.raises(RuntimeError):
        server.start()


def test_docs_list_every_stream_metric() -> None:
    """docs/metrics.md, the one list of every metric, names each family the monitor exports."""
    docs = (Path(__file__).resolve().parent.parent / "docs" / "metrics.md").read_text()
    m = StreamMetrics()
    for family in text_string_to_metric_families(m.render().decode()):
        if family.name.endswith("_created"):
            continue
        suffix = "_total" if family.type == "counter" else ""
        assert f"`{family.name}{suffix}`" in docs, family.name
