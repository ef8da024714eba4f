"""``check-degradation`` reports the target's and the prediction's missing values and flags a
column that is mostly null, without changing the verdict or the exit code."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from jsonschema import Draft202012Validator
from prometheus_client.parser import text_string_to_metric_families

from stream_monitor.batch.degradation import degradation_schema
from stream_monitor.cli import EXIT_OK, EXIT_USAGE, main

VALIDATOR = Draft202012Validator(degradation_schema())


def _frame(n: int, *, null_labels: int = 0, nan_scores: int = 0, seed: int = 0) -> pl.DataFrame:
    """``n`` rows of a 0/1 label and a score that tracks it; the first ``null_labels`` labels
    null, the last ``nan_scores`` scores NaN."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 2, n)
    score = np.clip(label * 0.6 + rng.uniform(0.0, 0.4, n), 0.0, 1.0)
    score[n - nan_scores :] = np.nan
    labels: list[int | None] = [int(v) for v in label]
    labels[:null_labels] = [None] * null_labels
    return pl.DataFrame({"y": labels, "p": score}, schema={"y": pl.Int64, "p": pl.Float64})


def _argv(ref: Path, cur: Path, out: Path, *extra: str) -> list[str]:
    return [
        "check-degradation",
        "--current_data_path",
        str(cur),
        "--reference_data_path",
        str(ref),
        "--target",
        "y",
        "--prediction",
        "p",
        "--task",
        "classification",
        "--json_path",
        str(out),
        *extra,
    ]


def test_mostly_null_label_is_flagged_with_exact_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """700 of 1000 labels null and 100 scores NaN: the report counts both exactly, flags the
    label column alone as mostly null, the summary warns, and the exit code is unchanged."""
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    _frame(1000).write_parquet(ref)
    _frame(1000, null_labels=700, nan_scores=100, seed=1).write_parquet(cur)
    out, prom = tmp_path / "report.json", tmp_path / "m.prom"
    capsys.readouterr()
    code = main([*_argv(ref, cur, out, "--metrics-path", str(prom)), "--fail-on-degradation"])
    doc = json.loads(out.read_text())
    VALIDATOR.validate(doc)
    assert doc["schema_version"] == 2
    assert doc["current"]["missing"] == {
        "target": {"count": 700, "share": 0.7, "mostly_null": True},
        "prediction": {"count": 100, "share": 0.1, "mostly_null": False},
    }
    assert doc["current"]["rows_scored"] == 200
    # The metrics on the 200 scored rows hold up: the flag warns, it does not fail the run.
    assert doc["degraded"] is False
    assert code == EXIT_OK
    stdout = capsys.readouterr().out
    assert "WARNING: target 'y' is 70.0% null: the metrics come from the other rows only" in stdout
    assert "prediction 'p'" not in stdout
    shares = {
        s.labels["role"]: s.value
        for family in text_string_to_metric_families(prom.read_text())
        for s in family.samples
        if s.name == "stream_monitor_model_column_missing_share"
    }
    assert shares == {"target": 0.7, "prediction": 0.1}


def test_half_null_is_not_mostly_null(tmp_path: Path) -> None:
    """Exactly half the predictions missing is not more than half: no flag."""
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    _frame(400).write_parquet(ref)
    _frame(400, nan_scores=200, seed=2).write_parquet(cur)
    out = tmp_path / "report.json"
    assert main(_argv(ref, cur, out)) == EXIT_OK
    missing = json.loads(out.read_text())["current"]["missing"]
    assert missing["prediction"] == {"count": 200, "share": 0.5, "mostly_null": False}
    assert missing["target"] == {"count": 0, "share": 0.0, "mostly_null": False}


def test_all_null_label_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A label column with no value leaves no row to score: exit 2, naming the columns."""
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    _frame(100).write_parquet(ref)
    _frame(100, null_labels=100).write_parquet(cur)
    capsys.readouterr()
    assert main(_argv(ref, cur, tmp_path / "report.json")) == EXIT_USAGE
    assert "no row has both a --target ('y') and a --prediction ('p')" in capsys.readouterr().err
