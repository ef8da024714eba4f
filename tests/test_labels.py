"""A 0/1 integer label is a class label: concept drift in check-drift compares error rates,
and the profile holds it as a categorical column that the stream decodes and classifies."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from stream_monitor.batch.drift import Data, check_drift, two_proportion_z
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.config import ProfileSettings
from stream_monitor.engine.dataset import ConceptMonitor, MonitorSettings, category_codes
from stream_monitor.profile import profile_frame
from stream_monitor.profile.model import CategoricalColumnProfile, NumericColumnProfile
from stream_monitor.stream.decode import Decoder
from stream_monitor.stream.pipeline import input_schema
from stream_monitor.synthetic import traffic


def _int_labels(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(pl.col("default").cast(pl.Int64))


def _error_counts(frame: pl.DataFrame) -> tuple[int, int]:
    wrong = (frame["predicted_default"] >= 0.5) != (frame["default"] == 1)
    return int(wrong.sum()), frame.height


@pytest.mark.parametrize("declared", [None, "categorical"])
def test_zero_one_integer_target_gives_classification_concept_drift(declared: str | None) -> None:
    """With a 0/1 integer target and a probability, concept drift compares error rates
    (prediction >= 0.5 against the label) with the z-test, as for a boolean target, whether
    the target is left numeric or declared categorical; the drift is found."""
    ref = _int_labels(traffic(20_000, seed=1).drop("id"))
    cur = _int_labels(traffic(20_000, seed=2, concept_at=0).drop("id"))
    kinds = {"default": declared} if declared else {}
    settings = DriftSettings(target="default", prediction="predicted_default", kinds=kinds)
    result = check_drift(Data(ref.lazy(), "ref"), Data(cur.lazy(), "cur"), settings)
    concept = result.concept
    assert concept is not None
    assert (concept.kind, concept.method) == ("classification", "z")
    x_ref, n_ref = _error_counts(ref)
    x_cur, n_cur = _error_counts(cur)
    assert concept.reference_error == x_ref / n_ref
    assert concept.current_error == x_cur / n_cur
    assert (concept.score, concept.p_value) == two_proportion_z(x_ref, n_ref, x_cur, n_cur)
    assert concept.drift_detected
    boolean = check_drift(
        Data(traffic(20_000, seed=1).drop("id").lazy(), "ref"),
        Data(traffic(20_000, seed=2, concept_at=0).drop("id").lazy(), "cur"),
        DriftSettings(target="default", prediction="predicted_default"),
    ).concept
    assert boolean is not None
    assert (boolean.score, boolean.p_value) == (concept.score, concept.p_value)


def test_other_integer_targets_stay_regression() -> None:
    """An integer target with a value other than 0 and 1 is a regression target."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"y": rng.integers(0, 3, 500), "p": rng.normal(1, 1, 500)})
    settings = DriftSettings(target="y", prediction="p")
    concept = check_drift(Data(frame.lazy(), "a"), Data(frame.lazy(), "b"), settings).concept
    assert concept is not None
    assert (concept.kind, concept.method) == ("regression", "ks")


def test_profile_holds_zero_one_labels_as_categories() -> None:
    """A 0/1 integer target and prediction are profiled as categorical "0"/"1" with exact
    counts; a probability prediction stays numeric; the stream's concept monitor then
    classifies."""
    frame = pl.DataFrame(
        {
            "x": [0.5, 1.5, 2.5, 3.5, 4.5, 5.5],
            "label": [0, 1, 1, 0, 1, 1],
            "guess": [0, 1, 0, 0, 1, 1],
            "score": [0.1, 0.9, 0.4, 0.2, 0.8, 0.7],
        }
    )
    profile = profile_frame(frame, ProfileSettings(target="label", prediction="guess"))
    target, prediction = profile.target, profile.prediction
    assert isinstance(target, CategoricalColumnProfile)
    assert isinstance(prediction, CategoricalColumnProfile)
    assert (target.kind, target.categories, target.category_counts.tolist()) == (
        "categorical",
        ("1", "0"),
        [4, 2],
    )
    assert prediction.categories == ("0", "1")
    assert prediction.category_counts.tolist() == [3, 3]
    assert ConceptMonitor(target, prediction, MonitorSettings()).classification
    with_score = profile_frame(frame, ProfileSettings(target="label", prediction="score"))
    assert isinstance(with_score.prediction, NumericColumnProfile)
    declared = profile_frame(
        frame, ProfileSettings(target="label", prediction="score", kinds={"label": "numeric"})
    )
    assert isinstance(declared.target, NumericColumnProfile)


def test_stream_decodes_json_zero_one_into_the_profile_categories() -> None:
    """The stream's decode schema reads a JSON 0 or 1 into the label's categories."""
    frame = pl.DataFrame({"x": [0.5, 1.5, 2.5], "label": [0, 1, 1]})
    profile = profile_frame(frame, ProfileSettings(target="label"))
    target = profile.target
    assert isinstance(target, CategoricalColumnProfile)
    decoded = Decoder(input_schema(profile, None)).decode(
        [b'{"x": 1.0, "label": 1}', b'{"x": 2.0, "label": 0}', b'{"x": 3.0, "label": null}']
    )
    assert decoded.bad == []
    codes = category_codes(decoded.frame, target)
    assert codes.tolist() == [target.categories.index("1"), target.categories.index("0"), -1]
