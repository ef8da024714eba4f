"""``stream-monitor monitor-predictions``: windows, scores, the JSON document, errors, exits."""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families

from stream_monitor.batch.predictions import (
    PredictionSettings,
    monitor_predictions,
    prediction_monitor_schema,
)
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, EXIT_USAGE, build_parser
from stream_monitor.config import ProfileSettings
from stream_monitor.detectors import HistogramDrift
from stream_monitor.engine.dataset import numeric_reference
from stream_monitor.errors import UserInputError
from stream_monitor.profile import NumericColumnProfile, build_profile, write_profile
from stream_monitor.profile.build import profile_frame

VALIDATOR = Draft202012Validator(prediction_monitor_schema())
START = dt.datetime(2024, 3, 1)
HOURS = 24
ROWS_PER_HOUR = 2_000
SHIFTED_HOURS = (10, 11, 12, 13)


def _main(argv: Sequence[str]) -> int:
    """Run the subcommand as ``stream_monitor.cli.main`` does: one line and 2 on bad input."""
    args = build_parser("monitor-predictions").parse_args(["monitor-predictions", *argv])
    try:
        code: int = args.func(args)
    except UserInputError as error:
        print(f"stream-monitor {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return code


def _error(capsys: pytest.CaptureFixture[str], argv: Sequence[str]) -> str:
    """Run ``argv`` expecting bad input; return the single error line."""
    capsys.readouterr()
    assert _main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    return err.strip()


def _read(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    VALIDATOR.validate(document)
    return document


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A clean reference and a day of hourly traffic whose scores shift by 1 sd in 10:00-14:00.

    Files: ``ref.parquet`` (data), ``ref_profile.parquet`` (its profile), ``cur.parquet``
    (datetime timestamps) and ``cur.csv`` (the same rows, timestamps as strings).
    """
    root = tmp_path_factory.mktemp("predictions")
    rng = np.random.default_rng(7)
    ref = pl.DataFrame({"score": rng.normal(0.0, 1.0, 30_000), "label": rng.integers(0, 2, 30_000)})
    ref.write_parquet(root / "ref.parquet")
    write_profile(
        build_profile(root / "ref.parquet", ProfileSettings(prediction="score")),
        root / "ref_profile.parquet",
    )
    n = HOURS * ROWS_PER_HOUR
    seconds = np.sort(rng.uniform(0, HOURS * 3600, n))
    hour = (seconds // 3600).astype(np.int64)
    score = rng.normal(0.0, 1.0, n)
    score[np.isin(hour, SHIFTED_HOURS)] += 1.0
    ts = pl.Series("ts", [START + dt.timedelta(seconds=float(s)) for s in seconds])
    cur = pl.DataFrame({"ts": ts, "score": score, "hour": hour})
    # Rows out of time order: the windows must not depend on the file's order.
    cur = cur.sample(fraction=1.0, shuffle=True, seed=1)
    cur.write_parquet(root / "cur.parquet")
    cur.write_csv(root / "cur.csv")
    return {
        "root": root,
        "ref": root / "ref.parquet",
        "profile": root / "ref_profile.parquet",
        "cur": root / "cur.parquet",
        "csv": root / "cur.csv",
    }


def _hourly(ref: Path, cur: Path, out: Path, *extra: str) -> list[str]:
    return [
        "--reference_data_path",
        str(ref),
        "--current_data_path",
        str(cur),
        "--prediction",
        "score",
        "--timestamp",
        "ts",
        "--window",
        "1h",
        "--json_path",
        str(out),
        *extra,
    ]


# -- time windows ----------------------------------------------------------------------


@pytest.mark.parametrize("current", ["cur", "csv"])
def test_hourly_windows_flag_exactly_the_shifted_hours(
    data: dict[str, Path], tmp_path: Path, current: str
) -> None:
    """Hourly windows on datetime or string timestamps flag the four shifted hours, no other."""
    out = tmp_path / "out.json"
    assert _main(_hourly(data["ref"], data[current], out)) == EXIT_OK
    doc = _read(out)
    assert doc["n_windows"] == HOURS
    drifted = [w["index"] for w in doc["windows"] if w["drift_detected"]]
    assert drifted == list(SHIFTED_HOURS)
    assert doc["n_drifted_windows"] == len(SHIFTED_HOURS)
    assert doc["drift_detected"] is True
    assert doc["method"] == "psi"
    assert doc["threshold"] == 0.1
    assert doc["kind"] == "numeric"
    assert doc["windowing"] == {"by": "time", "timestamp": "ts", "every": "1h"}
    assert doc["reference"]["type"] == "data"
    first = doc["windows"][0]
    assert first["start"] == "2024-03-01T00:00:00"
    assert first["end"] == "2024-03-01T01:00:00"
    assert doc["windows"][10]["start"] == "2024-03-01T10:00:00"
    # Rows per window are the rows of that hour.
    hours = pl.read_parquet(data["cur"]).get_column("hour").value_counts().sort("hour")
    assert [w["rows"] for w in doc["windows"]] == hours.get_column("count").to_list()
    assert sum(w["rows"] for w in doc["windows"]) == HOURS * ROWS_PER_HOUR
    # The shifted hours' summaries show the shift; the others do not.
    for window in doc["windows"]:
        expected = 1.0 if window["index"] in SHIFTED_HOURS else 0.0
        assert abs(window["summary"]["mean"] - expected) < 0.1
        assert abs(window["summary"]["p50"] - expected) < 0.1
        assert window["missing"] == 0
        assert window["score"]["threshold"] == 0.1


def test_window_summary_matches_polars(data: dict[str, Path], tmp_path: Path) -> None:
    """A window's mean, p50, min and max are those Polars computes over the same hour."""
    out = tmp_path / "out.json"
    _main(_hourly(data["ref"], data["cur"], out))
    doc = _read(out)
    frame = pl.read_parquet(data["cur"])
    for window in doc["windows"][9:12]:
        values = frame.filter(pl.col("hour") == window["index"]).get_column("score")
        summary = window["summary"]
        assert summary["mean"] == pytest.approx(values.mean(), rel=1e-9)
        assert summary["p50"] == pytest.approx(values.median(), rel=1e-12)
        assert summary["min"] == values.min()
        assert summary["max"] == values.max()
        assert summary["std"] == pytest.approx(values.std(ddof=0), rel=1e-9)


def test_fail_on_drift_exits_1_when_a_window_drifted(data: dict[str, Path], tmp_path: Path) -> None:
    """``--fail-on-drift`` turns drift in any window into exit code 1."""
    out = tmp_path / "out.json"
    assert _main(_hourly(data["ref"], data["cur"], out, "--fail-on-drift")) == EXIT_DRIFT
    assert _read(out)["drift_detected"] is True


def test_no_drift_exits_0_even_with_fail_on_drift(data: dict[str, Path], tmp_path: Path) -> None:
    """Traffic like the reference: no window drifts, exit 0 with ``--fail-on-drift``."""
    rng = np.random.default_rng(3)
    n = 6 * ROWS_PER_HOUR
    clean = pl.DataFrame(
        {
            "ts": [
                START + dt.timedelta(seconds=float(s)) for s in np.sort(rng.uniform(0, 6 * 3600, n))
            ],
            "score": rng.normal(0.0, 1.0, n),
        }
    )
    clean.write_parquet(tmp_path / "clean.parquet")
    out = tmp_path / "out.json"
    argv = _hourly(data["ref"], tmp_path / "clean.parquet", out, "--fail_on_drift")
    assert _main(argv) == EXIT_OK
    doc = _read(out)
    assert doc["n_windows"] == 6
    assert doc["n_drifted_windows"] == 0
    assert doc["drift_detected"] is False
    assert max(w["score"]["value"] for w in doc["windows"]) < 0.02  # noise floor, far below 0.1


def test_profile_reference_gives_the_same_scores_as_the_data(
    data: dict[str, Path], tmp_path: Path
) -> None:
    """A profile of the reference data, as the reference, gives bit-identical window scores."""
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _main(_hourly(data["ref"], data["cur"], a))
    _main(_hourly(data["profile"], data["cur"], b))
    from_data, from_profile = _read(a), _read(b)
    assert from_profile["reference"]["type"] == "profile"
    assert from_profile["reference"]["rows"] == 30_000
    assert [w["score"] for w in from_profile["windows"]] == [
        w["score"] for w in from_data["windows"]
    ]


def test_null_timestamps_and_missing_predictions_are_counted(tmp_path: Path) -> None:
    """Rows with no timestamp are left out and counted; null and NaN predictions are missing."""
    ref = pl.DataFrame({"score": np.linspace(0.0, 1.0, 1_000)})
    ref.write_parquet(tmp_path / "ref.parquet")
    cur = pl.DataFrame(
        {
            "ts": [START, START, None, START + dt.timedelta(hours=1), None],
            "score": [0.5, None, 0.2, float("nan"), 0.1],
        },
        schema={"ts": pl.Datetime("us"), "score": pl.Float64},
    )
    cur.write_parquet(tmp_path / "cur.parquet")
    out = tmp_path / "out.json"
    assert _main(_hourly(tmp_path / "ref.parquet", tmp_path / "cur.parquet", out)) == EXIT_OK
    doc = _read(out)
    assert doc["current"] == {
        "path": str(tmp_path / "cur.parquet"),
        "rows": 5,
        "rows_without_timestamp": 2,
    }
    first, second = doc["windows"]
    assert (first["rows"], first["missing"]) == (2, 1)
    assert (second["rows"], second["missing"]) == (1, 1)
    # A window without a single prediction has no score, and does not count as drift.
    assert second["score"]["value"] is None
    assert second["drift_detected"] is False
    assert second["summary"] == {"mean": None, "std": None, "min": None, "p50": None, "max": None}


def test_timezone_aware_timestamps_keep_their_offset(tmp_path: Path) -> None:
    """Windows on UTC timestamps are reported with their offset."""
    pl.DataFrame({"score": np.linspace(0.0, 1.0, 100)}).write_parquet(tmp_path / "ref.parquet")
    pl.DataFrame(
        {"ts": ["2024-03-01T00:10:00Z", "2024-03-01T02:59:00Z"], "score": [0.1, 0.9]}
    ).write_ndjson(tmp_path / "cur.ndjson")
    out = tmp_path / "out.json"
    _main(_hourly(tmp_path / "ref.parquet", tmp_path / "cur.ndjson", out))
    starts = [w["start"] for w in _read(out)["windows"]]
    assert starts == ["2024-03-01T00:00:00+00:00", "2024-03-01T02:00:00+00:00"]


# -- row chunks ------------------------------------------------------------------------


def test_row_chunks_score_as_the_stream_windows_do(data: dict[str, Path], tmp_path: Path) -> None:
    """Chunks of N rows give exactly the scores of the stream's N-row HistogramDrift windows."""
    out = tmp_path / "out.json"
    argv = [
        "--reference-data-path",
        str(data["ref"]),
        "--current-data-path",
        str(data["cur"]),
        "--prediction",
        "score",
        "--chunk-rows",
        "5000",
        "--method",
        "wasserstein",
        "--json-path",
        str(out),
    ]
    assert _main(argv) == EXIT_OK
    doc = _read(out)
    n = HOURS * ROWS_PER_HOUR
    assert doc["windowing"] == {"by": "rows", "rows": 5000}
    assert doc["n_windows"] == math.ceil(n / 5000)
    assert [(w["start"], w["end"]) for w in doc["windows"][:2]] == [(0, 5000), (5000, 10000)]
    assert doc["windows"][-1]["end"] == n
    assert doc["windows"][-1]["rows"] == n % 5000

    profile = profile_frame(pl.read_parquet(data["ref"]).select("score"), ProfileSettings())
    column = profile.column("score")
    assert isinstance(column, NumericColumnProfile)
    stream = HistogramDrift(numeric_reference(column), window=5000, methods={"wasserstein": None})
    values = pl.read_parquet(data["cur"]).get_column("score").to_numpy()
    closed = stream.update_many(values)
    assert len(closed) == n // 5000
    for window, result in zip(doc["windows"], closed, strict=False):
        assert window["score"]["value"] == result.scores[0].value
        assert window["drift_detected"] == result.drift_detected
    partial = stream.score()[0]
    assert doc["windows"][-1]["score"]["value"] == partial.value


def test_default_windows_are_the_streams_10000_rows(data: dict[str, Path]) -> None:
    """Without --window or --chunk-rows the windows are chunks of 10,000 rows."""
    report = monitor_predictions(data["ref"], data["cur"], PredictionSettings(prediction="score"))
    assert report.windowing == {"by": "rows", "rows": 10_000}
    assert [w.rows for w in report.windows] == [10_000] * 4 + [8_000]


def test_categorical_prediction_flags_its_shifted_chunk(tmp_path: Path) -> None:
    """A class prediction whose mix changes in one chunk: that chunk alone drifts (JS)."""
    rng = np.random.default_rng(11)
    classes = np.array(["approve", "review", "reject"])
    ref = pl.DataFrame({"decision": rng.choice(classes, 20_000, p=[0.7, 0.2, 0.1])})
    ref.write_csv(tmp_path / "ref.csv")
    parts = [rng.choice(classes, 4_000, p=[0.7, 0.2, 0.1]) for _ in range(4)]
    parts[2] = rng.choice(classes, 4_000, p=[0.3, 0.2, 0.5])
    cur = pl.DataFrame({"decision": np.concatenate(parts)})
    cur = cur.with_columns(
        pl.when(pl.int_range(pl.len()) == 3)
        .then(None)
        .otherwise(pl.col("decision"))
        .alias("decision")
    )
    cur.write_parquet(tmp_path / "cur.parquet")
    out = tmp_path / "out.json"
    argv = [
        "--reference_data_path",
        str(tmp_path / "ref.csv"),
        "--current_data_path",
        str(tmp_path / "cur.parquet"),
        "--prediction",
        "decision",
        "--chunk_rows",
        "4000",
        "--json_path",
        str(out),
        "--fail-on-drift",
    ]
    assert _main(argv) == EXIT_DRIFT
    doc = _read(out)
    assert doc["kind"] == "categorical"
    assert doc["method"] == "jensen_shannon"
    assert [w["drift_detected"] for w in doc["windows"]] == [False, False, True, False]
    assert doc["windows"][0]["missing"] == 1
    top = doc["windows"][2]["summary"]["top"]
    assert [t["value"] for t in top] == ["reject", "approve", "review"]
    assert sum(t["share"] for t in top) == pytest.approx(1.0)
    assert doc["windows"][2]["summary"]["other_share"] == 0.0


def test_config_file_supplies_the_settings(data: dict[str, Path], tmp_path: Path) -> None:
    """The predictions: section sets column, windows and method; a flag overrides windowing."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "predictions:\n  prediction: score\n  timestamp: ts\n  window: 6h\n"
        "  method: ks\n  threshold: 0.05\nprofile:\n  target: not_in_this_file\n"
    )
    out = tmp_path / "out.json"
    base = [
        "--reference_data_path",
        str(data["ref"]),
        "--current_data_path",
        str(data["cur"]),
        "--config",
        str(config),
        "--json_path",
        str(out),
    ]
    assert _main(base) == EXIT_OK
    doc = _read(out)
    assert (doc["method"], doc["threshold"], doc["n_windows"]) == ("ks", 0.05, 4)
    assert [w["drift_detected"] for w in doc["windows"]] == [False, True, True, False]
    assert _main([*base, "--chunk-rows", "24000"]) == EXIT_OK
    assert _read(out)["windowing"] == {"by": "rows", "rows": 24_000}


def test_json_goes_to_stdout_without_json_path(
    data: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Without ``--json_path`` the document is printed on stdout, the summary on stderr."""
    argv = [
        "--reference_data_path",
        str(data["profile"]),
        "--current_data_path",
        str(data["cur"]),
        "--prediction",
        "score",
    ]
    assert _main(argv) == EXIT_OK
    captured = capsys.readouterr()
    document = json.loads(captured.out)
    VALIDATOR.validate(document)
    assert captured.err.startswith("stream-monitor monitor-predictions: score: ")
    assert captured.err.count("\n") == 1


def test_metrics_textfile_holds_the_low_cardinality_gauges(
    data: dict[str, Path], tmp_path: Path
) -> None:
    """``--metrics-path`` writes the window count, drifted count, verdict and last score, the
    data-quality verdict and, per check, the share of all rows that failed it."""
    out, prom = tmp_path / "out.json", tmp_path / "metrics.prom"
    _main(_hourly(data["ref"], data["cur"], out, "--metrics-path", str(prom)))
    doc = _read(out)
    samples = [
        s for family in text_string_to_metric_families(prom.read_text()) for s in family.samples
    ]
    common = {"monitor": "stream-monitor", "model": "default", "command": "monitor-predictions"}
    labels = {**common, "prediction": "score", "method": "psi"}
    stamp = "stream_monitor_last_success_timestamp_seconds"
    skip = {"stream_monitor_prediction_quality_share", stamp}
    by_name = {s.name: s for s in samples if s.name not in skip}
    assert [s.labels for s in samples if s.name == stamp] == [common]
    expected = {
        "stream_monitor_prediction_windows": 24.0,
        "stream_monitor_prediction_drift_windows": 4.0,
        "stream_monitor_prediction_drift_detected": 1.0,
        "stream_monitor_prediction_drift_score_last": doc["windows"][-1]["score"]["value"],
        "stream_monitor_prediction_data_quality_drift_detected": 0.0,
    }
    assert set(by_name) == set(expected)
    for name, value in expected.items():
        assert by_name[name].labels == labels
        assert by_name[name].value == pytest.approx(value, rel=1e-15)
    shares = {
        s.labels["check"]: s.value
        for s in samples
        if s.name == "stream_monitor_prediction_quality_share"
    }
    checks = doc["data_quality"]["checks"]
    assert shares == {name: check["current_share"] for name, check in checks.items()}


def test_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The shipped JSON Schema is itself valid."""
    Draft202012Validator.check_schema(prediction_monitor_schema())


# -- errors ----------------------------------------------------------------------------


def test_missing_prediction_column_is_named(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A prediction column missing from the reference, profile or current data is named."""
    out = str(tmp_path / "out.json")
    for ref in (data["ref"], data["profile"]):
        argv = ["--reference_data_path", str(ref), "--current_data_path", str(data["cur"])]
        line = _error(capsys, [*argv, "--prediction", "proba", "--json_path", out])
        assert f"{ref}: prediction column 'proba'" in line
    pl.DataFrame({"proba": [0.1, 0.2]}).write_parquet(tmp_path / "other.parquet")
    argv = ["--reference_data_path", str(tmp_path / "other.parquet")]
    line = _error(capsys, [*argv, "--current_data_path", str(data["cur"]), "--prediction", "proba"])
    assert line == (
        f"stream-monitor monitor-predictions: error: {data['cur']}: prediction column 'proba' "
        "not found; columns: ts, score, hour"
    )


def test_missing_or_non_time_timestamp_column_is_named(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A timestamp column that is missing, numeric or unparseable text is named."""
    out = tmp_path / "out.json"
    line = _error(capsys, [*_hourly(data["ref"], data["cur"], out)[:-2], "--timestamp", "when"])
    assert "timestamp column 'when' not found" in line
    line = _error(
        capsys,
        [
            *_hourly(data["ref"], data["cur"], out)[:6],
            "--timestamp",
            "hour",
            "--window",
            "1h",
        ],
    )
    assert "timestamp column 'hour' has type Int64; expected a datetime" in line
    pl.DataFrame({"ts": ["2024-03-01 00:00", "yesterday"], "score": [0.1, 0.2]}).write_csv(
        tmp_path / "bad.csv"
    )
    line = _error(capsys, _hourly(data["ref"], tmp_path / "bad.csv", out))
    assert f"{tmp_path / 'bad.csv'}: timestamp column 'ts' holds strings that are not" in line


@pytest.mark.parametrize("spec", ["1hour", "h", "0h", "10i", "1.5h", "1 h"])
def test_bad_window_spec_is_rejected(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], spec: str
) -> None:
    """A --window that is not a positive Polars duration names the flag."""
    argv = _hourly(data["ref"], data["cur"], tmp_path / "o.json")
    argv[argv.index("1h")] = spec
    line = _error(capsys, argv)
    assert line.startswith(f"stream-monitor monitor-predictions: error: --window: {spec!r} is")


def test_window_and_chunk_rows_together_are_rejected(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Both --window and --chunk-rows: a usage error, exit 2 (also when one is in the config)."""
    argv = _hourly(data["ref"], data["cur"], tmp_path / "o.json", "--chunk-rows", "100")
    with pytest.raises(SystemExit) as exit_info:
        build_parser("monitor-predictions").parse_args(["monitor-predictions", *argv])
    assert exit_info.value.code == EXIT_USAGE
    assert "not allowed with argument" in capsys.readouterr().err
    config = tmp_path / "c.yaml"
    config.write_text("predictions:\n  window: 1h\n  chunk_rows: 100\n  timestamp: ts\n")
    base = _hourly(data["ref"], data["cur"], tmp_path / "o.json")[:6]
    line = _error(capsys, [*base, "--config", str(config)])
    assert line.endswith(
        f"{config}: predictions.window and {config}: predictions.chunk_rows: give a time "
        "window or a row count, not both"
    )


def test_other_bad_settings_name_their_flag(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Window without timestamp, bad method or threshold, unknown config key: named in one line."""
    base = _hourly(data["ref"], data["cur"], tmp_path / "o.json")[:6]
    cases = {
        ("--window", "1h"): "--window: time windows need a timestamp column (--timestamp)",
        ("--timestamp", "ts"): "--timestamp: a timestamp column needs a time window (--window)",
        ("--method", "bogus"): "--method: unknown method 'bogus'",
        ("--threshold", "-1"): "--threshold: must be a non-negative number, got -1.0",
        ("--threshold", "nan"): "--threshold: must be a non-negative number, got nan",
        ("--chunk-rows", "0"): "--chunk-rows: must be a positive integer, got 0",
    }
    for extra, message in cases.items():
        assert message in _error(capsys, [*base, *extra])
    assert "--prediction: no prediction column given" in _error(capsys, base[:4])
    config = tmp_path / "c.yaml"
    config.write_text("predictions:\n  windows: 1h\n")
    assert f"{config}: predictions.windows: unknown key" in _error(
        capsys, [*base, "--config", str(config)]
    )
    line = _error(capsys, [*base, "--json_path", str(tmp_path / "nowhere" / "o.json")])
    assert "--json_path" in line
    assert "does not exist" in line


def test_method_that_does_not_fit_the_column_is_rejected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """KS on a categorical prediction: a one-line error naming --method."""
    pl.DataFrame({"label": ["a", "b"] * 50}).write_parquet(tmp_path / "ref.parquet")
    argv = [
        "--reference_data_path",
        str(tmp_path / "ref.parquet"),
        "--current_data_path",
        str(tmp_path / "ref.parquet"),
        "--prediction",
        "label",
        "--method",
        "ks",
    ]
    line = _error(capsys, argv)
    assert "--method: ks does not apply to the categorical prediction 'label'" in line


def test_text_prediction_against_a_numeric_reference_is_rejected(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Current predictions of another type than the reference's are a one-line error."""
    pl.DataFrame({"score": ["high", "low"]}).write_parquet(tmp_path / "cur.parquet")
    argv = [
        "--reference_data_path",
        str(data["ref"]),
        "--current_data_path",
        str(tmp_path / "cur.parquet"),
        "--prediction",
        "score",
    ]
    assert "has type String, but it is numeric in the reference" in _error(capsys, argv)


def test_empty_current_file_is_an_error(
    data: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A current file without rows is reported, not scored as zero windows."""
    pl.DataFrame({"score": []}, schema={"score": pl.Float64}).write_parquet(tmp_path / "e.parquet")
    argv = [
        "--reference_data_path",
        str(data["ref"]),
        "--current_data_path",
        str(tmp_path / "e.parquet"),
        "--prediction",
        "score",
    ]
    assert _error(capsys, argv).endswith(f"{tmp_path / 'e.parquet'}: no rows to monitor")
