"""``stream-monitor check-drift``: its scores against scipy, numpy and Evidently's rules, its
verdicts, the JSON report and its schema, the profile reference, and every input error."""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from numpy.typing import NDArray
from prometheus_client.parser import text_string_to_metric_families
from scipy import stats
from scipy.spatial.distance import jensenshannon

from stream_monitor import _inputs as inputs
from stream_monitor.batch import drift as d
from stream_monitor.batch.drift import (
    Data,
    DriftResult,
    DriftWarning,
    check_drift,
    compare_categorical,
    compare_numeric,
)
from stream_monitor.batch.drift_report import (
    build_report,
    dumps_report,
    report_schema,
    validate_report,
)
from stream_monitor.batch.settings import ColumnMethod, DriftSettings, load_drift_settings
from stream_monitor.cli import EXIT_DRIFT, EXIT_OK, EXIT_USAGE, build_parser
from stream_monitor.cli import check_drift as command
from stream_monitor.config import ProfileSettings
from stream_monitor.errors import (
    ConfigError,
    DataFileError,
    ProfileFormatError,
    UserInputError,
)
from stream_monitor.profile import profile_frame, write_profile
from stream_monitor.synthetic import Drift, traffic

HOSTILE = "<img src=x onerror=alert(1)>"
ROLES = DriftSettings(exclude=("id",), target="default", prediction="predicted_default")


# -- helpers -----------------------------------------------------------------------------


def _data(frame: pl.DataFrame, source: str = "mem") -> Data:
    return Data(frame.lazy(), source)


def _run(
    reference: pl.DataFrame, current: pl.DataFrame, settings: DriftSettings = ROLES
) -> DriftResult:
    return check_drift(_data(reference, "ref.parquet"), _data(current, "cur.parquet"), settings)


def _main(argv: Sequence[str]) -> int:
    """``stream_monitor.cli.main`` for this subcommand alone: one line and 2 on bad input."""
    args = build_parser("check-drift").parse_args(["check-drift", *argv])
    try:
        code: int = args.func(args)
    except UserInputError as error:
        print(f"stream-monitor {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return code


def _evidently_fill(shares: NDArray[np.float64]) -> NDArray[np.float64]:
    smallest = shares[shares != 0].min()
    floor = smallest / 10**6 if smallest <= 0.0001 else 0.0001
    out = shares.copy()
    np.place(out, out == 0, floor)
    return out


@pytest.fixture(scope="module")
def clean() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Two stationary samples of the synthetic traffic."""
    return traffic(20_000, seed=1), traffic(20_000, seed=3)


@pytest.fixture(scope="module")
def drifted() -> pl.DataFrame:
    """Traffic whose external score moved by 1 sd, with concept drift from the first row."""
    return traffic(20_000, seed=2, drift=Drift("score_external", 0, 1.0), concept_at=0)


@pytest.fixture
def files(
    tmp_path: Path, clean: tuple[pl.DataFrame, pl.DataFrame], drifted: pl.DataFrame
) -> dict[str, Path]:
    """The samples as Parquet and CSV files."""
    paths = {
        "ref": tmp_path / "ref.parquet",
        "clean": tmp_path / "clean.csv",
        "drifted": tmp_path / "drifted.parquet",
    }
    clean[0].write_parquet(paths["ref"])
    clean[1].write_csv(paths["clean"])
    drifted.write_parquet(paths["drifted"])
    return paths


# -- exact statistics against scipy and numpy -----------------------------------------------


@pytest.mark.parametrize(("n1", "n2"), [(200_000, 150_000), (20_000, 30_000), (3_000, 2_000)])
def test_ks_and_wasserstein_equal_scipy(n1: int, n2: int) -> None:
    """KS statistic and p-value equal ks_2samp's (asymptotic and exact); Wasserstein/sd equals
    wasserstein_distance / np.std, on data with NaN, infinities and ties."""
    rng = np.random.default_rng(n1)
    ref = np.round(rng.normal(0, 1, n1), 3)
    cur = np.round(rng.normal(0.02, 1.05, n2), 3)
    ref[::97] = np.nan
    cur[::101] = np.inf
    s = DriftSettings(columns={"x": ColumnMethod("ks")})
    result = compare_numeric(ref, cur, name="x", settings=s)
    r, c = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    expected = stats.ks_2samp(r, c)
    assert result.score == pytest.approx(expected.statistic, rel=0, abs=1e-12)
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-300)
    assert result.reference.missing == n1 - r.size
    assert result.current.missing == n2 - c.size
    w = compare_numeric(ref, cur, name="x", settings=DriftSettings(numeric_method="wasserstein"))
    expected_w = stats.wasserstein_distance(r, c) / np.std(r)
    assert w.score == pytest.approx(expected_w, rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(
    hnp.arrays(np.float64, st.integers(1, 40), elements=st.integers(-5, 5).map(float)),
    hnp.arrays(np.float64, st.integers(1, 40), elements=st.floats(-6, 6, width=16)),
)
def test_merge_kernel_equals_scipy_on_ties(a: NDArray[np.float64], b: NDArray[np.float64]) -> None:
    """The compiled merge gives scipy's KS statistic bit for bit (as its asymptotic method
    computes it; the exact one rounds it to a multiple of 1 / lcm(n1, n2)) and its Wasserstein
    distance, whatever the ties between and within the samples."""
    rs, cs = np.sort(a), np.sort(b)
    merge = d._merge(rs, cs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # scipy's p-value of tiny samples
        expected = stats.ks_2samp(a, b, method="asymp").statistic
    assert d._ks_statistic(merge) == expected
    assert merge.area == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12, abs=1e-12)
    assert merge.n_distinct == np.unique(np.concatenate([a, b])).size


def test_asymptotic_p_value_of_a_large_sample_equals_scipy() -> None:
    """Above 10,000 values a side the p-value comes from the kernel's statistic and equals
    ks_2samp's asymptotic one to 1e-12."""
    rng = np.random.default_rng(5)
    a, b = rng.normal(0, 1, 50_000), rng.normal(0.01, 1, 40_000)
    statistic, p_value = d.ks_2samp_sorted(np.sort(a), np.sort(b))
    expected = stats.ks_2samp(a, b, method="asymp")
    assert (statistic, p_value) == pytest.approx((expected.statistic, expected.pvalue), abs=1e-12)
    assert p_value == pytest.approx(0.8648, abs=1e-4)


@pytest.mark.parametrize("n", [1, 7, 1000, 123_457, 2_000_000])
def test_sturges_edges_and_counts_equal_numpy(n: int) -> None:
    """Sturges edges equal np.histogram_bin_edges, and counts from the sorted array equal
    np.histogram's, including values on the edges."""
    rng = np.random.default_rng(n)
    values = np.sort(np.round(rng.gamma(2.0, 3.0, n), 1))
    edges = d.sturges_edges(values[0], values[-1], n)
    np.testing.assert_array_equal(edges, np.histogram_bin_edges(values, bins="sturges"))
    np.testing.assert_array_equal(d._counts_in(values, edges), np.histogram(values, edges)[0])


def test_quantiles_equal_numpy() -> None:
    """Summary quantiles read from the sorted column equal np.quantile's linear ones."""
    rng = np.random.default_rng(2)
    for n in (1, 2, 3, 10, 999, 100_001):
        values = np.sort(rng.lognormal(0, 2, n))
        expected = np.quantile(values, [0.05, 0.5, 0.95])
        assert d._quantiles_sorted(values, (0.05, 0.5, 0.95)) == expected.tolist()


def test_psi_js_hellinger_on_raw_data_follow_evidentlys_bins() -> None:
    """PSI, Jensen-Shannon and Hellinger of a continuous column equal a numpy computation on
    Evidently's bins: Sturges over both columns, Evidently's empty-bin floor for PSI, Sturges
    over the distinct values for Hellinger."""
    rng = np.random.default_rng(11)
    ref = rng.lognormal(3, 1, 30_000)
    cur = np.concatenate([rng.lognormal(3.2, 1, 20_000), [1e5]])  # far tail: empty bins
    edges = np.histogram_bin_edges(np.concatenate([ref, cur]), bins="sturges")
    p = np.histogram(ref, edges)[0] / ref.size
    q = np.histogram(cur, edges)[0] / cur.size
    pf, qf = _evidently_fill(p), _evidently_fill(q)
    assert (pf != p).any()
    expected = {
        "psi": float(np.sum((pf - qf) * np.log(pf / qf))),
        "jensen_shannon": float(jensenshannon(p, q)),
    }
    keys = np.unique(np.concatenate([ref, cur]))
    h_edges = np.histogram_bin_edges(keys, bins="sturges")
    hp = np.histogram(ref, h_edges)[0] / ref.size
    hq = np.histogram(cur, h_edges)[0] / cur.size
    expected["hellinger"] = math.sqrt(1 - np.sum(np.sqrt(hp * hq)))
    for method, value in expected.items():
        s = DriftSettings(numeric_method=method)
        assert compare_numeric(ref, cur, settings=s).score == pytest.approx(value, rel=1e-9)


def test_discrete_numeric_column_is_binned_by_value() -> None:
    """A numeric column with at most 20 distinct reference values is binned by value over the
    union of values, as Evidently does, and its default at this size is Jensen-Shannon."""
    rng = np.random.default_rng(3)
    ref = rng.integers(0, 4, 5_000).astype(np.float64)
    cur = rng.integers(0, 5, 4_000).astype(np.float64)
    values = np.union1d(ref, cur)
    p = np.array([(ref == v).sum() for v in values]) / ref.size
    q = np.array([(cur == v).sum() for v in values]) / cur.size
    result = compare_numeric(ref, cur)
    assert result.method == "jensen_shannon"
    assert result.score == pytest.approx(jensenshannon(p, q), rel=1e-12)
    assert result.drift_detected  # a fifth value with a fifth of the current rows


def test_categorical_chi_square_and_z_equal_scipy() -> None:
    """Categorical chi-square is scipy.stats.chisquare of current counts against reference
    shares over the union of categories; z is the pooled two-proportion test."""
    ref = {"a": 420, "b": 310, "c": 270}
    s = DriftSettings(categorical_method="chi_square")
    for cur, drifted in (({"a": 380, "b": 340, "c": 250, "d": 0}, True), ({"a": 400}, False)):
        cur = {"b": 320, "c": 250} | cur
        result = compare_categorical(ref, cur, settings=s)
        observed = [cur["a"], cur["b"], cur["c"]]
        expected = stats.chisquare(observed, np.array([420, 310, 270]) * (sum(observed) / 1000))
        assert (result.score, result.p_value) == pytest.approx(tuple(expected), rel=1e-12)
        assert result.drift_detected is drifted  # p = 0.0233, then 0.384
    z = compare_categorical({"no": 800, "yes": 200}, {"no": 700, "yes": 300})
    pooled = 0.25
    expected_z = 0.1 / math.sqrt(pooled * (1 - pooled) * (2 / 1000))
    assert z.method == "z"
    assert z.score == pytest.approx(expected_z, rel=1e-12)
    assert z.p_value == pytest.approx(2 * stats.norm.sf(expected_z), rel=1e-9)
    assert z.drift_detected


def test_new_category_gives_an_infinite_chi_square_and_null_score_in_json() -> None:
    """A category absent from the reference makes the chi-square statistic infinite (p = 0):
    drift, and a null score in the report."""
    result = compare_categorical(
        {"a": 50, "b": 50}, {"a": 40, "b": 40, "c": 20}, name="c", settings=DriftSettings()
    )
    assert result.method == "chi_square"
    assert math.isinf(result.score)
    assert result.p_value == 0.0
    assert result.drift_detected
    report = build_report(_result((result,)))
    assert report["features"]["c"]["score"] is None
    validate_report(report)


@pytest.mark.parametrize(
    ("kind", "n", "values", "method"),
    [
        ("numeric", 1000, 6, "ks"),
        ("numeric", 1001, 6, "wasserstein"),
        ("numeric", 1000, 5, "chi_square"),
        ("numeric", 1000, 2, "z"),
        ("numeric", 1001, 5, "jensen_shannon"),
        ("categorical", 1000, 3, "chi_square"),
        ("categorical", 1000, 2, "z"),
        ("categorical", 1001, 2, "jensen_shannon"),
    ],
)
def test_default_methods_follow_evidently(kind: str, n: int, values: int, method: str) -> None:
    """Without configuration the method depends on the reference size and the number of
    distinct values as in Evidently's get_default_stattest."""
    assert d.default_method(kind, n, values) == method  # type: ignore[arg-type]


# -- verdicts on synthetic traffic ------------------------------------------------------------


def test_shifted_feature_drifts_and_the_rest_do_not(
    clean: tuple[pl.DataFrame, pl.DataFrame], drifted: pl.DataFrame
) -> None:
    """Only the feature shifted by 1 sd drifts (normed Wasserstein 1.01); the share is 1 of
    14 features, below the 0.5 threshold, and target and prediction are not features."""
    result = _run(clean[0], drifted)
    by_name = {f.name: f for f in result.features}
    assert len(by_name) == 14
    assert "default" not in by_name
    assert "predicted_default" not in by_name
    assert [f.name for f in result.features if f.drift_detected] == ["score_external"]
    assert by_name["score_external"].method == "wasserstein"
    assert by_name["score_external"].score == pytest.approx(1.0089, abs=1e-4)
    assert result.drift_share == pytest.approx(1 / 14)
    assert not result.dataset_drift
    lowered = _run(clean[0], drifted, DriftSettings(**{**_roles(), "drift_share_threshold": 0.07}))
    assert lowered.dataset_drift


def _roles() -> dict[str, Any]:
    return {"exclude": ("id",), "target": "default", "prediction": "predicted_default"}


def test_label_prediction_and_concept_drift(
    clean: tuple[pl.DataFrame, pl.DataFrame], drifted: pl.DataFrame
) -> None:
    """Concept drift raises the error rate from 0.283 to 0.430 (z-test p ~ 1e-207); the
    prediction follows the shifted score; the label rate moves, caught by its z-test."""
    s = DriftSettings(**_roles(), columns={"default": ColumnMethod("z")})
    result = _run(clean[0], drifted, s)
    assert result.concept is not None
    assert result.concept.kind == "classification"
    assert result.concept.drift_detected
    assert result.concept.reference_error == pytest.approx(0.28315)
    assert result.concept.current_error == pytest.approx(0.43035)
    assert result.concept.p_value < 1e-200
    assert result.prediction is not None
    assert result.prediction.drift_detected
    assert result.prediction.score == pytest.approx(0.6234, abs=1e-4)
    assert result.label is not None
    assert result.label.method == "z"
    assert result.label.drift_detected
    steady = _run(clean[0], clean[1])
    assert steady.concept is not None
    assert not steady.concept.drift_detected
    assert steady.concept.p_value == pytest.approx(0.394, abs=1e-3)
    assert steady.label is not None
    assert not steady.label.drift_detected
    assert steady.prediction is not None
    assert not steady.prediction.drift_detected
    assert not any(f.drift_detected for f in steady.features)


def test_regression_concept_drift_compares_residuals_with_ks() -> None:
    """With a numeric target, concept drift is the KS test of the residuals, which widen
    from sd 1 to sd 1.5, and the errors are the mean absolute residuals."""
    rng = np.random.default_rng(8)
    x_ref, x_cur = rng.normal(0, 1, 5_000), rng.normal(0, 1, 5_000)
    ref = pl.DataFrame({"x": x_ref, "y": 2 * x_ref + rng.normal(0, 1, 5_000), "yhat": 2 * x_ref})
    cur = pl.DataFrame({"x": x_cur, "y": 2 * x_cur + rng.normal(0, 1.5, 5_000), "yhat": 2 * x_cur})
    result = _run(ref, cur, DriftSettings(target="y", prediction="yhat"))
    concept = result.concept
    assert concept is not None
    assert concept.kind == "regression"
    assert concept.method == "ks"
    expected = stats.ks_2samp(
        ref["yhat"].to_numpy() - ref["y"].to_numpy(), cur["yhat"].to_numpy() - cur["y"].to_numpy()
    )
    assert (concept.score, concept.p_value) == pytest.approx(tuple(expected), abs=1e-12)
    assert concept.drift_detected
    assert concept.reference_error == pytest.approx(math.sqrt(2 / math.pi), rel=0.03)
    assert concept.current_error == pytest.approx(1.5 * math.sqrt(2 / math.pi), rel=0.03)
    assert [f.name for f in result.features] == ["x"]


# -- profile as the reference -------------------------------------------------------------------


def test_profile_reference_scores_from_sketches_close_to_exact(
    clean: tuple[pl.DataFrame, pl.DataFrame], drifted: pl.DataFrame
) -> None:
    """A profile reference gives "sketch" scores: the same verdicts, Wasserstein within 0.07 of
    the exact one, categorical Jensen-Shannon equal; no concept drift, with a note why."""
    exact = _run(clean[0], drifted)
    profile = profile_frame(
        clean[0].drop("id"),
        ProfileSettings(target="default", prediction="predicted_default"),
        source="ref.parquet",
    )
    sketch = check_drift(
        profile,
        _data(drifted, "cur.parquet"),
        DriftSettings(exclude=("id",)),
        reference_source="ref.profile.parquet",
    )
    assert sketch.scores_from == "sketch"
    assert sketch.reference_kind == "profile"
    assert sketch.reference_source == "ref.profile.parquet"
    assert sketch.reference_rows == 20_000
    for e, s in zip(exact.features, sketch.features, strict=True):
        assert (e.name, e.method, e.drift_detected) == (s.name, s.method, s.drift_detected)
        if e.kind == "numeric":
            assert s.score == pytest.approx(e.score, abs=0.07)
        else:
            assert s.score == pytest.approx(e.score, rel=1e-12)
    assert sketch.label is not None
    assert sketch.prediction is not None
    assert exact.prediction is not None
    assert sketch.prediction.score == pytest.approx(exact.prediction.score, abs=0.01)
    assert sketch.concept is None
    assert any("no concept drift" in note for note in sketch.notes)
    report = build_report(sketch)
    validate_report(report)
    assert report["scores_from"] == "sketch"
    assert report["features"]["score_external"]["histogram"]["edges"][-1] == pytest.approx(
        drifted["score_external"].max()
    )


def test_profile_ks_p_value_is_the_asymptotic_one_of_the_binned_statistic(
    clean: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """With a profile, ks scores the binned statistic and its asymptotic p-value."""
    profile = profile_frame(clean[0].select("age"), source="ref")
    result = check_drift(
        profile, _data(clean[1].select("age")), DriftSettings(numeric_method="ks")
    ).features[0]
    m, n = 20_000.0, 20_000.0
    assert result.p_value == pytest.approx(stats.kstwo.sf(result.score, round(m * n / (m + n))))
    exact = stats.ks_2samp(clean[0]["age"].to_numpy(), clean[1]["age"].to_numpy())
    assert 0 < exact.statistic - result.score < 0.01


def test_profile_reference_leaves_nulls_out_of_categorical_scores() -> None:
    """Against a profile, null categories are missing values, not "other": the same shares
    with a tenth of the rows null score 0."""
    ref = pl.DataFrame({"c": ["a", "b", "b", "c"] * 250})
    cur = pl.DataFrame({"c": ["a", "b", "b", "c"] * 225 + [None] * 100})
    s = DriftSettings(categorical_method="jensen_shannon")
    result = check_drift(profile_frame(ref, source="ref"), _data(cur), s).features[0]
    assert result.score == pytest.approx(0.0, abs=1e-12)
    assert result.current.missing == 100
    assert result.current.count == 900


def test_profile_target_missing_from_current_only_loses_label_drift(
    clean: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """The profile's own target, missing from the current data, leaves label drift null with
    a note instead of failing the job."""
    profile = profile_frame(clean[0].select("age", "default"), ProfileSettings(target="default"))
    result = check_drift(profile, _data(clean[1].select("age")))
    assert result.label is None
    assert [f.name for f in result.features] == ["age"]
    assert "there is no label drift" in result.notes[0]


# -- the JSON report ---------------------------------------------------------------------------


def _result(features: tuple[d.ColumnDrift, ...]) -> DriftResult:
    return DriftResult(
        scores_from="exact",
        reference_source="ref.csv",
        reference_kind="data",
        reference_rows=100,
        current_source="cur.csv",
        current_rows=100,
        features=features,
        label=None,
        prediction=None,
        concept=None,
        drift_share_threshold=0.5,
    )


def test_report_validates_and_keeps_a_hostile_column_name_as_data(
    clean: tuple[pl.DataFrame, pl.DataFrame], drifted: pl.DataFrame
) -> None:
    """The report validates against its Draft 2020-12 schema, keeps the column order and a
    column named like an HTML injection verbatim, and is a few KB per feature."""
    ref = clean[0].rename({"age": HOSTILE})
    cur = drifted.rename({"age": HOSTILE})
    report = build_report(_run(ref, cur))
    schema = report_schema()
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(report)
    validate_report(report)
    assert next(iter(report["features"])) == HOSTILE
    text = dumps_report(report)
    assert json.loads(text)["features"][HOSTILE]["kind"] == "numeric"
    assert len(text) < 5_000 * (report["n_features"] + 2)
    assert report["label_drift"]["kind"] == "categorical"
    assert report["concept_drift"]["kind"] == "classification"
    assert report["generated_at"].endswith("Z")
    for feature in report["features"].values():
        histogram = feature["histogram"]
        for side in ("reference", "current"):
            assert sum(histogram[side]) == pytest.approx(1.0)
        if feature["kind"] == "numeric":
            assert len(histogram["edges"]) <= 31


def test_report_schema_rejects_what_breaks_the_contract() -> None:
    """Validation fails on a non-finite number, an unknown key or shares that do not fit."""
    report = build_report(_result((compare_numeric(np.arange(50.0), np.arange(50.0) + 1),)))
    validate_report(report)
    bad_nan = json.loads(json.dumps(report))
    bad_nan["drift_share"] = float("nan")
    bad_key = json.loads(json.dumps(report)) | {"extra": 1}
    bad_bins = json.loads(json.dumps(report))
    bad_bins["features"]["value"]["histogram"]["current"].append(0.0)
    for bad in (bad_nan, bad_key, bad_bins):
        with pytest.raises(ValueError, match="drift report"):
            validate_report(bad)


def test_categorical_histogram_keeps_the_top_20_and_gathers_the_rest() -> None:
    """A column of 30 categories (one of them named "other") shows the top 20 by summed share,
    then the rest under "(other)"; the summary keeps the top 5."""
    ref = {f"c{i:02d}": 100 - i for i in range(29)} | {"other": 500}
    cur = {f"c{i:02d}": 100 + i for i in range(29)} | {"other": 10}
    result = compare_categorical(ref, cur)
    histogram = result.histogram
    assert isinstance(histogram, d.CategoricalHistogram)
    assert len(histogram.categories) == 21
    assert histogram.categories[0] == "other"
    assert histogram.categories[-1] == "(other)"
    assert sum(histogram.reference) == pytest.approx(1.0)
    assert isinstance(result.reference, d.CategoricalSummary)
    assert result.reference.top[0][0] == "other"
    assert result.reference.top[0][1] == pytest.approx(500 / sum(ref.values()))
    assert len(result.reference.top) == 5
    assert result.reference.n_distinct == 30


# -- settings ------------------------------------------------------------------------------------


def test_config_section_sets_methods_thresholds_and_exclusions(tmp_path: Path) -> None:
    """The drift: section sets per-column methods and thresholds, per-method thresholds, the
    share threshold and exclusions; flags win over it."""
    config = tmp_path / "cfg.yaml"
    config.write_text(
        "profile: {bins: 10}\n"
        "drift:\n"
        "  drift_share_threshold: 0.25\n"
        "  thresholds: {psi: 0.2}\n"
        "  columns:\n"
        "    income: psi\n"
        "    region: {method: chi_square, threshold: 0.01}\n"
        "  exclude: [id]\n"
        "  histogram_bins: 12\n"
        "  target: default\n"
    )
    s = load_drift_settings(config, flags={"target": ("label", "--target")})
    assert s.drift_share_threshold == 0.25
    assert s.exclude == ("id",)
    assert s.method("income", "numeric") == "psi"
    assert s.threshold("psi", "income") == 0.2
    assert s.method("region", "categorical") == "chi_square"
    assert s.threshold("chi_square", "region") == 0.01
    assert s.threshold("chi_square", "channel") == 0.05
    assert s.target == "label"
    assert s.histogram_bins == 12


def test_example_config_loads() -> None:
    """config/drift.example.yaml is a valid drift: section."""
    example = Path(__file__).resolve().parents[1] / "config" / "drift.example.yaml"
    s = load_drift_settings(example)
    assert s.threshold("chi_square", "region") == 0.01
    assert s.target == "label"


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("drift: {drift_share_threshold: 0}", r"cfg.yaml: drift.drift_share_threshold: must be"),
        ("drift: {thresholds: {psi: -1}}", r"cfg.yaml: drift.thresholds.psi: must be positive"),
        ("drift: {thresholds: {ks: 2}}", r"drift.thresholds.ks: a p-value threshold must be"),
        ("drift: {thresholds: {bogus: 1}}", r"drift.thresholds.bogus: must be one of ks"),
        ("drift: {columns: {age: ksx}}", r"cfg.yaml: drift.columns.age: must be one of"),
        ("drift: {columns: {age: {method: ks, bins: 3}}}", r"drift.columns.age.bins: unknown"),
        ("drift: {numeric_method: chi}", r"drift.numeric_method: must be one of"),
        ("drift: {categorical_method: ks}", r"drift.categorical_method: must be one of"),
        ("drift: {histogram_bins: 1}", r"drift.histogram_bins: must be an integer from 2"),
        ("drift: {exclude: id}", r"drift.exclude: must be a list"),
        ("drift: {kinds: {zip: text}}", r"drift.kinds.zip: must be one of numeric, categorical"),
        ("drift: {target: a, prediction: a}", r"drift.prediction: column 'a' is the target"),
        ("drift: {methods: {}}", r"cfg.yaml: drift.methods: unknown key"),
        ("drift: [1]", r"cfg.yaml: drift: expected a mapping"),
        ("drift: {a: [", r"cfg.yaml: invalid YAML"),
    ],
)
def test_bad_config_names_the_file_and_key(tmp_path: Path, section: str, message: str) -> None:
    """Each invalid drift: setting is a ConfigError naming the file and the key."""
    config = tmp_path / "cfg.yaml"
    config.write_text(section + "\n")
    with pytest.raises(ConfigError, match=message):
        load_drift_settings(config)


def test_method_that_does_not_fit_the_kind_is_named(
    clean: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """A numeric-only method set for a categorical column is a ConfigError naming both."""
    s = DriftSettings(columns={"region": ColumnMethod("wasserstein")})
    frame = clean[0].select("region")
    with pytest.raises(ConfigError, match=r"drift.columns.region: method 'wasserstein' does not"):
        _run(frame, frame, s)


# -- input errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing_file", r"nope.parquet: no such file"),
        ("unknown_format", r"data.xlsx: unknown file extension '.xlsx'"),
        ("corrupt_parquet", r"bad.parquet: cannot read"),
        ("missing_column", r"cur.parquet: column 'b' of the reference .*ref.parquet is missing"),
        ("empty", r"cur.parquet: no rows to compare"),
        ("type_mismatch", r"column 'a' has type Float64 in .*ref.parquet but String in .*cur"),
        ("null_target", r"cur.parquet: column 't' has no value; the target column cannot be"),
        ("missing_target", r"ref.parquet: target column 'zz' not found"),
        ("bad_report_dir", r"--report_path .*out.html: directory .* does not exist"),
        ("bad_config", r"cfg.yaml: drift.histogram_bins: must be an integer"),
        ("newer_profile", r"profile format version 99 is newer"),
        ("not_numbers", r"cur.parquet: column 'a' holds values that are not numbers"),
    ],
)
def test_bad_input_is_one_line_naming_the_culprit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str, message: str
) -> None:
    """Every bad input exits 2 with one line on stderr naming the file, column or flag."""
    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    base = pl.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "x"], "t": [True, False, True]})
    base.write_parquet(ref)
    current = base
    more: list[str] = []
    if case == "missing_file":
        cur = tmp_path / "nope.parquet"
    elif case == "unknown_format":
        cur = tmp_path / "data.xlsx"
        cur.write_text("x")
    elif case == "corrupt_parquet":
        cur = tmp_path / "bad.parquet"
        cur.write_bytes(b"PAR1 not really")
    elif case == "missing_column":
        current = base.drop("b")
    elif case == "empty":
        current = base.clear()
    elif case == "type_mismatch":
        current = base.with_columns(pl.col("a").cast(pl.String))
    elif case == "null_target":
        current = base.with_columns(pl.lit(None, dtype=pl.Boolean).alias("t"))
        more = ["--target", "t"]
    elif case == "missing_target":
        more = ["--target", "zz"]
    elif case == "bad_report_dir":
        more = []
    elif case == "bad_config":
        config = tmp_path / "cfg.yaml"
        config.write_text("drift:\n  histogram_bins: 1000\n")
        more = ["--config", str(config)]
    elif case == "newer_profile":
        profile = profile_frame(base, source="ref")
        write_profile(profile, ref)
        table = pq.read_table(ref)
        meta = dict(table.schema.metadata or {})
        meta[b"stream_monitor.format_version"] = b"99"
        pq.write_table(table.replace_schema_metadata(meta), ref)
    elif case == "not_numbers":
        current = base.with_columns(pl.Series("a", ["1", "two", "3"]))
        config = tmp_path / "cfg.yaml"
        config.write_text("drift:\n  kinds: {a: numeric}\n")
        more = ["--config", str(config)]
    if case not in ("missing_file", "unknown_format", "corrupt_parquet"):
        current.write_parquet(cur)
    args = [
        "--reference_data_path",
        str(ref),
        "--current_data_path",
        str(cur),
        "--report_path",
        str(tmp_path / ("missing/out.html" if case == "bad_report_dir" else "out.html")),
        *more,
    ]
    assert _main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert err.startswith("stream-monitor check-drift: error: ")
    assert re.search(message, err), err


def test_feature_without_reference_value_is_left_out_with_a_warning() -> None:
    """A feature with no value in the reference is left out with a DriftWarning and a note;
    the others are compared."""
    ref = pl.DataFrame(
        {"a": np.arange(100.0), "gone": [None] * 100}, schema={"a": pl.Float64, "gone": pl.Float64}
    )
    cur = pl.DataFrame({"a": np.arange(100.0), "gone": np.arange(100.0)})
    with pytest.warns(DriftWarning, match=r"ref.parquet: column 'gone' has no finite value"):
        result = _run(ref, cur, DriftSettings())
    assert [f.name for f in result.features] == ["a"]
    assert "left out of the comparison" in result.notes[0]


def test_profile_file_that_is_not_a_profile_is_read_as_data(
    tmp_path: Path, clean: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    """A Parquet reference without the profile marker is data; with it, a profile."""
    path = tmp_path / "ref.parquet"
    clean[0].write_parquet(path)
    assert isinstance(inputs.open_reference(path), Data)
    write_profile(profile_frame(clean[0], source="ref"), path)
    assert not isinstance(inputs.open_reference(path), Data)
    path.write_bytes(b"garbage")
    with pytest.raises((DataFileError, ProfileFormatError), match=r"ref.parquet: cannot read"):
        inputs.open_reference(path)


# -- the command ---------------------------------------------------------------------------------


def test_command_writes_reports_metrics_and_exit_codes(
    tmp_path: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """check-drift writes the HTML and the JSON report and the Prometheus gauges, prints one
    summary line (no progress off a terminal), and exits 1 on dataset drift only with
    --fail-on-drift; dash spellings of the path flags work."""
    config = tmp_path / "cfg.yaml"
    config.write_text("drift:\n  exclude: [id]\n  drift_share_threshold: 0.05\n")
    out_json, out_html, metrics = tmp_path / "r.json", tmp_path / "r.html", tmp_path / "m.prom"
    argv = [
        "--reference-data-path",
        str(files["ref"]),
        "--current-data-path",
        str(files["drifted"]),
        "--report-path",
        str(out_html),
        "--json-path",
        str(out_json),
        "--config",
        str(config),
        "--target",
        "default",
        "--prediction",
        "predicted_default",
        "--metrics-path",
        str(metrics),
    ]
    assert _main(argv) == EXIT_OK
    assert _main([*argv, "--fail-on-drift"]) == EXIT_DRIFT
    captured = capsys.readouterr()
    out = captured.out.splitlines()
    assert len(out) == 2  # the summary, on stdout as every job's result
    assert "1 of 14 features drifted" in out[0]
    assert "dataset drift" in out[0]
    assert captured.err == ""
    report = json.loads(out_json.read_text())
    validate_report(report)
    assert report["reference"] == {"source": str(files["ref"]), "kind": "data", "rows": 20_000}
    assert out_html.read_text().startswith("<!DOCTYPE html>")
    families = {f.name: f for f in text_string_to_metric_families(metrics.read_text())}
    assert families["stream_monitor_dataset_drift_detected"].samples[0].value == 1.0
    scores = {
        s.labels["feature"]: (s.labels["method"], s.value)
        for s in families["stream_monitor_feature_drift_score"].samples
    }
    assert scores["score_external"][0] == "wasserstein"
    assert scores["score_external"][1] > 1
    assert families["stream_monitor_concept_drift_detected"].samples[0].value == 1.0
    steady = [*argv[:2], "--current_data_path", str(files["clean"]), *argv[4:], "--fail-on-drift"]
    assert _main(steady) == EXIT_OK


def test_command_with_a_profile_reference(
    tmp_path: Path, files: dict[str, Path], clean: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    """A profile file as the reference gives a sketch report naming the profile file."""
    profile_path = tmp_path / "ref.profile.parquet"
    write_profile(profile_frame(clean[0].drop("id"), source=str(files["ref"])), profile_path)
    out = tmp_path / "r.json"
    argv = ["--reference_data_path", str(profile_path), "--current_data_path", str(files["clean"])]
    argv += ["--report_path", str(tmp_path / "r.html"), "--json_path", str(out)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert _main(argv) == EXIT_OK
    report = json.loads(out.read_text())
    assert report["scores_from"] == "sketch"
    assert report["reference"] == {"source": str(profile_path), "kind": "profile", "rows": 20_000}
    assert report["n_drifted_features"] == 0


def test_progress_shows_only_on_a_terminal() -> None:
    """The progress line is written, and then erased, only when stderr is a terminal."""

    class Terminal:
        def __init__(self, tty: bool) -> None:
            self.tty, self.text = tty, ""

        def isatty(self) -> bool:
            return self.tty

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            pass

    for tty in (True, False):
        stream = Terminal(tty)
        progress = command._Progress(stream)  # type: ignore[arg-type]
        progress(12, 22)
        progress.close()
        assert ("check-drift: 12/22 columns" in stream.text) is tty


def test_one_million_rows_smoke(tmp_path: Path) -> None:
    """A million rows a side of two numeric columns and one categorical go through, with
    exact KS equal to scipy's asymptotic statistic."""
    rng = np.random.default_rng(0)
    n = 1_000_000
    labels = np.array(["a", "b", "c"])
    ref = pl.DataFrame({"x": rng.normal(0, 1, n), "c": labels[rng.integers(0, 3, n)]})
    cur = pl.DataFrame({"x": rng.normal(0.01, 1, n), "c": labels[rng.integers(0, 3, n)]})
    ref.write_parquet(tmp_path / "ref.parquet")
    cur.write_parquet(tmp_path / "cur.parquet")
    result = check_drift(
        inputs.open_data(tmp_path / "ref.parquet"),
        inputs.open_data(tmp_path / "cur.parquet"),
        DriftSettings(numeric_method="ks"),
    )
    x = result.features[0]
    assert x.score == pytest.approx(stats.ks_2samp(ref["x"], cur["x"]).statistic, abs=1e-15)
    assert x.drift_detected  # 0.01 sd is significant at a million rows
    assert not result.features[1].drift_detected
    assert result.features[1].current.count == n
