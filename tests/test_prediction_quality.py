"""``monitor-predictions`` judges the prediction column's data quality as ``check-drift`` does:
exact counts per window and overall, Fisher p-values, a Bonferroni threshold per window, and
``--fail-on data_quality``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from jsonschema import Draft202012Validator
from scipy import stats

from stream_monitor.batch.predictions import (
    PredictionSettings,
    monitor_predictions,
    prediction_monitor_schema,
)
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, main

VALIDATOR = Draft202012Validator(prediction_monitor_schema())


def _fisher(ref: tuple[int, int], cur: tuple[int, int]) -> float:
    """scipy's one-sided Fisher exact test that the current share (count, total) is larger."""
    (x_ref, n_ref), (x_cur, n_cur) = ref, cur
    table = [[x_cur, n_cur - x_cur], [x_ref, n_ref - x_ref]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def _counts(check: dict[str, Any]) -> tuple[int, int, int, int]:
    return (
        check["reference_count"],
        check["reference_total"],
        check["current_count"],
        check["current_total"],
    )


def _argv(ref: Path, cur: Path, out: Path, *extra: str) -> list[str]:
    return [
        "monitor-predictions",
        "--reference_data_path",
        str(ref),
        "--current_data_path",
        str(cur),
        "--prediction",
        "score",
        "--chunk-rows",
        "1000",
        "--json_path",
        str(out),
        *extra,
    ]


@pytest.fixture(scope="module")
def numeric(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A reference of 1000 scores in [0, 1]; four chunks of 1000 current scores inside it,
    the second with 200 nulls, the third with 50 infinities and 100 scores of 5.0."""
    root = tmp_path_factory.mktemp("prediction_quality")
    pl.DataFrame({"score": np.linspace(0.0, 1.0, 1000)}).write_parquet(root / "ref.parquet")
    rng = np.random.default_rng(3)
    values: list[float | None] = [float(v) for v in rng.uniform(0.1, 0.9, 4000)]
    for i in range(1000, 1200):
        values[i] = None
    for i in range(2000, 2050):
        values[i] = float("inf") if i % 2 else float("-inf")
    for i in range(2500, 2600):
        values[i] = 5.0
    pl.DataFrame({"score": values}, schema={"score": pl.Float64}).write_parquet(
        root / "cur.parquet"
    )
    clean = [float(v) for v in rng.uniform(0.1, 0.9, 4000)]
    pl.DataFrame({"score": clean}).write_parquet(root / "clean.parquet")
    return {"root": root, "ref": root / "ref.parquet", "cur": root / "cur.parquet"}


def test_numeric_shares_are_counted_exactly_per_window_and_overall(
    numeric: dict[str, Path], tmp_path: Path
) -> None:
    """Missing, infinite and out-of-range counts are exact, the p-values scipy's, and only
    the windows that hold the bad values drift; the reference's out-of-range count is the
    profile's two extremes (leave-one-out)."""
    out = tmp_path / "out.json"
    assert main(_argv(numeric["ref"], numeric["cur"], out)) == EXIT_OK
    doc = json.loads(out.read_text())
    VALIDATOR.validate(doc)
    assert doc["schema_version"] == 2
    overall = doc["data_quality"]["checks"]
    assert _counts(overall["missing"]) == (0, 1000, 200, 4000)
    assert _counts(overall["infinite"]) == (0, 1000, 50, 4000)
    assert _counts(overall["out_of_range"]) == (2, 1000, 100, 3750)
    for check in overall.values():
        ref, cur = check["reference_count"], check["current_count"]
        expected = _fisher((ref, check["reference_total"]), (cur, check["current_total"]))
        assert check["p_value"] == pytest.approx(expected, rel=1e-9)
        assert check["drift_detected"] is True
    assert doc["data_quality"]["threshold"] == 0.001

    windows = [w["data_quality"] for w in doc["windows"]]
    assert [w["threshold"] for w in windows] == [0.001 / 4] * 4
    assert [sorted(n for n, c in w["checks"].items() if c["drift_detected"]) for w in windows] == [
        [],
        ["missing"],
        ["infinite", "out_of_range"],
        [],
    ]
    second, third = windows[1]["checks"], windows[2]["checks"]
    assert _counts(second["missing"]) == (0, 1000, 200, 1000)
    assert second["missing"]["current_share"] == 0.2
    assert second["missing"]["p_value"] == pytest.approx(_fisher((0, 1000), (200, 1000)), rel=1e-9)
    assert _counts(third["infinite"]) == (0, 1000, 50, 1000)
    assert _counts(third["out_of_range"]) == (2, 1000, 100, 950)
    assert third["out_of_range"]["p_value"] == pytest.approx(
        _fisher((2, 1000), (100, 950)), rel=1e-9
    )
    assert doc["n_quality_drifted_windows"] == 2
    assert doc["data_quality_drift"] is True


def test_fail_on_data_quality_exits_1_and_names_the_checks(
    numeric: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--fail-on data_quality`` exits 1 on drifted data quality and 0 on clean data, even
    when its distribution drifted; the summary line names the drifted checks and the first
    window."""
    out = tmp_path / "out.json"
    capsys.readouterr()
    assert (
        main(_argv(numeric["ref"], numeric["cur"], out, "--fail-on", "data_quality")) == EXIT_DRIFT
    )
    err = capsys.readouterr().out  # the summary: on stdout with --json-path
    assert "data quality drifted (missing, infinite, out_of_range)" in err
    assert "data quality drifted in 2 of 4 windows, first from 1000 (missing)" in err
    clean = numeric["root"] / "clean.parquet"
    assert main(_argv(numeric["ref"], clean, out, "--fail-on", "data_quality")) == EXIT_OK
    assert json.loads(out.read_text())["data_quality_drift"] is False
    # Clean but narrower than the reference: its distribution drifted, its quality did not.
    # The two verdicts are separate; --fail-on-drift is --fail-on drift.
    assert json.loads(out.read_text())["drift_detected"] is True
    assert main(_argv(numeric["ref"], clean, out, "--fail-on", "drift")) == EXIT_DRIFT
    assert main(_argv(numeric["ref"], clean, out, "--fail-on-drift")) == EXIT_DRIFT


def test_categorical_unseen_class_drifts_in_its_window(tmp_path: Path) -> None:
    """A class the reference never produced, 40 times in one chunk of 1000, drifts there with
    scipy's p-value; an all-null chunk drifts in missing whatever the test says."""
    rng = np.random.default_rng(5)
    classes = ["approve", "review", "reject"]
    pl.DataFrame({"score": rng.choice(classes, 3000).tolist()}).write_csv(tmp_path / "ref.csv")
    cur: list[str | None] = rng.choice(classes, 3000).tolist()
    cur[1000:1040] = ["escalate"] * 40
    cur[2000:3000] = [None] * 1000
    pl.DataFrame({"score": cur}, schema={"score": pl.String}).write_parquet(tmp_path / "c.parquet")
    out = tmp_path / "out.json"
    argv = _argv(tmp_path / "ref.csv", tmp_path / "c.parquet", out, "--fail-on", "data_quality")
    assert main(argv) == EXIT_DRIFT
    doc = json.loads(out.read_text())
    VALIDATOR.validate(doc)
    windows = [w["data_quality"]["checks"] for w in doc["windows"]]
    unseen = windows[1]["unseen_category"]
    assert _counts(unseen) == (0, 3000, 40, 1000)
    assert unseen["p_value"] == pytest.approx(_fisher((0, 3000), (40, 1000)), rel=1e-9)
    assert unseen["drift_detected"] is True
    assert not windows[0]["unseen_category"]["drift_detected"]
    assert _counts(windows[2]["missing"]) == (0, 3000, 1000, 1000)
    assert windows[2]["missing"]["drift_detected"] is True
    assert _counts(doc["data_quality"]["checks"]["unseen_category"]) == (0, 3000, 40, 2000)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sampling_noise_never_alerts_but_a_doubled_null_share_does(
    tmp_path: Path, seed: int
) -> None:
    """Sixty windows of 2000 predictions drawn like the reference (5% null) raise no
    data-quality alarm; the same with one window at 10% null flags that window alone."""
    rng = np.random.default_rng(seed)

    def scores(n: int, null_share: float) -> pl.DataFrame:
        values = rng.normal(0.0, 1.0, n)
        nulls = rng.random(n) < null_share
        return pl.DataFrame({"score": values}).with_columns(
            pl.when(pl.Series(nulls)).then(None).otherwise(pl.col("score")).alias("score")
        )

    scores(50_000, 0.05).write_parquet(tmp_path / "ref.parquet")
    noisy = scores(120_000, 0.05)
    noisy.write_parquet(tmp_path / "noisy.parquet")
    settings = PredictionSettings(prediction="score", chunk_rows=2000)
    report = monitor_predictions(tmp_path / "ref.parquet", tmp_path / "noisy.parquet", settings)
    assert report.n_windows == 60
    assert not report.data_quality_drift

    bad = noisy.with_columns(
        pl.when((pl.int_range(pl.len()) // 2000 == 30) & (pl.int_range(pl.len()) % 20 < 1))
        .then(None)
        .otherwise(pl.col("score"))
        .alias("score")
    )
    bad.write_parquet(tmp_path / "bad.parquet")
    report = monitor_predictions(tmp_path / "ref.parquet", tmp_path / "bad.parquet", settings)
    flagged = [w.index for w in report.windows if w.data_quality.drift_detected]
    assert flagged == [30]
    assert report.windows[30].data_quality.drifted_checks == ("missing",)
