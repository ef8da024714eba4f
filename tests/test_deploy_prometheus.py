"""deploy/ against real servers: a Prometheus scrapes a running `stream-monitor run` fed
through the real Kafka broker and a Pushgateway fed by the four batch jobs; every dashboard
query and every alert's signal returns series; and a drift reaches a webhook through a real
Alertmanager routed by deploy/alertmanager/alertmanager.yml."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from kafka_support import bootstrap, monitors, new_topic, payloads, produce
from prom_support import (
    DASHBOARDS,
    DEPLOY,
    RULES,
    Service,
    Webhook,
    alert_rules,
    dashboard_queries,
    free_port,
    query,
    signal_of,
    start_alertmanager,
    start_prometheus,
    start_pushgateway,
    wait_for,
)

from stream_monitor.cli import main
from stream_monitor.synthetic import Drift, traffic

pytestmark = pytest.mark.kafka

MONITOR = "deploy-test"
BAD = b'{"age": 41, "income": '  # invalid JSON: dead-lettered
# The alerts this scenario causes; the others (lag, a stale job, a stalled loop) need hours
# or a stuck process, and rules.test.yml shows them firing.
CAUSED = {
    "StreamFeatureDrift",
    "StreamIncidentOpen",
    "BatchFeatureDrift",
    "ModelDegraded",
    "SchemaViolations",
    "DeadLetterShare",
}


def _with_bad(values: list[bytes], every: int) -> list[bytes | None]:
    """``values`` with every ``every``-th one replaced by a record that cannot be decoded."""
    return [BAD if i % every == 0 else v for i, v in enumerate(values)]


def _batch_data(folder: Path) -> dict[str, Path]:
    """Reference, clean and current files: the current one has income shifted by 1 sd, the
    model's scores shuffled (so it degrades), and ages no schema inferred from the reference
    allows."""
    ts = pl.datetime_range(
        datetime(2024, 3, 1), datetime(2024, 3, 1, 23, 59, 59), "4320ms", eager=True
    )
    ref = traffic(20_000, seed=1).drop("id").with_columns(ts=ts)
    clean = traffic(20_000, seed=2).drop("id").with_columns(ts=ts)
    cur = traffic(20_000, seed=3, drift=Drift("income", 0, 1.0)).drop("id")
    cur = cur.with_columns(
        ts=ts,
        predicted_default=cur["predicted_default"].shuffle(seed=0),
        age=pl.when(pl.int_range(pl.len()) % 500 == 0).then(-100.0).otherwise(pl.col("age")),
    )
    paths = {}
    for name, frame in (("ref", ref), ("clean", clean), ("cur", cur)):
        paths[name] = folder / f"{name}.parquet"
        frame.write_parquet(paths[name])
    return paths


def _run_batch_jobs(folder: Path, gateway: Service) -> None:
    """The four jobs push model v2's results; check-drift also pushes model v1's, clean."""
    files = _batch_data(folder)
    push = ["--pushgateway", gateway.url, "--monitor", MONITOR]
    ref, cur = str(files["ref"]), str(files["cur"])
    schema = str(folder / "schema.yaml")
    assert main(["validate-schema", "--data", ref, "--infer", "--schema", schema]) == 0
    roles = ["--target", "default", "--prediction", "predicted_default"]
    jobs = [
        [
            *("check-drift", "--reference_data_path", ref, "--current_data_path", cur),
            *("--report_path", str(folder / "drift-v2.html"), *roles),
        ],
        ["check-degradation", "--reference_data_path", ref, "--current_data_path", cur, *roles],
        ["validate-schema", "--data", cur, "--schema", schema],
        [
            "monitor-predictions",
            *("--reference_data_path", ref, "--current_data_path", cur),
            *("--prediction", "predicted_default", "--timestamp", "ts", "--window", "6h"),
        ],
    ]
    for argv in jobs:
        assert main([*argv, *push, "--model", "v2"]) in (0, 1), argv[0]
    clean = ["check-drift", "--reference_data_path", ref, "--current_data_path"]
    report = ["--report_path", str(folder / "drift-v1.html")]
    assert main([*clean, str(files["clean"]), *report, *push, "--model", "v1"]) in (0, 1)


def _alertmanager_config(folder: Path, webhook: Webhook) -> Path:
    """The shipped routing, with every receiver pointed at ``webhook`` and the waits cut to
    a second, so that a notification comes within seconds."""
    config = yaml.safe_load((DEPLOY / "alertmanager" / "alertmanager.yml").read_text())
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = webhook.url + "/" + receiver["name"]
    config["route"].update(group_wait="1s", group_interval="1s")
    path = folder / "alertmanager.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _prometheus_config(folder: Path, monitor_port: int, gateway: Service, am: Service) -> Path:
    """The shipped example config with this test's targets, the shipped rules, and one-second
    scrapes and evaluations. node_exporter is left out: the batch jobs push here."""
    config = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(RULES)]
    config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] = [
        f"127.0.0.1:{am.port}"
    ]
    targets = {
        "stream-monitor": f"127.0.0.1:{monitor_port}",
        "pushgateway": f"127.0.0.1:{gateway.port}",
    }
    config["scrape_configs"] = [
        {**job, "static_configs": [{"targets": [targets[job["job_name"]]]}]}
        for job in config["scrape_configs"]
        if job["job_name"] in targets
    ]
    assert len(config["scrape_configs"]) == len(targets)
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


def _start_monitor(
    folder: Path, profile_path: Path, topic: str, port: int
) -> subprocess.Popen[Any]:
    """`stream-monitor run` on ``topic``, serving /metrics on ``port``, until stopped."""
    fresh = uuid.uuid4().hex[:10]
    stream = {
        "monitor": MONITOR,
        "model": "v2",
        "profile": str(profile_path),
        "bootstrap_servers": bootstrap(),
        "input_topics": [topic],
        "group_id": f"group-{fresh}",
        "alert_topic": new_topic("alerts"),
        "dead_letter_topic": new_topic("dlq"),
        "state_topic": new_topic("state", compacted=True),
        "commit_interval_s": 0.5,
        "metrics_port": port,
        # Global windows on: the drift opens an incident (StreamIncidentOpen).
        "partials_topic": new_topic("partials", partitions=2),
        "global": {"window": "5s", "allowed_lateness": "1s"},
    }
    config = folder / "stream.yaml"
    config.write_text(yaml.safe_dump({"stream": stream}))
    with (folder / "monitor.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "stream_monitor", "run", "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    monitors.append(process)  # conftest kills it if the test fails before stopping it
    return process


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A webhook receiver, a Pushgateway and an Alertmanager; stopped by PID afterwards."""
    webhook = Webhook()
    started: list[Service] = []
    try:
        started.append(start_pushgateway(tmp_path))
        started.append(start_alertmanager(_alertmanager_config(tmp_path, webhook), tmp_path))
        yield {"webhook": webhook, "gateway": started[0], "alertmanager": started[1]}
    finally:
        for service in reversed(started):
            service.stop()
        webhook.stop()


def _series(prometheus: Service, expr: str) -> list[dict[str, Any]] | None:
    return query(prometheus, expr) or None


def test_dashboards_rules_and_alert_delivery_on_real_servers(
    tmp_path: Path, profile_path: Path, stack: dict[str, Any]
) -> None:
    """Every dashboard query and every alert's signal returns series from a Prometheus that
    scrapes a running monitor and a Pushgateway; the alerts this traffic causes are true; the
    drift reaches the webhook through the Alertmanager, grouped as routed; two models' pushes
    are two series; and a stopped monitor makes StreamMonitorDown true."""
    gateway, am, webhook = stack["gateway"], stack["alertmanager"], stack["webhook"]
    _run_batch_jobs(tmp_path, gateway)
    topic = new_topic("in")
    # Phase 1, before Prometheus watches: clean traffic with a few dead letters, so that
    # every counter exists before the rates are taken.
    produce(topic, _with_bad(payloads(traffic(4_000, seed=5)), 10))
    port = free_port()
    process = _start_monitor(tmp_path, profile_path, topic, port)
    prometheus = start_prometheus(_prometheus_config(tmp_path, port, gateway, am), tmp_path)
    try:
        scored = f'stream_monitor_records_scored_total{{monitor="{MONITOR}"}}'
        wait_for(lambda: _series(prometheus, scored), "the monitor's first scrape")
        # Phase 2: income drifts by 1 sd, and a tenth of the records cannot be decoded.
        drifted = traffic(20_000, seed=6, start=4_000, drift=Drift("income", 0, 1.0))
        produce(topic, _with_bad(payloads(drifted), 10))

        checks = [
            (f"dashboard {p.name}: {title}", expr)
            for p in DASHBOARDS
            for title, expr in dashboard_queries(p)
        ]
        checks += [(f"signal of {r['alert']}", signal_of(r["expr"])) for r in alert_rules()]
        checks += [
            (f"alert {r['alert']}", r["expr"]) for r in alert_rules() if r["alert"] in CAUSED
        ]
        for what, expr in checks:
            wait_for(lambda expr=expr: _series(prometheus, expr), f"series for {what}: {expr}")

        # Two models pushed by check-drift are two groups, not one overwritten.
        income = f'stream_monitor_feature_drift_detected{{monitor="{MONITOR}",feature="income"}}'
        verdicts = {s["metric"]["model"]: s["value"][1] for s in query(prometheus, income)}
        assert verdicts == {"v1": "0", "v2": "1"}

        wanted = ("StreamFeatureDrift", "income")

        def drift_notification() -> dict[str, Any] | None:
            for path, payload in webhook.payloads():
                for alert in payload["alerts"]:
                    labels = alert["labels"]
                    if (labels["alertname"], labels.get("feature")) == wanted:
                        return {"path": path, **payload, "alert": alert}
            return None

        got = wait_for(drift_notification, "the StreamFeatureDrift webhook")
        assert got["path"] == "/ml-team"
        assert got["receiver"] == "ml-team"
        assert got["status"] == "firing"
        assert got["alert"]["labels"] == {
            "alertname": "StreamFeatureDrift",
            "monitor": MONITOR,
            "model": "v2",
            "feature": "income",
            "severity": "warning",
        }
        assert got["groupLabels"] == {
            "alertname": "StreamFeatureDrift",
            "monitor": MONITOR,
            "model": "v2",
            "feature": "income",
        }

        process.terminate()
        assert process.wait(60) == 0, (tmp_path / "monitor.log").read_text()[-3000:]
        down = next(r["expr"] for r in alert_rules() if r["alert"] == "StreamMonitorDown")
        wait_for(lambda: _series(prometheus, down), "StreamMonitorDown's condition")
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(60)
        prometheus.stop()
