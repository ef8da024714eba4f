"""The registries of detectors and score methods: every entry keeps the contract of its kind,
so a detector or method is tested by being registered."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from numpy.typing import NDArray

from stream_monitor.batch.drift_report import report_schema
from stream_monitor.batch.predictions import prediction_monitor_schema
from stream_monitor.batch.settings import DEFAULT_THRESHOLDS, P_VALUE_METHODS, DriftSettings
from stream_monitor.detectors import CategoricalReference, CategoricalSketch
from stream_monitor.detectors.methods import (
    METHODS,
    WINDOW_METHODS,
    Measure,
    Method,
    SortedPair,
)
from stream_monitor.detectors.registry import DETECTORS, DetectorSpec, make_detector
from stream_monitor.engine.dataset import numeric_reference
from stream_monitor.errors import ConfigError
from stream_monitor.profile.build import profile_frame
from stream_monitor.profile.model import NumericColumnProfile
from stream_monitor.stream.settings import load_stream_settings


@pytest.mark.parametrize("spec", DETECTORS.values(), ids=lambda s: s.name)
def test_detector_threshold_reads_its_parameter(spec: DetectorSpec) -> None:
    """``threshold`` is the value of the parameter the registry names, as given."""
    detector = make_detector(spec.name)
    assert detector.threshold == getattr(detector, spec.threshold_parameter)
    assert isinstance(detector.threshold, float)


@pytest.mark.parametrize("spec", DETECTORS.values(), ids=lambda s: s.name)
def test_detector_restored_from_a_snapshot_continues_identically(spec: DetectorSpec) -> None:
    """A registered detector fed half a stream, snapshotted and restored into a fresh one,
    signals drift where the original does on the other half."""
    rng = np.random.default_rng(3)
    if spec.watches == "errors":
        stream = np.concatenate([rng.random(3_000) < 0.1, rng.random(3_000) < 0.4])
    else:
        stream = np.concatenate([rng.normal(0, 1, 3_000), rng.normal(2, 1, 3_000)])
    stream = stream.astype(np.float64)
    params = {"seed": 7} if spec.name == "kswin" else {}
    original = make_detector(spec.name, params)
    original.update_many(stream[:2_000])
    copy = make_detector(spec.name, params)
    copy.restore(original.snapshot())
    expected = original.update_many(stream[2_000:])
    assert expected.size
    np.testing.assert_array_equal(copy.update_many(stream[2_000:]), expected)


def test_unknown_detector_is_named() -> None:
    """Asking for an unregistered detector names the registered ones."""
    with pytest.raises(ValueError, match="unknown detector 'cusum'; expected one of adwin"):
        make_detector("cusum")


# --- score methods ----------------------------------------------------------------------------

RNG = np.random.default_rng(21)
REFERENCE = RNG.normal(0.0, 1.0, 20_000)
SHIFTED = RNG.normal(0.7, 1.0, 20_000)
WITH_BINNED = [m for m in METHODS.values() if m.binned is not None]
WITH_EXACT = [
    (m, kind)
    for m in METHODS.values()
    for kind, func in (("numeric", m.exact_numeric), ("categorical", m.exact_categorical))
    if func is not None
]


def _numeric_profile(values: NDArray[np.float64]) -> NumericColumnProfile:
    column = profile_frame(pl.DataFrame({"x": values})).columns[0]
    assert isinstance(column, NumericColumnProfile)
    return column


def _binned(method: Method, kind: str, current: str) -> Measure:
    """The binned measure against a reference, of a current sample that is the reference
    itself ("same") or lies wholly outside it ("disjoint")."""
    if kind == "numeric":
        column = _numeric_profile(REFERENCE)
        sketch = column.sketch()
        sketch.update_many(REFERENCE if current == "same" else REFERENCE + 100.0)
        return method.score_sketch(numeric_reference(column), sketch)
    counts = np.array([500, 300, 200, 0], dtype=np.int64)
    sketch = CategoricalSketch(3)
    codes = np.repeat(np.arange(4), counts if current == "same" else [0, 0, 0, 1_000])
    sketch.update_many(codes)
    return method.score_sketch(CategoricalReference(counts), sketch)


def _exact(method: Method, kind: str, current: str) -> Measure:
    """The exact measure of a reference and a current sample that is the same or disjoint
    (two values, so that z's share of values above the first means something)."""
    if kind == "numeric":
        reference = np.sort(np.tile([0.0, 1.0], 1_000))
        other = reference if current == "same" else reference + 2.0
        return method.score_sorted(SortedPair(reference, other))
    ref = np.array([500, 300, 200, 0], dtype=np.int64)
    cur = ref if current == "same" else np.array([0, 0, 0, 1_000], dtype=np.int64)
    return method.score_counts(ref, cur)


@pytest.mark.parametrize(
    ("method", "kind"),
    [(m, kind) for m in WITH_BINNED for kind in m.kinds],
    ids=lambda v: v if isinstance(v, str) else v.name,
)
def test_binned_method_on_the_same_and_on_disjoint_histograms(method: Method, kind: str) -> None:
    """Every binned method finds no drift in a sketch of the reference itself and drift in
    one wholly outside it, as check-drift and as a stream window hold it."""
    for table in (METHODS, WINDOW_METHODS):
        spec = table[method.name]
        same, disjoint = _binned(spec, kind, "same"), _binned(spec, kind, "disjoint")
        limit = spec.default_threshold
        assert not spec.drifted(spec.value_of(same), limit), (table is METHODS, same)
        assert spec.drifted(spec.value_of(disjoint), limit), (table is METHODS, disjoint)


@pytest.mark.parametrize(
    ("method", "kind"), WITH_EXACT, ids=lambda v: v if isinstance(v, str) else v.name
)
def test_exact_method_on_the_same_and_on_disjoint_samples(method: Method, kind: str) -> None:
    """Every exact method finds no drift between a sample and itself, and drift between
    samples with no value in common."""
    same, disjoint = _exact(method, kind, "same"), _exact(method, kind, "disjoint")
    assert not method.drifted(method.value_of(same), method.default_threshold), same
    assert method.drifted(method.value_of(disjoint), method.default_threshold), disjoint
    assert (same.p_value is not None) == (method.value == "p_value")


@pytest.mark.parametrize(
    "method",
    [m for m in WITH_BINNED if m.exact_numeric is not None and "numeric" in m.kinds],
    ids=lambda m: m.name,
)
def test_binned_and_exact_agree_on_numeric_data(method: Method) -> None:
    """Where a method has both functions, a profile's sketch and the raw values give the same
    verdict on a shift of 0.7 sd and on the reference itself; KS and Wasserstein, computed on
    the profile's fine bins, are also within 0.02 of the exact value."""
    column = _numeric_profile(REFERENCE)
    reference = numeric_reference(column)
    for current in (REFERENCE, SHIFTED):
        sketch = column.sketch()
        sketch.update_many(current)
        binned = method.score_sketch(reference, sketch)
        exact = method.score_sorted(SortedPair(np.sort(REFERENCE), np.sort(current)))
        limit = method.default_threshold
        verdicts = [method.drifted(method.value_of(m), limit) for m in (binned, exact)]
        assert verdicts == [current is SHIFTED] * 2, (binned, exact)
        if method.name in ("ks", "wasserstein"):
            assert binned.statistic == pytest.approx(exact.statistic, abs=0.02)


def test_window_methods_differ_from_check_drifts_only_in_ks() -> None:
    """The stream's windows hold every method as check-drift does, except ks: its binned
    statistic as a distance above 0.1."""
    for name, window in WINDOW_METHODS.items():
        report = METHODS[name]
        if name == "ks":
            assert (window.value, window.default_threshold) == ("distance", 0.1)
            assert (report.value, report.default_threshold) == ("p_value", 0.05)
        else:
            assert window == report
    assert set(METHODS) - set(WINDOW_METHODS) == {m.name for m in METHODS.values() if not m.binned}


def test_json_schemas_enumerate_the_registered_methods() -> None:
    """The drift report's method enum is every registered method, the prediction monitor's
    every window method, and concept drift's methods are registered."""
    report = report_schema()
    assert report["$defs"]["method"]["enum"] == list(METHODS)
    concept = report["$defs"]["concept"]["properties"]["method"]["enum"]
    assert set(concept) <= set(METHODS)
    predictions = prediction_monitor_schema()["properties"]["method"]["enum"]
    assert set(predictions) == set(WINDOW_METHODS)


@pytest.mark.parametrize("method", METHODS.values(), ids=lambda m: m.name)
def test_config_accepts_exactly_the_registered_methods(method: Method) -> None:
    """check-drift's settings accept every registered method for its kinds, with its default
    threshold; the stream's settings accept every window method for its kinds."""
    assert DEFAULT_THRESHOLDS[method.name] == method.default_threshold
    assert (method.name in P_VALUE_METHODS) == (method.value == "p_value")
    for kind in method.kinds:
        key = f"{kind}_method"
        assert DriftSettings(**{key: method.name}).method("x", kind) == method.name
        stream_key = f"{kind}_methods"
        if method.name in WINDOW_METHODS:
            settings = load_stream_settings(None, {stream_key: ({method.name: None}, "--m")})
            assert method.name in getattr(settings, stream_key)
        else:
            with pytest.raises(ConfigError, match="unknown method"):
                load_stream_settings(None, {stream_key: ({method.name: None}, "--m")})
    with pytest.raises(ConfigError):
        DriftSettings(numeric_method="bogus")


def test_every_config_section_is_registered() -> None:
    """The config file's contract lists exactly each job's section and that section's keys,
    and every example config file satisfies it."""
    import jsonschema
    import yaml

    from stream_monitor import config
    from stream_monitor.batch import degradation, predictions
    from stream_monitor.batch import settings as batch_settings
    from stream_monitor.stream import settings as stream_settings

    keys = {
        config._SECTION: config._KEYS,
        config.INPUT_SECTION: ("null_values",),
        batch_settings._SECTION: batch_settings._KEYS,
        degradation._SECTION: degradation._KEYS,
        predictions.SECTION: predictions.KEYS,
        stream_settings.SECTION: stream_settings.KEYS,
    }
    schema = config.config_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert set(schema["properties"]) == set(keys) == set(config.SECTIONS)
    for name, names in keys.items():
        assert list(schema["properties"][name]["properties"]) == list(names), name
    root = Path(__file__).resolve().parent.parent / "config"
    validator = jsonschema.Draft202012Validator(schema)
    for path in sorted(root.glob("*.example.yaml")):
        if path.name == "schema.example.yaml":
            continue  # a schema file, not a config file
        validator.validate(yaml.safe_load(path.read_text()))
