"""check-drift's multivariate drift: the PCA reconstruction error of the numeric features
(``stream_monitor.batch.multivariate``), in the result, the JSON report, the page and the
exit codes."""

from __future__ import annotations

import copy
import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from browser import Browser

from stream_monitor import scenarios
from stream_monitor.batch.drift import Data, DriftResult, DriftWarning, check_drift
from stream_monitor.batch.drift_report import build_report, validate_report
from stream_monitor.batch.multivariate import (
    SIGMAS,
    MultivariateDrift,
    compare_reconstruction,
    fit_reconstruction,
)
from stream_monitor.batch.report_html import render_html
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, main
from stream_monitor.errors import ColumnError
from stream_monitor.profile import profile_frame, read_profile, write_profile
from stream_monitor.profile.multivariate import EXPLAINED

NUMERIC = ("normal", "heavy", "count", "amount", "a", "b")
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def flip() -> scenarios.Scenario:
    """Columns a and b correlated +0.8 in the reference and the first 200,000 live rows,
    -0.8 in the last 200,000; every marginal unchanged."""
    return scenarios.make("correlation flips sign", 31)


@pytest.fixture(scope="module")
def flipped(flip: scenarios.Scenario) -> DriftResult:
    """check-drift of the live rows after the flip against the raw reference."""
    after = flip.live.slice(scenarios.BEFORE)
    return check_drift(Data(flip.reference.lazy(), "ref"), Data(after.lazy(), "cur"))


def test_a_correlation_flip_is_multivariate_drift_only(
    flip: scenarios.Scenario, flipped: DriftResult
) -> None:
    """The flip moves the mean error far outside NannyML's band and the error's distribution
    past its threshold, names a and b, and no single feature drifts."""
    m = flipped.multivariate
    assert m is not None
    assert m.features == NUMERIC
    assert (m.components, m.explained_variance) == (4, EXPLAINED)
    # The rows with every feature: amount is 1 % null.
    assert m.current_rows == flip.live.slice(scenarios.BEFORE)["amount"].count() == 197_975
    assert m.reference_mean == pytest.approx(0.93, abs=0.01)
    assert m.current_mean == pytest.approx(1.47, abs=0.01)
    assert (m.current_mean - m.reference_mean) / m.standard_error > 300
    assert m.mean_drift_detected
    assert m.distribution.method == "wasserstein"
    assert m.distribution.score > 1.0 > m.distribution.threshold
    assert m.drift_detected
    assert sorted(m.contributors) == ["a", "b"]
    growth = np.subtract(m.current_residuals, m.reference_residuals)
    assert growth[4] == pytest.approx(0.8, abs=0.05)
    assert growth[5] == pytest.approx(0.8, abs=0.05)
    assert max(growth[:4]) < 0.05
    features = {f.name: f for f in flipped.features}
    assert not features["a"].drifted
    assert not features["b"].drifted
    assert features["a"].score < 0.02
    assert flipped.n_drifted_features == 0
    assert not flipped.dataset_drift


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_stationary_data_is_no_multivariate_drift(seed: int) -> None:
    """No drift on the stationary scenario; with seed 1 the mean alone leaves NannyML's band
    (z = 5.7: the band ignores the reference mean's own error and heavy tails), and the
    distribution score keeps the verdict from firing."""
    stationary = scenarios.make("stationary", seed)
    after = stationary.live.slice(scenarios.BEFORE)
    result = check_drift(Data(stationary.reference.lazy(), "ref"), Data(after.lazy(), "cur"))
    m = result.multivariate
    assert m is not None
    assert not m.drift_detected
    assert m.contributors == ()
    assert m.distribution.score < 0.05
    z = (m.current_mean - m.reference_mean) / m.standard_error
    assert m.mean_drift_detected == (abs(z) > SIGMAS)
    assert m.mean_drift_detected == (seed == 1)


def test_errors_equal_an_independent_eigendecomposition(flip: scenarios.Scenario) -> None:
    """Each row's error is the distance from its standardised values to their projection on
    the top eigenvectors (``numpy.linalg.eigh``) of the standardised covariance."""
    fitted = fit_reconstruction(Data(flip.reference.lazy(), "ref"), NUMERIC)
    assert fitted is not None
    x = np.column_stack([flip.reference[n].cast(pl.Float64).to_numpy() for n in NUMERIC])
    z = (x - np.nanmean(x, axis=0)) / np.nanstd(x, axis=0)
    complete = z[np.all(np.isfinite(z), axis=1)]
    values, vectors = np.linalg.eigh(np.cov(complete, rowvar=False))
    order = np.argsort(values)[::-1]
    k = int(np.searchsorted(np.cumsum(values[order]) / values.sum(), EXPLAINED) + 1)
    top = vectors[:, order[:k]]
    live = flip.live.slice(scenarios.BEFORE, 50_000)
    y = np.column_stack([live[n].cast(pl.Float64).to_numpy() for n in NUMERIC])
    zy = (y - np.nanmean(x, axis=0)) / np.nanstd(x, axis=0)
    expected = np.linalg.norm(zy - zy @ top @ top.T, axis=1)
    errors, squared = fitted.errors(y)
    np.testing.assert_array_equal(np.isnan(errors), np.isnan(expected))
    np.testing.assert_allclose(errors, expected, rtol=1e-9, atol=1e-10, equal_nan=True)
    np.testing.assert_allclose(
        squared.sum(axis=1), expected**2, rtol=1e-9, atol=1e-10, equal_nan=True
    )
    result = check_drift(Data(flip.reference.lazy(), "ref"), Data(live.lazy(), "cur"))
    assert result.multivariate is not None
    assert result.multivariate.current_mean == pytest.approx(np.nanmean(expected), rel=1e-9)
    reference_errors = np.linalg.norm(complete - complete @ top @ top.T, axis=1)
    assert result.multivariate.reference_mean == pytest.approx(reference_errors.mean(), rel=1e-9)
    assert result.multivariate.reference_std == pytest.approx(reference_errors.std(), rel=1e-9)
    assert result.multivariate.standard_error == pytest.approx(
        reference_errors.std() / math.sqrt(np.isfinite(expected).sum()), rel=1e-9
    )


def test_a_profile_reference_gives_the_same_numbers(
    flip: scenarios.Scenario, flipped: DriftResult, tmp_path: Path
) -> None:
    """The profile's stored reconstruction gives the numbers the raw reference gives (within
    rounding: the raw reference's feature bins come from a smaller sample)."""
    path = tmp_path / "ref.profile.parquet"
    write_profile(profile_frame(flip.reference, source="ref"), path)

    after = flip.live.slice(scenarios.BEFORE)
    result = check_drift(read_profile(path), Data(after.lazy(), "cur"))
    m, raw = result.multivariate, flipped.multivariate
    assert m is not None
    assert raw is not None
    assert m.current_mean == pytest.approx(raw.current_mean, rel=1e-12)
    assert m.reference_mean == pytest.approx(raw.reference_mean, rel=1e-12)
    assert m.distribution.score == pytest.approx(raw.distribution.score, rel=1e-9)
    assert m.contributors == raw.contributors
    assert not any(f.drifted for f in result.features)


def test_turned_off_excluded_or_too_few_features(flip: scenarios.Scenario) -> None:
    """multivariate: false gives none; so does one numeric feature; a profile whose
    reconstruction uses an excluded column gives none, with a note saying why."""
    reference, current = Data(flip.reference.lazy(), "ref"), Data(flip.reference.lazy(), "cur")
    assert check_drift(reference, current, DriftSettings(multivariate=False)).multivariate is None
    one = Data(flip.reference.select("a", "city").lazy(), "ref")
    assert check_drift(one, current).multivariate is None
    profile = profile_frame(flip.reference, source="ref")
    result = check_drift(profile, current, DriftSettings(exclude=("heavy",)))
    assert result.multivariate is None
    assert "reconstruction uses the excluded column 'heavy'" in result.notes[-1]


def same_numbers(shared: MultivariateDrift | None, direct: MultivariateDrift) -> None:
    """Every number of the two, to the bit."""
    assert shared is not None
    for name in (
        "features",
        "components",
        "reference_rows",
        "current_rows",
        "reference_mean",
        "reference_std",
        "current_mean",
        "standard_error",
        "reference_residuals",
        "current_residuals",
        "contributors",
    ):
        assert getattr(shared, name) == getattr(direct, name), name
    assert shared.distribution.score == direct.distribution.score


def test_features_read_once_give_the_direct_fit_and_errors(
    flip: scenarios.Scenario, flipped: DriftResult
) -> None:
    """check-drift reads each numeric feature once, for its own score and the multivariate
    drift (``SharedReads``: the fit from each column's piece, the second half of the rows
    scored by another worker); its numbers are those of fitting the features and scoring
    every current row in one go."""
    after = flip.live.slice(scenarios.BEFORE)
    fitted = fit_reconstruction(Data(flip.reference.lazy(), "ref"), NUMERIC)
    assert fitted is not None
    same_numbers(flipped.multivariate, compare_reconstruction(fitted, after))
    assert flipped.multivariate is not None
    assert flipped.multivariate.drift_detected


def test_a_feature_left_out_is_left_out_of_the_fit(flip: scenarios.Scenario) -> None:
    """A numeric feature with no finite reference value is left out of its own comparison
    and of the multivariate drift, which is fitted on the others."""
    reference = flip.reference.with_columns(pl.lit(float("nan")).alias("heavy"))
    after = flip.live.slice(scenarios.BEFORE)
    with pytest.warns(DriftWarning, match="'heavy' has no finite value"):
        result = check_drift(Data(reference.lazy(), "ref"), Data(after.lazy(), "cur"))
    others = [n for n in NUMERIC if n != "heavy"]
    fitted = fit_reconstruction(Data(reference.lazy(), "ref"), others)
    assert fitted is not None
    assert fitted.features == tuple(others)
    same_numbers(result.multivariate, compare_reconstruction(fitted, after))


def test_an_error_in_a_feature_read_for_both_stops_the_job(flip: scenarios.Scenario) -> None:
    """A feature that fails while its reference side is read for the multivariate drift
    stops the job with its error (the fit, waiting for every feature, does not hang)."""
    reference = flip.reference.with_columns(pl.lit("x").alias("heavy"))
    current = flip.live.slice(scenarios.BEFORE).with_columns(pl.lit("x").alias("heavy"))
    settings = DriftSettings(kinds={"heavy": "numeric"})
    with pytest.raises(ColumnError, match="column 'heavy' holds values that are not numbers"):
        check_drift(Data(reference.lazy(), "ref"), Data(current.lazy(), "cur"), settings)


# -- the JSON report and the page --------------------------------------------------------------


def test_report_block_follows_the_schema(flipped: DriftResult) -> None:
    """The JSON block carries the verdicts, errors, band and contributors; a version 2 report
    without the block, or with null, still validates; a verdict that does not match its parts
    does not."""
    report = build_report(flipped)
    validate_report(report)
    block = report["multivariate"]
    assert block["features"] == list(NUMERIC)
    assert block["drift_detected"]
    assert block["mean_drift_detected"]
    assert block["distribution"]["method"] == "wasserstein"
    assert block["lower_threshold"] < block["reference_mean_error"] < block["upper_threshold"]
    assert block["upper_threshold"] < block["current_mean_error"]
    assert sorted(block["contributors"]) == ["a", "b"]
    assert not report["dataset_drift"]
    without = {k: v for k, v in report.items() if k != "multivariate"}
    validate_report(without)
    validate_report(report | {"multivariate": None})
    broken = copy.deepcopy(report)
    broken["multivariate"]["distribution"]["drift_detected"] = False
    with pytest.raises(ValueError, match="multivariate drift_detected"):
        validate_report(broken)


def _hostile_report(flipped: DriftResult) -> dict[str, Any]:
    """The flip's report with a feature renamed to markup."""
    report = build_report(flipped)
    block = report["multivariate"]
    block["features"] = [HOSTILE if n == "a" else n for n in block["features"]]
    block["contributors"] = [HOSTILE if n == "a" else n for n in block["contributors"]]
    block["residuals"] = {HOSTILE if n == "a" else n: v for n, v in block["residuals"].items()}
    validate_report(report)
    return report


def test_page_shows_the_verdict_errors_and_escaped_contributors(flipped: DriftResult) -> None:
    """The page has a Multivariate drift section with the verdict, both mean errors and the
    contributors, names escaped; no section when the block is null."""
    report = _hostile_report(flipped)
    page = render_html(report)
    assert '<h2 id="multivariate">Multivariate drift</h2>' in page
    assert 'id="multivariate-verdict"' in page
    block = report["multivariate"]
    assert f"{block['reference_mean_error']:.4g}" in page
    assert f"{block['current_mean_error']:.4g}" in page
    assert HOSTILE not in page
    assert html.escape(HOSTILE, quote=True) in page
    quiet = render_html(report | {"multivariate": None})
    assert 'id="multivariate"' not in quiet
    assert 'id="multivariate-verdict"' not in quiet


@pytest.mark.browser
def test_section_renders_under_the_policy(
    browser: Browser, flipped: DriftResult, tmp_path: Path
) -> None:
    """In Chromium the section shows the contributors as text; nothing is injected, blocked
    or fetched."""
    page = tmp_path / "report.html"
    page.write_text(render_html(_hostile_report(flipped)), encoding="utf-8")
    browser.open(page)
    contributors = browser.js(
        "return document.getElementById('multivariate-contributors').textContent;"
    )
    assert set(contributors.split(", ")) == {HOSTILE, "b"}
    assert browser.js("return document.querySelectorAll('img').length;") == 0
    assert browser.console() == []
    assert browser.dialogs() == []
    assert browser.requests() == [page.resolve().as_uri()]


# -- the command line --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(flip: scenarios.Scenario, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reference, 50,000 live rows after the flip, and 50,000 before it."""
    folder = tmp_path_factory.mktemp("multivariate")
    paths = {name: folder / f"{name}.parquet" for name in ("ref", "flipped", "same")}
    flip.reference.write_parquet(paths["ref"])
    flip.live.slice(scenarios.BEFORE, 50_000).write_parquet(paths["flipped"])
    flip.live.slice(0, 50_000).write_parquet(paths["same"])
    return paths


def test_exit_codes_with_fail_on_multivariate(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--fail-on multivariate exits 1 on the flip only; --fail-on feature or dataset does not
    see it; --no-multivariate and multivariate: false turn it off."""
    out = tmp_path / "r.json"

    def run(current: str, *extra: str) -> int:
        argv = ["check-drift", "--reference_data_path", str(files["ref"])]
        argv += ["--current_data_path", str(files[current]), "--report_path"]
        return main([*argv, str(tmp_path / "r.html"), "--json_path", str(out), *extra])

    assert run("flipped") == EXIT_OK
    assert "multivariate drift (" in capsys.readouterr().out  # the summary, on stdout
    assert run("flipped", "--fail-on", "multivariate") == EXIT_DRIFT
    assert json.loads(out.read_text())["multivariate"]["drift_detected"]
    assert run("flipped", "--fail-on", "feature", "--fail-on", "dataset") == EXIT_OK
    assert run("same", "--fail-on", "multivariate") == EXIT_OK
    assert not json.loads(out.read_text())["multivariate"]["drift_detected"]
    assert run("flipped", "--fail-on", "multivariate", "--no-multivariate") == EXIT_OK
    assert json.loads(out.read_text())["multivariate"] is None
    config = tmp_path / "cfg.yaml"
    config.write_text("drift:\n  multivariate: false\n")
    assert run("flipped", "--fail-on", "multivariate", "--config", str(config)) == EXIT_OK
    config.write_text("drift:\n  multivariate: 'no'\n")
    assert run("flipped", "--config", str(config)) == 2
    assert "drift.multivariate: must be true or false" in capsys.readouterr().err
