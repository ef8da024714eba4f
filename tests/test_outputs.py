"""Batch outputs: the Prometheus textfile, a Pushgateway push, and an MLflow run, read back."""

from __future__ import annotations

import argparse
import math
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stream_monitor.batch.outputs import Metric, add_output_flags, export
from stream_monitor.errors import ConfigError

METRICS = [
    Metric("drift_score", 0.25, {"column": "age", "method": "psi"}, "Drift score per column"),
    Metric("drift_score", 0.0125, {"column": "income", "method": "psi"}, "Drift score per column"),
    Metric("drift_detected", 1.0, {"column": "age"}),
    Metric("rows", 1_000_000.0),
    Metric("score_last", float("nan")),
]


def _args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_output_flags(parser)
    return parser.parse_args(argv)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _check_exposition(
    text: str, job: str, monitor: str = "stream-monitor", model: str = "default"
) -> None:
    """``text`` holds exactly METRICS and the job's last-success stamp, as gauges labelled
    with ``monitor``, ``model`` and ``command``."""
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert set(families) == {
        "stream_monitor_drift_score",
        "stream_monitor_drift_detected",
        "stream_monitor_rows",
        "stream_monitor_score_last",
        "stream_monitor_last_success_timestamp_seconds",
    }
    assert {f.type for f in families.values()} == {"gauge"}
    assert families["stream_monitor_drift_score"].documentation == "Drift score per column"
    assert families["stream_monitor_drift_detected"].documentation == "drift detected"
    samples = _samples(text)
    common = (("command", job), ("model", model), ("monitor", monitor))
    nan_key = ("stream_monitor_score_last", common)
    assert math.isnan(samples.pop(nan_key))
    stamp = samples.pop(("stream_monitor_last_success_timestamp_seconds", common))
    assert stamp > 1_600_000_000  # a Unix time, not a duration
    assert samples == {
        (
            "stream_monitor_drift_score",
            tuple(sorted((*common, ("column", "age"), ("method", "psi")))),
        ): 0.25,
        (
            "stream_monitor_drift_score",
            tuple(sorted((*common, ("column", "income"), ("method", "psi")))),
        ): 0.0125,
        ("stream_monitor_drift_detected", tuple(sorted((*common, ("column", "age"))))): 1.0,
        ("stream_monitor_rows", common): 1_000_000.0,
    }


# -- Prometheus textfile ---------------------------------------------------------------


def test_textfile_reads_back_exactly(tmp_path: Path) -> None:
    """``--metrics-path`` writes gauges whose names, labels and values parse back exactly."""
    path = tmp_path / "check_drift.prom"
    export("check-drift", METRICS, _args(["--metrics-path", str(path)]))
    _check_exposition(path.read_text(), "check-drift")
    assert list(tmp_path.iterdir()) == [path]  # written atomically: no temporary file left


def test_textfile_in_a_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    """A textfile path in a directory that does not exist is a one-line ConfigError."""
    args = _args(["--metrics_path", str(tmp_path / "nowhere" / "m.prom")])
    with pytest.raises(ConfigError, match=r"^--metrics-path: directory .*nowhere does not exist$"):
        export("check-drift", METRICS, args)


def test_no_output_flag_exports_nothing(tmp_path: Path) -> None:
    """Without an output flag, export does nothing (and does not need MLflow)."""
    export("check-drift", METRICS, _args([]))


# -- Pushgateway -----------------------------------------------------------------------


@dataclass
class _Gateway:
    """What a stand-in Pushgateway received, and the status it answers with."""

    url: str
    status: int = 200
    requests: list[tuple[str, str, str, bytes]] = field(default_factory=list)


@pytest.fixture
def gateway() -> Iterator[_Gateway]:
    """A tiny HTTP server on 127.0.0.1 that records each request like a Pushgateway."""
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            record: _Gateway = state["gateway"]
            record.requests.append(
                (self.command, self.path, self.headers.get("Content-Type", ""), body)
            )
            self.send_response(record.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_PUT = _record  # noqa: N815 (http.server dispatches on do_<METHOD>)
        do_POST = _record  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:
            """Keep the test output clean."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    state["gateway"] = _Gateway(url=f"http://{host!s}:{port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["gateway"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_pushgateway_receives_the_metrics(gateway: _Gateway) -> None:
    """``--pushgateway`` PUTs the gauges to the group of the job, monitor and model."""
    export("check-drift", METRICS, _args(["--pushgateway", gateway.url]))
    assert len(gateway.requests) == 1
    method, path, content_type, body = gateway.requests[0]
    assert method == "PUT"
    assert path == "/metrics/job/stream-monitor-check-drift/model/default/monitor/stream-monitor"
    assert content_type.startswith("text/plain")
    _check_exposition(body.decode(), "check-drift")


def test_two_models_push_to_two_groups(gateway: _Gateway) -> None:
    """``--monitor`` and ``--model`` label every series and name the push group, so two
    models' results land in two groups instead of overwriting each other."""
    for model in ("scorecard-v1", "scorecard-v2"):
        argv = ["--pushgateway", gateway.url, "--monitor", "credit", "--model", model]
        export("check-drift", METRICS, _args(argv))
    paths = [path for _, path, _, _ in gateway.requests]
    assert paths == [
        "/metrics/job/stream-monitor-check-drift/model/scorecard-v1/monitor/credit",
        "/metrics/job/stream-monitor-check-drift/model/scorecard-v2/monitor/credit",
    ]
    _check_exposition(gateway.requests[1][3].decode(), "check-drift", "credit", "scorecard-v2")


def test_an_empty_model_is_a_config_error(tmp_path: Path) -> None:
    """An empty ``--model`` (a label Prometheus would drop) is a one-line ConfigError."""
    args = _args(["--metrics-path", str(tmp_path / "m.prom"), "--model", ""])
    with pytest.raises(ConfigError, match=r"^--model: must not be empty$"):
        export("check-drift", METRICS, args)


def test_pushgateway_error_is_a_config_error(gateway: _Gateway) -> None:
    """A Pushgateway answering 500 is a one-line ConfigError naming the URL."""
    gateway.status = 500
    with pytest.raises(ConfigError, match=rf"^--pushgateway: cannot push to {gateway.url}: "):
        export("check-drift", METRICS, _args(["--pushgateway", gateway.url]))


def test_unreachable_pushgateway_is_a_config_error() -> None:
    """A Pushgateway nobody listens on is a one-line ConfigError, not a traceback."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    with pytest.raises(ConfigError, match=rf"^--pushgateway: cannot push to {url}: "):
        export("check-drift", METRICS, _args(["--pushgateway", url]))


# -- MLflow ----------------------------------------------------------------------------


@pytest.fixture
def mlflow_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real local MLflow file store in ``tmp_path``, as the active tracking URI."""
    # MLflow is in the test extra: a missing install must fail here, never skip.
    import mlflow  # noqa: F401

    uri = (tmp_path / "mlruns").as_uri()
    # MLflow 3 refuses the file store unless told it is wanted; a test needs no database.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    # The environment, not mlflow.set_tracking_uri: monkeypatch restores it after the test.
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_mlflow_run_holds_metrics_params_and_artifacts(mlflow_store: str, tmp_path: Path) -> None:
    """``--mlflow`` logs one run with every metric, the params and the report files."""
    import mlflow
    from mlflow.tracking import MlflowClient

    report = tmp_path / "report.json"
    report.write_text('{"drift": true}\n')
    page = tmp_path / "report.html"
    page.write_text("<html></html>\n")
    params = {"reference": "ref.parquet", "method": "psi"}
    export("check-drift", METRICS, _args(["--mlflow"]), artifacts=[report, page], params=params)

    assert mlflow.get_tracking_uri() == mlflow_store
    client = MlflowClient()
    runs = client.search_runs(experiment_ids=["0"])
    assert len(runs) == 1
    run = runs[0]
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "stream-monitor check-drift"
    assert run.data.tags["stream_monitor.job"] == "check-drift"
    assert run.data.params == params
    metrics = dict(run.data.metrics)
    assert math.isnan(metrics.pop("score_last"))
    assert metrics == {
        "drift_score.age.psi": 0.25,
        "drift_score.income.psi": 0.0125,
        "drift_detected.age": 1.0,
        "rows": 1_000_000.0,
    }
    artifacts = sorted(a.path for a in client.list_artifacts(run.info.run_id))
    assert artifacts == ["report.html", "report.json"]
    local = Path(client.download_artifacts(run.info.run_id, "report.json", str(tmp_path / "dl")))
    assert local.read_text() == '{"drift": true}\n'


def test_mlflow_store_it_cannot_use_is_a_config_error(
    mlflow_store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tracking URI MLflow refuses gives a one-line ConfigError naming the URI."""
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    with pytest.raises(ConfigError) as error:
        export("check-drift", METRICS, _args(["--mlflow"]))
    message = str(error.value)
    assert message.startswith(f"--mlflow: cannot log to {mlflow_store}: ")
    assert "\n" not in message


def test_mlflow_missing_is_a_one_line_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--mlflow`` without MLflow installed: a ConfigError telling how to install it."""
    monkeypatch.setitem(sys.modules, "mlflow", None)  # import mlflow now raises ImportError
    with pytest.raises(ConfigError) as error:
        export("check-drift", METRICS, _args(["--mlflow"]))
    assert str(error.value) == (
        "--mlflow: MLflow is not installed; pip install 'stream-monitor[mlflow]'"
    )
