"""`run --source` and `demo`: the embedded pipeline, without Kafka."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from stream_monitor.cli import main
from stream_monitor.stream.alerts import alert_schema
from stream_monitor.synthetic import Drift, traffic

VALIDATOR = Draft202012Validator(alert_schema())


def test_run_source_streams_a_file_and_flags_the_drift(tmp_path: Path) -> None:
    """`run --source` writes valid alerts for the drifted feature only, after the drift point."""
    ref, live = tmp_path / "ref.parquet", tmp_path / "live.csv"
    traffic(50_000, seed=1).drop("id").write_parquet(ref)
    traffic(60_000, seed=2, drift=Drift("tenure_months", 30_000, 1.0)).drop("id").write_csv(live)
    profile = tmp_path / "profile.parquet"
    assert main(["profile", "--data", str(ref), "--out", str(profile)]) == 0
    out = tmp_path / "alerts.jsonl"
    code = main(["run", "--profile", str(profile), "--source", str(live), "--alerts-out", str(out)])
    assert code == 0
    alerts = [json.loads(line) for line in out.read_text().splitlines()]
    for alert in alerts:
        VALIDATOR.validate(alert)
    # The drifting feature, and (after it) the multivariate reconstruction error it moves.
    assert {a["feature"] for a in alerts} <= {"tenure_months", "reconstruction_error"}
    assert "tenure_months" in {a["feature"] for a in alerts}
    assert 30_000 <= min(a["window"]["last_offset"] for a in alerts) <= 30_500
    # A file is one partition: `stream.global` in the config does not apply to it, and the
    # run gives the same alerts.
    config = tmp_path / "global.yaml"
    config.write_text("stream:\n  global: true\n")
    again = tmp_path / "again.jsonl"
    argv = ["run", "--config", str(config), "--profile", str(profile), "--source", str(live)]
    assert main([*argv, "--alerts-out", str(again)]) == 0
    ids = [json.loads(line)["alert_id"] for line in again.read_text().splitlines()]
    assert ids == [a["alert_id"] for a in alerts]


def test_run_source_max_records_stops_there(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--max-records` stops after exactly that many records."""
    ref = tmp_path / "ref.parquet"
    traffic(20_000, seed=1).drop("id").write_parquet(ref)
    profile = tmp_path / "profile.parquet"
    assert main(["profile", "--data", str(ref), "--out", str(profile)]) == 0
    capsys.readouterr()
    args = ["run", "--profile", str(profile), "--source", str(ref), "--max-records", "12345"]
    assert main(args) == 0
    assert "12345 records scored" in capsys.readouterr().err


def test_demo_finds_the_drift_without_false_alarms(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo reports the injected drift soon after it starts, and no other feature."""
    args = ["demo", "--reference-rows", "50000", "--rows", "80000", "--drift-at", "40000"]
    assert main([*args, "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "False alarms on other columns: none." in out
    alerts = [json.loads(x) for x in (tmp_path / "alerts.jsonl").read_text().splitlines()]
    assert alerts
    assert {a["feature"] for a in alerts} <= {"income", "reconstruction_error"}
    assert "income" in {a["feature"] for a in alerts}
    assert min(a["window"]["last_offset"] for a in alerts) >= 40_000


@pytest.mark.parametrize(
    ("extra", "named"),
    [
        (["--source", "{ref}", "--metrics-port", "9100"], "--metrics-port"),
        (["--source", "{ref}", "--bootstrap-servers", "127.0.0.1:1"], "--bootstrap-servers"),
        (["--source", "{ref}", "--input-topic", "t"], "--input-topic"),
        (["--input-topic", "t", "--alerts-out", "{out}"], "--alerts-path"),
        (["--input-topic", "t", "--alerts-path", "{out}"], "--alerts-path"),
    ],
)
def test_run_flags_that_do_not_apply_are_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], named: str
) -> None:
    """A flag the chosen source has no use for is a one-line error naming it, before any
    work: Kafka and metrics flags with --source, --alerts-out without it."""
    ref = tmp_path / "ref.parquet"
    traffic(2_000, seed=1).drop("id").write_parquet(ref)
    profile = tmp_path / "profile.parquet"
    assert main(["profile", "--data", str(ref), "--out", str(profile)]) == 0
    capsys.readouterr()
    out = tmp_path / "alerts.jsonl"
    args = [a.format(ref=ref, out=out) for a in extra]
    assert main(["run", "--profile", str(profile), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"stream-monitor run: error: {named}: ")
    assert not out.exists()
