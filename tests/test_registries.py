"""The registries of detectors and score methods: every entry keeps the contract of its kind,
so a detector or method is tested by being registered."""

from __future__ import annotations

import numpy as np
import pytest

from stream_monitor.detectors.registry import DETECTORS, DetectorSpec, make_detector


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
