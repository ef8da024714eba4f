"""``stream-monitor check-degradation``: metrics against independent formulas, thresholds,
baselines, the JSON report and the command line."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import yaml
from data_files import write_data
from jsonschema import Draft202012Validator
from numpy.typing import NDArray
from scipy import stats

from stream_monitor.batch import metrics as m
from stream_monitor.batch.degradation import (
    Columns,
    DegradationSettings,
    Threshold,
    degradation_schema,
    judge,
    load_degradation_settings,
    measure,
    read_baseline,
    read_columns,
    resolve_task,
)
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, build_parser
from stream_monitor.errors import ColumnError, ConfigError, DataFileError, UserInputError

ROOT = Path(__file__).resolve().parents[1]
VALIDATOR = Draft202012Validator(degradation_schema())


# -- helpers -----------------------------------------------------------------------------


def _config(tmp_path: Path, section: dict[str, object]) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"degradation": section}), encoding="utf-8")
    return path


def _parse(*argv: str) -> argparse.Namespace:
    """Parse ``check-degradation`` flags with the command line's parser."""
    return build_parser("check-degradation").parse_args(["check-degradation", *argv])


def _run(*argv: str) -> int:
    args = _parse(*argv)
    code: int = args.func(args)
    return code


def _scored(n: int, *, signal: float, seed: int) -> pl.DataFrame:
    """Binary labels, a score that separates them by ``signal``, and per-period returns."""
    rng = np.random.default_rng(seed)
    label = rng.random(n) < 0.4
    score = np.clip(0.5 + signal * (label - 0.5) + rng.normal(0, 0.25, n), 0, 1)
    returns = rng.normal(0.001 + 0.002 * signal, 0.01, n)
    return pl.DataFrame({"label": label.astype(np.int64), "score": score, "ret": returns})


def _auc_pairs(y: NDArray[np.bool_], s: NDArray[np.float64]) -> float:
    """ROC AUC by brute force over every (positive, negative) pair, ties counting half."""
    pos, neg = s[y], s[~y]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p, q in itertools.product(pos, neg))
    return wins / (pos.size * neg.size)


# -- metrics against independent computations --------------------------------------------


def test_binary_metrics_match_a_hand_computed_confusion_matrix() -> None:
    """tp=3, fp=2, fn=1, tn=2 gives accuracy 5/8, precision 3/5, recall 3/4, F1 6/9."""
    y = np.array([1, 1, 1, 0, 0, 0, 1, 0]) == 1
    p = np.array([1, 0, 1, 0, 1, 0, 1, 1]) == 1
    assert m.accuracy(y, p) == 5 / 8
    precision, recall, f1 = m.binary_precision_recall_f1(y, p)
    assert (precision, recall) == (3 / 5, 3 / 4)
    assert f1 == pytest.approx(6 / 9, abs=1e-15)
    assert f1 == pytest.approx(2 * precision * recall / (precision + recall), abs=1e-15)


def test_binary_metrics_without_predicted_positives_are_zero() -> None:
    """Precision, recall and F1 with a zero denominator are 0, as scikit-learn's zero_division=0."""
    y = np.array([False, False, True])
    assert m.binary_precision_recall_f1(y, np.zeros(3, dtype=bool)) == (0.0, 0.0, 0.0)


def test_macro_metrics_match_per_class_hand_computation() -> None:
    """Three classes: macro averages are the plain means of the per-class values by hand."""
    y = np.array(["cat", "cat", "cat", "dog", "dog", "fox"])
    p = np.array(["cat", "cat", "dog", "dog", "fox", "fox"])
    # cat: P 2/2 R 2/3; dog: P 1/2 R 1/2; fox: P 1/2 R 1/1.
    per_class = [(1.0, 2 / 3), (0.5, 0.5), (0.5, 1.0)]
    f1s = [2 * a * b / (a + b) for a, b in per_class]
    precision, recall, f1 = m.macro_precision_recall_f1(y, p)
    assert precision == pytest.approx(statistics.mean(a for a, _ in per_class), abs=1e-15)
    assert recall == pytest.approx(statistics.mean(b for _, b in per_class), abs=1e-15)
    assert f1 == pytest.approx(statistics.mean(f1s), abs=1e-15)
    assert m.accuracy(y, p) == 4 / 6


def test_macro_metrics_count_labels_only_predicted() -> None:
    """A label that appears only in the predictions is averaged in with precision 0, recall 0."""
    precision, recall, f1 = m.macro_precision_recall_f1(np.array([1, 1, 2]), np.array([1, 3, 2]))
    assert (precision, recall, f1) == pytest.approx(
        ((1 + 1 + 0) / 3, (0.5 + 1 + 0) / 3, (2 / 3 + 1 + 0) / 3)
    )


@pytest.mark.parametrize("seed", range(5))
def test_roc_auc_equals_mann_whitney_u_over_n1_n0_with_ties(seed: int) -> None:
    """ROC AUC equals scipy's U / (n1 n0), the average-rank formula and a pair count, with ties."""
    rng = np.random.default_rng(seed)
    y = rng.random(300) < 0.3
    scores = rng.integers(0, 12, 300).astype(np.float64) + y * rng.integers(0, 3, 300)
    n1, n0 = int(y.sum()), int((~y).sum())
    u = stats.mannwhitneyu(scores[y], scores[~y], alternative="two-sided").statistic
    rank_sum = stats.rankdata(scores)[y].sum()  # average ranks for ties
    auc = m.roc_auc(y, scores)
    assert auc == pytest.approx(u / (n1 * n0), abs=1e-12)
    assert auc == pytest.approx((rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0), abs=1e-12)
    assert auc == pytest.approx(_auc_pairs(y, scores), abs=1e-12)


def test_roc_auc_of_perfect_inverted_and_constant_scores() -> None:
    """Perfect ranking gives 1, inverted 0, a constant score 0.5; one class only is undefined."""
    y = np.array([False, False, True, True])
    assert m.roc_auc(y, np.array([0.1, 0.2, 0.8, 0.9])) == 1.0
    assert m.roc_auc(y, np.array([0.9, 0.8, 0.2, 0.1])) == 0.0
    assert m.roc_auc(y, np.full(4, 0.3)) == 0.5
    with pytest.raises(m.UndefinedMetricError, match="only negatives"):
        m.roc_auc(np.zeros(3, dtype=bool), np.array([0.1, 0.2, 0.3]))


def test_regression_metrics_match_direct_formulas_and_scipy() -> None:
    """MAE and RMSE match plain-Python sums; R² of an OLS fit equals scipy's r²."""
    rng = np.random.default_rng(7)
    x = rng.normal(0, 1, 500)
    y = 3 * x + rng.normal(0, 2, 500)
    fit = stats.linregress(x, y)
    pred = fit.intercept + fit.slope * x
    assert m.mean_absolute_error(y, pred) == pytest.approx(
        sum(abs(a - b) for a, b in zip(y, pred, strict=True)) / 500, rel=1e-12
    )
    assert m.root_mean_squared_error(y, pred) == pytest.approx(
        math.sqrt(sum((a - b) ** 2 for a, b in zip(y, pred, strict=True)) / 500), rel=1e-12
    )
    assert m.r2_score(y, pred) == pytest.approx(fit.rvalue**2, rel=1e-12)
    with pytest.raises(m.UndefinedMetricError, match="constant"):
        m.r2_score(np.ones(3), np.array([1.0, 2.0, 3.0]))


def test_sharpe_ratio_matches_statistics_module_and_annualises_by_sqrt_periods() -> None:
    """Sharpe is mean / sample stdev (ddof=1), times sqrt(periods_per_year) when given."""
    returns = np.random.default_rng(11).normal(0.0005, 0.01, 250)
    plain = statistics.mean(returns.tolist()) / statistics.stdev(returns.tolist())
    assert m.sharpe_ratio(returns) == pytest.approx(plain, rel=1e-12)
    assert m.sharpe_ratio(returns, periods_per_year=252) == pytest.approx(
        plain * math.sqrt(252), rel=1e-12
    )
    with pytest.raises(m.UndefinedMetricError, match="at least 2 returns"):
        m.sharpe_ratio(np.array([0.01]))
    with pytest.raises(m.UndefinedMetricError, match="constant"):
        m.sharpe_ratio(np.full(5, 0.01))


# -- metrics of data files ---------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ndjson"])
def test_scores_are_thresholded_and_ranked_from_any_file_format(
    tmp_path: Path, suffix: str
) -> None:
    """A float prediction is a score: labels are score >= decision_threshold, AUC uses scores."""
    frame = _scored(2000, signal=0.4, seed=1)
    data = write_data(frame, tmp_path / f"d{suffix}")
    settings = DegradationSettings(decision_threshold=0.6, periods_per_year=252)
    columns = Columns("label", "score", "ret")
    measured = measure(
        read_columns(data, columns), columns, task="classification", settings=settings, source=data
    )
    y = frame["label"].to_numpy() == 1
    s = frame["score"].to_numpy()
    p = s >= 0.6
    u = stats.mannwhitneyu(s[y], s[~y]).statistic
    got = {name: value.value for name, value in measured.metrics.items()}
    tp, fp, fn = (y & p).sum(), (~y & p).sum(), (y & ~p).sum()
    assert got == pytest.approx(
        {
            "accuracy": float(np.mean(y == p)),
            "precision": float((y & p).sum() / p.sum()),
            "recall": float((y & p).sum() / y.sum()),
            "f1": 2 * tp / (2 * tp + fp + fn),
            "roc_auc": u / (y.sum() * (~y).sum()),
            "sharpe": statistics.mean(frame["ret"].to_list())
            / statistics.stdev(frame["ret"].to_list())
            * math.sqrt(252),
        },
        rel=1e-9,
    )
    assert (measured.rows, measured.rows_scored, measured.rows_returns) == (2000, 2000, 2000)


def test_label_predictions_have_no_roc_auc_and_say_why(tmp_path: Path) -> None:
    """A boolean prediction is a label: metrics come from it; ROC AUC is null, with a reason."""
    frame = pl.DataFrame({"y": [True, True, False, False], "p": [True, False, False, True]})
    columns = Columns("y", "p")
    measured = measure(
        frame, columns, task="classification", settings=DegradationSettings(), source="f"
    )
    assert measured.metrics["accuracy"].value == 0.5
    assert measured.metrics["roc_auc"].value is None
    assert measured.metrics["roc_auc"].reason == "the prediction is a label, not a score"


def test_integer_predictions_against_integer_targets_are_labels() -> None:
    """An integer prediction of an integer 0/1 target is a label, unless prediction_type: score."""
    frame = pl.DataFrame({"y": [1, 1, 0, 0], "p": [1, 0, 0, 0]})
    columns = Columns("y", "p")
    label = measure(
        frame, columns, task="classification", settings=DegradationSettings(), source="f"
    )
    score = measure(
        frame,
        columns,
        task="classification",
        settings=DegradationSettings(prediction_type="score"),
        source="f",
    )
    assert label.metrics["roc_auc"].value is None
    assert score.metrics["roc_auc"].value == 0.75  # (1 + 0.5) / 2 pairs won, one tie
    assert label.metrics["recall"] == score.metrics["recall"]


def test_text_labels_need_positive_label_for_binary_metrics() -> None:
    """With positive_label 'bad', 'bad'/'good' text is binary; without it, macro-averaged."""
    frame = pl.DataFrame(
        {"y": ["bad", "bad", "good", "good", "good"], "p": ["bad", "good", "good", "good", "bad"]}
    )
    columns = Columns("y", "p")
    binary = measure(
        frame,
        columns,
        task="classification",
        settings=DegradationSettings(positive_label="bad"),
        source="f",
    )
    macro = measure(
        frame, columns, task="classification", settings=DegradationSettings(), source="f"
    )
    assert (binary.metrics["precision"].value, binary.metrics["recall"].value) == (0.5, 0.5)
    # bad: P 1/2 R 1/2; good: P 2/3 R 2/3.
    assert macro.metrics["precision"].value == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert macro.metrics["roc_auc"].value is None
    assert "multiclass" in str(macro.metrics["roc_auc"].reason)


def test_rows_without_target_or_prediction_are_left_out(tmp_path: Path) -> None:
    """Nulls and NaNs in the target or prediction drop the row; returns keep their own rows."""
    frame = pl.DataFrame(
        {
            "y": [1.0, 2.0, None, 4.0, 5.0],
            "p": [1.5, float("nan"), 3.0, 4.0, 4.0],
            "r": [0.01, 0.02, None, -0.01, 0.03],
        }
    )
    data = write_data(frame, tmp_path / "d.parquet")
    columns = Columns("y", "p", "r")
    measured = measure(
        read_columns(data, columns),
        columns,
        task="regression",
        settings=DegradationSettings(),
        source=data,
    )
    assert (measured.rows, measured.rows_scored, measured.rows_returns) == (5, 3, 4)
    assert measured.metrics["mae"].value == pytest.approx((0.5 + 0 + 1) / 3)
    assert measured.metrics["rmse"].value == pytest.approx(math.sqrt((0.25 + 0 + 1) / 3))


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (pl.Series([0.0, 1.0, None, 1.0]), "classification"),
        (pl.Series([0.5, 1.0, 2.0, 3.0]), "regression"),
        (pl.Series([1, 2, 3, 4]), "classification"),
        (pl.Series(["a", "b", "a", "b"]), "classification"),
    ],
)
def test_task_is_inferred_from_the_target_when_not_given(target: pl.Series, expected: str) -> None:
    """A float target is regression unless it holds only 0 and 1; others are classification."""
    frame = pl.DataFrame({"y": target, "p": [1, 0, 1, 0]})
    task = resolve_task(
        frame, Columns("y", "p"), flag=None, settings=DegradationSettings(), baseline=None
    )
    assert task == expected


# -- thresholds ---------------------------------------------------------------------------


def test_relative_drop_of_exactly_max_drop_is_not_degraded() -> None:
    """0.80 -> 0.76 is a 5% drop: not degraded at max_drop 5%; 0.7599 is."""
    rule = Threshold(max_drop=0.05)
    assert not judge("accuracy", 0.80, 0.76, rule).degraded
    judged = judge("accuracy", 0.80, 0.7599, rule)
    assert judged.degraded
    assert judged.reason == "dropped 5.01% (more than 5%)"
    assert judged.change == pytest.approx(-0.0401)
    assert judged.relative_change == pytest.approx(-0.0401 / 0.80)


def test_error_metrics_degrade_when_they_rise() -> None:
    """For MAE and RMSE a 'drop' is a relative rise: 2.0 -> 2.2 is 10% worse, 2.0 -> 1.0 fine."""
    rule = Threshold(max_drop=0.05)
    risen = judge("rmse", 2.0, 2.2, rule)
    assert risen.degraded
    assert risen.reason == "rose 10% (more than 5%)"
    assert not judge("mae", 2.0, 1.0, rule).degraded
    assert rule.describe(higher_is_better=False) == "relative increase <= 5%"


def test_absolute_bounds_apply_without_a_baseline() -> None:
    """min and max judge the current value alone; a missing baseline skips only max_drop."""
    rule = Threshold(min=0.7, max_drop=0.1)
    low = judge("roc_auc", None, 0.65, rule, baseline_reason="not in the baseline")
    assert low.degraded
    assert low.reason == "below min 0.7; no baseline value: not in the baseline"
    assert not judge("roc_auc", None, 0.75, rule).degraded
    high = judge("rmse", 1.0, 10.5, Threshold(max=10.0))
    assert high.degraded
    assert high.reason == "above max 10"
    assert Threshold(min=0.7, max_drop=0.1).describe(higher_is_better=True) == (
        "relative drop <= 10% and >= 0.7"
    )


def test_zero_baseline_degrades_on_any_worsening() -> None:
    """With a baseline of 0 the relative change is null and any worsening is degraded."""
    worse = judge("mae", 0.0, 0.001, Threshold(max_drop=0.5))
    assert worse.degraded
    assert worse.relative_change is None
    assert not judge("mae", 0.0, 0.0, Threshold(max_drop=0.5)).degraded
    assert not judge("sharpe", 0.0, 0.3, Threshold(max_drop=0.5)).degraded


def test_negative_baseline_drops_are_relative_to_its_magnitude() -> None:
    """A Sharpe of -1.0 falling to -1.2 is a 20% drop (relative to |baseline|)."""
    judged = judge("sharpe", -1.0, -1.2, Threshold(max_drop=0.1))
    assert judged.degraded
    assert judged.relative_change == pytest.approx(-0.2)


def test_a_metric_without_current_value_is_never_degraded() -> None:
    """An undefined current value (e.g. one class only) is reported with its reason, not flagged."""
    judged = judge("roc_auc", 0.8, None, Threshold(min=0.9), current_reason="one class only")
    assert not judged.degraded
    assert judged.reason == "no current value: one class only"


def test_settings_default_to_5_percent_and_take_per_metric_rules(tmp_path: Path) -> None:
    """Metrics without an entry get the section's max_drop (default 5%); entries replace it."""
    assert DegradationSettings().threshold("f1") == Threshold(max_drop=0.05)
    path = _config(
        tmp_path,
        {
            "max_drop": 0.1,
            "task": "regression",
            "periods_per_year": 252,
            "metrics": {"rmse": {"max": 3}, "r2": {"min": 0.5, "max_drop": 0.02}, "mae": None},
        },
    )
    settings = load_degradation_settings(path)
    assert settings.threshold("sharpe") == Threshold(max_drop=0.1)
    assert settings.threshold("rmse") == Threshold(max=3.0)
    assert settings.threshold("r2") == Threshold(min=0.5, max_drop=0.02)
    assert settings.threshold("mae").describe(higher_is_better=False) == "not checked"
    assert (settings.task, settings.periods_per_year) == ("regression", 252.0)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"metrics": {"auc": {"min": 0.7}}}, r"degradation\.metrics\.auc: unknown metric"),
        ({"metrics": {"f1": {"minimum": 0.7}}}, r"degradation\.metrics\.f1\.minimum: unknown key"),
        ({"metrics": {"f1": {"min": "high"}}}, r"degradation\.metrics\.f1\.min: must be a number"),
        ({"metrics": {"f1": {"max_drop": -1}}}, r"metrics\.f1\.max_drop: must be at least 0"),
        ({"metrics": {"f1": {"min": 0.9, "max": 0.1}}}, r"metrics\.f1: min 0\.9 is greater"),
        ({"max_drop": "5%"}, r"degradation\.max_drop: must be a finite number"),
        ({"task": "ranking"}, r"degradation\.task: must be one of classification, regression"),
        ({"periods_per_year": 0}, r"degradation\.periods_per_year: must be positive"),
        ({"prediction_type": "prob"}, r"degradation\.prediction_type: must be one of auto"),
        ({"positive_label": 0.5}, r"degradation\.positive_label: must be text, an integer"),
        ({"threshold": 0.5}, r"degradation\.threshold: unknown key"),
    ],
)
def test_bad_settings_are_one_line_errors_naming_file_and_key(
    tmp_path: Path, section: dict[str, object], message: str
) -> None:
    """Every invalid degradation: setting is a ConfigError naming the config file and key."""
    path = _config(tmp_path, section)
    with pytest.raises(ConfigError, match=message) as caught:
        load_degradation_settings(path)
    assert str(caught.value).startswith(f"{path}: ")
    assert "\n" not in str(caught.value)


def test_example_config_and_docs_cover_every_metric() -> None:
    """config/degradation.example.yaml loads; docs/degradation.md names every metric."""
    settings = load_degradation_settings(ROOT / "config" / "degradation.example.yaml")
    assert settings.metrics
    text = (ROOT / "docs" / "degradation.md").read_text(encoding="utf-8")
    for name in m.METRICS:
        assert f"`{name}`" in text, name


# -- command line and baselines ------------------------------------------------------------


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """A reference with a strong score, a degraded current file and a healthy one."""
    return {
        "ref": write_data(_scored(3000, signal=0.6, seed=1), tmp_path / "ref.parquet"),
        "bad": write_data(_scored(3000, signal=0.2, seed=2), tmp_path / "bad.csv"),
        "good": write_data(_scored(3000, signal=0.6, seed=3), tmp_path / "good.ndjson"),
    }


def test_cli_degraded_exits_1_only_with_fail_on_degradation(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """A degraded model exits 1 with --fail-on-degradation and 0 without; the report fits."""
    out = tmp_path / "report.json"
    common = [
        "--current_data_path",
        str(files["bad"]),
        "--target",
        "label",
        "--prediction",
        "score",
    ]
    common += ["--reference_data_path", str(files["ref"]), "--json_path", str(out)]
    assert _run(*common) == EXIT_OK
    assert _run(*common, "--fail-on-degradation") == EXIT_DRIFT
    document = json.loads(out.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert document["degraded"] is True
    assert document["baseline"]["kind"] == "reference"
    assert set(document["metrics"]) == {"accuracy", "precision", "recall", "f1", "roc_auc"}
    auc = document["metrics"]["roc_auc"]
    assert auc["degraded"] is True
    assert auc["relative_change"] == pytest.approx(
        (auc["current"] - auc["baseline"]) / auc["baseline"]
    )
    assert auc["threshold"] == {
        "min": None,
        "max": None,
        "max_drop": 0.05,
        "description": "relative drop <= 5%",
    }
    stdout = capsys.readouterr().out
    assert stdout.startswith("DEGRADED: classification, 3000 rows of ")
    assert "  roc_auc   baseline " in stdout


def test_cli_healthy_model_exits_0_even_with_fail_on_degradation(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    """Same signal in current and reference stays within 5%: exit 0 and degraded false."""
    out = tmp_path / "r.json"
    code = _run(
        "--current-data-path", str(files["good"]), "--target", "label", "--prediction", "score",
        "--reference-data-path", str(files["ref"]), "--json-path", str(out),
        "--fail_on_degradation",
    )  # fmt: skip
    assert code == EXIT_OK
    document = json.loads(out.read_text(encoding="utf-8"))
    VALIDATOR.validate(document)
    assert document["degraded"] is False


def test_saved_baseline_gives_the_same_verdicts_as_the_reference(
    tmp_path: Path, files: dict[str, Path]
) -> None:
    """--save-baseline writes the reference's metrics; --baseline then reproduces the report."""
    saved, first, second = tmp_path / "baseline.json", tmp_path / "a.json", tmp_path / "b.json"
    base = ["--current_data_path", str(files["bad"]), "--target", "label"]
    base += ["--prediction", "score", "--returns", "ret"]
    _run(*base, "--reference_data_path", str(files["ref"]), "--save-baseline", str(saved),
         "--json_path", str(first))  # fmt: skip
    _run(*base, "--baseline", str(saved), "--json_path", str(second))
    document = json.loads(saved.read_text(encoding="utf-8"))
    assert set(document) == {
        "schema_version", "task", "metrics", "rows", "created_at", "source", "settings",
    }  # fmt: skip
    assert (document["schema_version"], document["task"], document["rows"]) == (
        1,
        "classification",
        3000,
    )
    baseline = read_baseline(saved)
    assert baseline.metrics == document["metrics"]
    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    assert a["metrics"] == b["metrics"]
    assert "sharpe" in a["metrics"]
    assert b["baseline"] == {
        "kind": "file",
        "path": str(saved),
        "rows": 3000,
        "created_at": document["created_at"],
    }


def test_regression_with_absolute_thresholds_and_metrics_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression judged by absolute bounds from --config; the textfile holds every metric."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, 1000)
    ref = pl.DataFrame({"y": x, "yhat": x + rng.normal(0, 0.5, 1000)})
    cur = pl.DataFrame({"y": x, "yhat": x + rng.normal(0, 1.5, 1000)})
    ref_path, cur_path = (
        write_data(ref, tmp_path / "r.parquet"),
        write_data(cur, tmp_path / "c.parquet"),
    )
    config = _config(
        tmp_path, {"metrics": {"rmse": {"max": 1.0}, "mae": {"max": 5.0}, "r2": {"min": 0.0}}}
    )
    prom, out = tmp_path / "m.prom", tmp_path / "r.json"
    code = _run(
        "--current_data_path", str(cur_path), "--target", "y", "--prediction", "yhat",
        "--reference_data_path", str(ref_path), "--config", str(config),
        "--metrics-path", str(prom), "--json_path", str(out), "--fail-on-degradation",
    )  # fmt: skip
    assert code == EXIT_DRIFT
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["task"] == "regression"
    verdicts = {name: entry["degraded"] for name, entry in document["metrics"].items()}
    assert verdicts == {"mae": False, "rmse": True, "r2": True}
    rmse = math.sqrt(float(np.mean((cur["y"] - cur["yhat"]).to_numpy() ** 2)))
    assert document["metrics"]["rmse"]["current"] == pytest.approx(rmse, rel=1e-12)
    text = prom.read_text(encoding="utf-8")
    assert (
        'stream_monitor_model_degraded{command="check-degradation",model="default",'
        'monitor="stream-monitor"} 1.0' in text
    )
    assert (
        'stream_monitor_model_metric{command="check-degradation",metric="rmse",'
        'model="default",monitor="stream-monitor",source="current"}' in text
    )
    assert (
        'stream_monitor_model_metric_degraded{command="check-degradation",metric="mae",'
        'model="default",monitor="stream-monitor"} 0.0' in text
    )


def test_mismatched_baseline_settings_are_refused(tmp_path: Path, files: dict[str, Path]) -> None:
    """A baseline computed at another decision_threshold cannot judge this run."""
    saved = tmp_path / "b.json"
    flags = ["--current_data_path", str(files["bad"]), "--target", "label", "--prediction", "score"]
    _run(*flags, "--reference_data_path", str(files["ref"]), "--baseline-path", str(saved))
    config = _config(tmp_path, {"decision_threshold": 0.7})
    with pytest.raises(
        ConfigError, match=r"computed with decision_threshold 0\.5, this run uses 0\.7"
    ):
        _run(*flags, "--baseline", str(saved), "--config", str(config))
    with pytest.raises(ConfigError, match=r"--baseline: holds classification metrics, but --task"):
        _run(*flags, "--baseline", str(saved), "--task", "regression")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{not json", r"invalid JSON at line 1"),
        ('{"schema_version": 2}', r"schema_version: this build reads version 1, got 2"),
        ('{"schema_version": 1, "task": "ranking"}', r"task: must be one of"),
        (
            '{"schema_version": 1, "task": "regression", "metrics": {"mse": 1}}',
            r"metrics\.mse: unknown metric",
        ),
        (
            '{"schema_version": 1, "task": "regression", "metrics": {"mae": "1"}}',
            r"metrics\.mae: must be a number or null",
        ),
        (
            '{"schema_version": 1, "task": "regression", "metrics": {}, "rows": -1}',
            r"rows: must be a non-negative integer",
        ),
    ],
)
def test_bad_baseline_files_name_the_file_and_key(
    tmp_path: Path, document: str, message: str
) -> None:
    """A malformed baseline file is a one-line ConfigError naming --baseline, file and key."""
    path = tmp_path / "b.json"
    path.write_text(document, encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^--baseline {path}: {message}"):
        read_baseline(path)


@pytest.mark.parametrize(
    ("frame", "argv", "error", "message"),
    [
        (
            pl.DataFrame({"label": [1, 0], "score": [0.1, 0.9]}),
            ["--target", "labl", "--prediction", "score"],
            ColumnError,
            r"cur\.csv: no column 'labl' \(--target\); the file has label, score",
        ),
        (
            pl.DataFrame({"label": [1, 0], "score": [0.1, 0.9]}),
            ["--target", "label", "--prediction", "score", "--returns", "pnl"],
            ColumnError,
            r"no column 'pnl' \(--returns\)",
        ),
        (
            pl.DataFrame({"y": [1.0, 2.0], "p": ["a", "b"]}),
            ["--target", "y", "--prediction", "p", "--task", "regression"],
            ColumnError,
            r"cur\.csv: --prediction column 'p' is String; regression needs numbers",
        ),
        (
            pl.DataFrame({"y": [1.0, 2.0], "p": [1.0, 2.0]}).head(0),
            ["--target", "y", "--prediction", "p"],
            DataFileError,
            r"cur\.csv: no rows",
        ),
        (
            pl.DataFrame({"y": [None, 1.0], "p": [1.0, None]}),
            ["--target", "y", "--prediction", "p"],
            ColumnError,
            r"no row has both a --target \('y'\) and a --prediction \('p'\)",
        ),
        (
            pl.DataFrame({"y": ["a", "b"], "p": [True, False]}),
            ["--target", "y", "--prediction", "p", "--config", "{config}"],
            ConfigError,
            r"degradation\.positive_label True cannot match the text --target column",
        ),
        (
            pl.DataFrame({"y": [1, 0], "p": [0.3, 0.6]}),
            ["--target", "y", "--prediction", "y"],
            ConfigError,
            r"--prediction: column 'y' is the --target too",
        ),
    ],
)
def test_bad_input_is_a_one_line_error_naming_file_column_or_flag(
    tmp_path: Path,
    frame: pl.DataFrame,
    argv: list[str],
    error: type[UserInputError],
    message: str,
) -> None:
    """Missing columns, wrong types, empty data and bad flags raise one-line UserInputErrors."""
    cur = write_data(frame, tmp_path / "cur.csv")
    config = _config(tmp_path, {"positive_label": True})
    argv = [a.format(config=config) for a in argv]
    with pytest.raises(error, match=message) as caught:
        _run("--current_data_path", str(cur), "--reference_data_path", str(cur), *argv)
    assert "\n" not in str(caught.value)


def test_save_baseline_needs_reference_data(tmp_path: Path) -> None:
    """--baseline-path (--save-baseline) with --baseline is refused before any file is read or
    written, in one line naming the flag."""
    saved = tmp_path / "copy.json"
    with pytest.raises(ConfigError, match=r"^--baseline-path: needs --reference_data_path"):
        _run(
            "--current_data_path", "c.csv", "--target", "y", "--prediction", "p",
            "--baseline", "b.json", "--save-baseline", str(saved),
        )  # fmt: skip
    assert not saved.exists()


def test_baseline_and_reference_are_mutually_exclusive_and_one_is_required() -> None:
    """argparse rejects both --baseline and --reference_data_path, and neither (exit 2)."""
    flags = ["--current_data_path", "c.csv", "--target", "y", "--prediction", "p"]
    with pytest.raises(SystemExit) as both:
        _parse(*flags, "--baseline", "b.json", "--reference_data_path", "r.csv")
    with pytest.raises(SystemExit) as neither:
        _parse(*flags)
    assert both.value.code == neither.value.code == 2
