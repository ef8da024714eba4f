"""Multivariate drift: PCA on the reference's numeric features, and its reconstruction error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from stream_monitor import scenarios
from stream_monitor.config import ProfileSettings
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import Profile
from stream_monitor.profile.multivariate import EXPLAINED, standardised_covariance
from stream_monitor.profile.store import read_profile, write_profile
from stream_monitor.stream.pipeline import Pipeline
from stream_monitor.stream.settings import StreamSettings


@pytest.fixture(scope="module")
def flip() -> scenarios.Scenario:
    """Columns a and b correlated +0.8 until live row 200,000, then -0.8."""
    return scenarios.make("correlation flips sign", 31)


@pytest.fixture(scope="module")
def profile(flip: scenarios.Scenario) -> Profile:
    """The profile of the scenario's reference."""
    return profile_frame(flip.reference, source="reference")


@pytest.mark.parametrize(("rows", "features"), [(2, 2), (1_000, 3), (200_000, 20)])
def test_covariance_is_numpys(rows: int, features: int) -> None:
    """The compiled covariance the fit uses is ``numpy.cov``'s of the standardised rows, to
    rounding, on correlated features of unequal scales and offsets; rows with a value that
    is not finite, in either layout, are left out."""
    rng = np.random.default_rng(rows)
    mixing = rng.normal(size=(features, features))
    x = rng.normal(size=(rows, features)) @ mixing * rng.uniform(0.1, 10, features) + 5.0
    mean, scale = rng.normal(size=features), rng.uniform(0.5, 2.0, features)
    holes = x.copy()
    holes[rng.random(rows) < 0.1, rng.integers(0, features)] = np.nan
    holes[rng.random(rows) < 0.05, 0] = np.inf
    for values in (x, holes, np.asfortranarray(holes)):
        z = (values - mean) / scale
        z = z[np.all(np.isfinite(z), axis=1)]
        got, kept = standardised_covariance(values, mean, scale)
        assert kept == z.shape[0]
        if kept < 2:
            continue
        expected = np.cov(z, rowvar=False)
        np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-12 * np.abs(expected).max())
        np.testing.assert_array_equal(got, got.T)


def test_components_span_the_top_eigenvectors(flip: scenarios.Scenario, profile: Profile) -> None:
    """The kept components span the leading eigenvectors of the standardised covariance,
    as few as explain 65 % of its variance."""
    fitted = profile.reconstruction
    assert fitted is not None
    assert fitted.features == ("normal", "heavy", "count", "amount", "a", "b")
    x = np.column_stack([flip.reference[f].cast(float).to_numpy() for f in fitted.features])
    z = (x - fitted.mean) / fitted.scale
    z = z[np.all(np.isfinite(z), axis=1)]
    values, vectors = np.linalg.eigh(np.cov(z, rowvar=False))
    order = np.argsort(values)[::-1]
    share = np.cumsum(values[order]) / values.sum()
    k = int(np.searchsorted(share, EXPLAINED) + 1)
    assert fitted.components.shape == (k, 6)
    top = vectors[:, order[:k]]
    np.testing.assert_allclose(fitted.components.T @ fitted.components, top @ top.T, atol=1e-6)
    # The pair's sum is kept, its difference is what the components cannot rebuild.
    assert fitted.residual[4] == pytest.approx(fitted.residual[5], rel=0.05)
    assert fitted.residual[4] < 0.2


def test_reconstruction_round_trips_through_the_profile_file(
    profile: Profile, tmp_path: Path
) -> None:
    """The components, scales and error distribution read back bit for bit."""
    write_profile(profile, tmp_path / "p.parquet")
    back = read_profile(tmp_path / "p.parquet")
    assert back.reconstruction == profile.reconstruction
    assert back == profile


def test_no_reconstruction_when_turned_off_or_one_feature(flip: scenarios.Scenario) -> None:
    """multivariate: false, or fewer than two numeric features, fits nothing."""
    off = profile_frame(flip.reference, ProfileSettings(multivariate=False))
    assert off.reconstruction is None
    one = profile_frame(flip.reference.select("a", "city"))
    assert one.reconstruction is None


def test_a_correlation_flip_is_caught_and_explained(
    flip: scenarios.Scenario, profile: Profile
) -> None:
    """Marginals unchanged, correlation +0.8 to -0.8: a multivariate_drift alert within
    20,000 rows naming a and b, and no alert on any single feature."""
    pipeline = Pipeline(profile, StreamSettings())
    alerts = []
    live = flip.live
    for start in range(0, live.height, 20_000):
        part = live.slice(start, 20_000)
        got, _ = pipeline.process_rows("t", 0, part, np.arange(start, start + part.height))
        alerts += got
    assert alerts
    assert {a["type"] for a in alerts} == {"multivariate_drift"}
    assert {a["feature"] for a in alerts} == {"reconstruction_error"}
    first = min(alerts, key=lambda a: a["window"]["last_offset"])
    assert 200_000 <= first["window"]["last_offset"] <= 220_000
    assert set(first["details"]["contributors"][:2]) == {"a", "b"}
