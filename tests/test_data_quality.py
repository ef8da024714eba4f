"""Data quality is drift: missing, infinite, out-of-range and unseen shares held to the
reference's by Fisher's exact test and a least practical effect, in the JSON report, the page
and the exit code of ``check-drift --fail-on``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from data_files import write_data
from scipy import stats

from stream_monitor.batch.drift import (
    ColumnDrift,
    Data,
    DriftResult,
    check_drift,
    compare_categorical,
    compare_numeric,
    share_increase_p_value,
)
from stream_monitor.batch.drift_report import build_report, validate_report
from stream_monitor.batch.report_html import render_html
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, EXIT_USAGE, main
from stream_monitor.profile import profile_frame

HOSTILE = "<img src=x onerror=alert(1)>"


def _checks(drift: ColumnDrift) -> dict[str, Any]:
    assert drift.data_quality is not None
    return {c.name: c for c in drift.data_quality.checks}


def _run(
    ref: pl.DataFrame, cur: pl.DataFrame, settings: DriftSettings | None = None
) -> DriftResult:
    return check_drift(Data(ref.lazy(), "ref"), Data(cur.lazy(), "cur"), settings)


@pytest.mark.parametrize(
    ("x_ref", "n_ref", "x_cur", "n_cur"),
    [
        (0, 1000, 10, 1000),
        (3, 50, 9, 60),
        (120, 10_000, 180, 10_000),
        (2, 1_000_000, 16, 1_000_000),
        (500, 1_000_000, 1_500, 500_000),
        (40, 100, 10, 100),  # the share fell
    ],
)
def test_share_test_is_scipy_fisher_exact_one_sided(
    x_ref: int, n_ref: int, x_cur: int, n_cur: int
) -> None:
    """The p-value is scipy's one-sided Fisher exact test of current over reference."""
    table = [[x_cur, n_cur - x_cur], [x_ref, n_ref - x_ref]]
    expected = stats.fisher_exact(table, alternative="greater").pvalue
    assert share_increase_p_value(x_ref, n_ref, x_cur, n_cur) == pytest.approx(expected, rel=1e-9)


def test_half_null_column_drifts_in_quality() -> None:
    """A column half null now (none before) drifts in quality, with the exact counts, though
    its distribution does not move."""
    rng = np.random.default_rng(0)
    ref = pl.DataFrame({"x": rng.normal(0, 1, 4000)})
    values = rng.normal(0, 1, 4000)
    cur = pl.DataFrame({"x": [None if i % 2 else v for i, v in enumerate(values)]})
    (x,) = _run(ref, cur).features
    assert not x.drift_detected
    missing = _checks(x)["missing"]
    assert (missing.reference_count, missing.reference_total) == (0, 4000)
    assert (missing.current_count, missing.current_total) == (2000, 4000)
    assert missing.p_value == pytest.approx(
        stats.fisher_exact([[2000, 2000], [0, 4000]], alternative="greater").pvalue
    )
    assert missing.drift_detected
    assert x.quality_drift_detected
    assert x.drifted


def test_third_infinite_column_drifts_in_quality() -> None:
    """A third of +inf counts as infinite, not missing, and drifts."""
    rng = np.random.default_rng(1)
    ref = rng.normal(0, 1, 3000)
    cur = rng.normal(0, 1, 3000)
    cur[::3] = np.inf
    checks = _checks(compare_numeric(ref, cur))
    assert (checks["infinite"].current_count, checks["infinite"].current_total) == (1000, 3000)
    assert checks["infinite"].drift_detected
    assert checks["missing"].current_count == 0
    assert not checks["missing"].drift_detected


def test_out_of_range_counts_leave_one_out_reference() -> None:
    """The reference's own out-of-range count is its unique extremes; the current one counts
    finite values beyond the reference's range."""
    ref = np.array([0.0, 0.0, 1.0, 2.0, 3.0])  # a tied minimum, a unique maximum
    cur = np.array([-1.0, 0.0, 1.5, 3.0, 4.0, 5.0])
    out = _checks(compare_numeric(ref, cur))["out_of_range"]
    assert (out.reference_count, out.reference_total) == (1, 5)
    assert (out.current_count, out.current_total) == (3, 6)


def test_values_beyond_the_range_drift() -> None:
    """A fifth of the values above the reference maximum is a quality drift."""
    rng = np.random.default_rng(2)
    ref = rng.uniform(0, 1, 5000)
    cur = np.concatenate([rng.uniform(0, 1, 4000), rng.uniform(1, 2, 1000)])
    out = _checks(compare_numeric(ref, cur))["out_of_range"]
    # The 1,000 shifted values, and the few of the others beyond the sample's own extremes.
    assert out.current_count == np.count_nonzero((cur < ref.min()) | (cur > ref.max())) == 1001
    assert out.drift_detected


@pytest.mark.parametrize("n", [200, 2_000, 200_000])
def test_sampling_noise_never_fires(n: int) -> None:
    """Two samples of the same data (heavy tails, 1% nulls and infinities, a long-tailed
    category) never drift in quality, at any size, over 20 seeds."""
    for seed in range(20):
        rng = np.random.default_rng(seed)

        def side(rng: np.random.Generator) -> tuple[np.ndarray[Any, Any], dict[str, int], int]:
            x = rng.standard_cauchy(n)
            x[rng.random(n) < 0.01] = np.nan
            x[rng.random(n) < 0.01] = np.inf
            codes = rng.zipf(1.5, n)
            keys, counts = np.unique(codes, return_counts=True)
            return x, {str(k): int(c) for k, c in zip(keys, counts, strict=True)}, n // 100

        x_ref, c_ref, m_ref = side(rng)
        x_cur, c_cur, m_cur = side(rng)
        numeric = compare_numeric(x_ref, x_cur)
        categorical = compare_categorical(
            c_ref, c_cur, reference_missing=m_ref, current_missing=m_cur
        )
        assert not numeric.quality_drift_detected, (seed, _checks(numeric))
        assert not categorical.quality_drift_detected, (seed, _checks(categorical))


def test_huge_sample_needs_a_practical_effect() -> None:
    """At two million rows 500 new nulls are significant but below the least effect (a
    point, or twice the share and a tenth of a point), so they do not drift; 2,000 do."""
    small = _checks(compare_categorical({"a": 1_000_000}, {"a": 999_500}, current_missing=500))
    assert small["missing"].p_value < 1e-100
    assert small["missing"].current_share == pytest.approx(0.0005)
    assert not small["missing"].drift_detected
    large = _checks(compare_categorical({"a": 1_000_000}, {"a": 998_000}, current_missing=2_000))
    assert large["missing"].drift_detected


def test_unseen_categories_use_good_turing_for_the_reference() -> None:
    """The reference's unseen count is its categories seen once; the current one counts
    values of categories the reference never had."""
    ref = {"a": 500, "b": 498, "rare1": 1, "rare2": 1}
    cur = {"a": 450, "b": 450, "new": 100}
    unseen = _checks(compare_categorical(ref, cur))["unseen_category"]
    assert (unseen.reference_count, unseen.reference_total) == (2, 1000)
    assert (unseen.current_count, unseen.current_total) == (100, 1000)
    assert unseen.drift_detected


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".ndjson"])
def test_all_null_column_is_drift_and_fails_the_run(tmp_path: Path, suffix: str) -> None:
    """A current column with no value (typed, or Null, or text in a CSV) is a feature whose
    data quality drifted, not a warning: --fail-on-drift and --fail-on data_quality exit 1,
    --fail-on feature does not, and the report holds its counts."""
    rng = np.random.default_rng(3)
    ref = pl.DataFrame({"a": rng.normal(0, 1, 500), "gone": rng.normal(0, 1, 500)})
    cur = pl.DataFrame({"a": rng.normal(0, 1, 500), "gone": [None] * 500})
    ref_path = write_data(ref, tmp_path / "ref.parquet")
    cur_path = write_data(cur, tmp_path / f"cur{suffix}")
    out = tmp_path / "r.json"
    argv = [
        "check-drift",
        f"--reference_data_path={ref_path}",
        f"--current_data_path={cur_path}",
        f"--report_path={tmp_path / 'r.html'}",
        f"--json_path={out}",
    ]
    assert main(argv) == EXIT_OK
    assert main([*argv, "--fail-on-drift"]) == EXIT_DRIFT
    assert main([*argv, "--fail-on", "data_quality"]) == EXIT_DRIFT
    assert main([*argv, "--fail-on", "feature", "--fail-on", "label"]) == EXIT_OK
    report = json.loads(out.read_text())
    gone = report["features"]["gone"]
    assert gone["score"] is None
    assert gone["drift_detected"] is False
    assert gone["current"]["count"] == 0
    assert gone["current"]["missing"] == 500
    quality = gone["data_quality"]
    assert quality["drift_detected"] is True
    assert quality["checks"]["missing"] == {
        "reference_count": 0,
        "reference_total": 500,
        "reference_share": 0.0,
        "current_count": 500,
        "current_total": 500,
        "current_share": 1.0,
        "p_value": pytest.approx(stats.fisher_exact([[500, 0], [0, 500]], "greater").pvalue),
        "drift_detected": True,
    }
    assert quality["checks"]["out_of_range"]["current_share"] is None
    assert report["n_drifted_features"] == 1
    assert report["data_quality_drift"] is True
    assert report["dataset_drift"] is True
    assert report["features"]["a"]["data_quality"]["drift_detected"] is False
    assert report["notes"] == []


def test_fail_on_rejects_unknown_choices(capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-on takes only the listed drifts."""
    with pytest.raises(SystemExit) as exited:
        main(["check-drift", "--fail-on", "everything"])
    assert exited.value.code == EXIT_USAGE
    assert "invalid choice: 'everything'" in capsys.readouterr().err


def test_profile_reference_checks_the_same_shares() -> None:
    """Against a profile, nulls, infinities, out-of-range values and new categories are
    checked with the profile's counts."""
    rng = np.random.default_rng(4)
    n = 5000
    ref = pl.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.uniform(0, 1, n),
            "c": rng.choice(["a", "b", "c"], n),
        }
    )
    x = rng.normal(0, 1, n)
    x[: n // 2] = np.nan
    y = rng.uniform(0, 1, n)
    y[: n // 5] += 5
    c = rng.choice(["a", "b", "c"], n).astype(object)
    c[: n // 10] = "brand-new"
    cur = pl.DataFrame({"x": x, "y": y, "c": c.astype(str)})
    profile = profile_frame(ref, source="ref")
    result = check_drift(profile, Data(cur.lazy(), "cur"))
    by_name = {f.name: _checks(f) for f in result.features}
    assert by_name["x"]["missing"].current_count == n // 2
    assert by_name["x"]["missing"].drift_detected
    lo, hi = ref["y"].min(), ref["y"].max()
    assert by_name["y"]["out_of_range"].current_count == np.count_nonzero((y < lo) | (y > hi))
    assert by_name["y"]["out_of_range"].current_count >= n // 5
    assert by_name["y"]["out_of_range"].reference_count == 2
    assert by_name["y"]["out_of_range"].drift_detected
    assert by_name["c"]["unseen_category"].current_count == n // 10
    assert by_name["c"]["unseen_category"].reference_count == 0  # every category kept
    assert by_name["c"]["unseen_category"].drift_detected
    assert not by_name["c"]["missing"].drift_detected


def test_report_and_page_show_quality_escaped() -> None:
    """The JSON report validates with every feature's data quality, and the page shows the
    failed checks in the table and each card, escaping the column name."""
    rng = np.random.default_rng(5)
    ref = pl.DataFrame({HOSTILE: rng.normal(0, 1, 1000), "ok": rng.normal(0, 1, 1000)})
    cur = pl.DataFrame({HOSTILE: [None] * 1000, "ok": rng.normal(0, 1, 1000)})
    report = build_report(_run(ref, cur, DriftSettings()))
    validate_report(report)
    assert report["schema_version"] == 3
    page = render_html(report)
    assert HOSTILE not in page
    assert '<p id="quality-drift">' in page
    assert '<td data-value="1"><span class="badge drift">Missing</span></td>' in page
    assert '<td data-value="0"><span class="badge ok">OK</span></td>' in page
    assert page.count('<table class="stats quality">') == 2
