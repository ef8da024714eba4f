"""Every sequential drift detector by name: its class and the parameter that is its threshold.

The engine builds detectors by these names and reads ``threshold`` from any of them, so a new
detector is one module and one line of ``DETECTORS``; ``tests/test_registries.py`` then checks
that it keeps the contract (``threshold`` reads that parameter, snapshots restore).

>>> [spec.name for spec in DETECTORS.values()]
['adwin', 'page_hinkley', 'ddm', 'hddm_a', 'kswin']
>>> detector = make_detector("ddm", {"drift_threshold": 2.5})
>>> detector.threshold, DETECTORS["ddm"].threshold_parameter
(2.5, 'drift_threshold')
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors._base import Snapshot

__all__ = ["DETECTORS", "Detector", "DetectorSpec", "make_detector"]


class Detector(Protocol):
    """What the engine uses of a sequential detector (``detectors._base.DriftDetector``)."""

    @property
    def threshold(self) -> float:
        """The value of the parameter that decides how readily the detector fires."""

    def update_many(self, values: ArrayLike) -> NDArray[np.int64]:
        """Feed a batch; return the positions in it where drift was signalled."""

    def snapshot(self) -> Snapshot:
        """The learned state as numpy arrays."""

    def restore(self, snapshot: Snapshot) -> None:
        """Continue from ``snapshot``."""


@dataclass(frozen=True, slots=True)
class DetectorSpec:
    """One sequential detector.

    ``watches`` is ``"values"`` for a detector of any real stream (a column's transform, a
    residual), ``"errors"`` for one of a 0/1 error indicator. The class is named by its module
    and imported on first use: KSWIN needs scipy, which the stream never loads otherwise.
    """

    name: str
    display_name: str
    module: str
    class_name: str
    threshold_parameter: str
    watches: Literal["values", "errors"]

    @property
    def cls(self) -> Callable[..., Detector]:
        """The detector's class."""
        found: Callable[..., Detector] = getattr(
            importlib.import_module(f"stream_monitor.detectors.{self.module}"), self.class_name
        )
        return found


DETECTORS: Mapping[str, DetectorSpec] = MappingProxyType(
    {
        spec.name: spec
        for spec in (
            DetectorSpec("adwin", "ADWIN", "adwin", "ADWIN", "delta", "values"),
            DetectorSpec(
                "page_hinkley", "Page-Hinkley", "page_hinkley", "PageHinkley", "threshold", "values"
            ),
            DetectorSpec("ddm", "DDM", "ddm", "DDM", "drift_threshold", "errors"),
            DetectorSpec("hddm_a", "HDDM_A", "hddm_a", "HDDMA", "drift_confidence", "errors"),
            DetectorSpec("kswin", "KSWIN", "kswin", "KSWIN", "alpha", "values"),
        )
    }
)


def make_detector(name: str, params: Mapping[str, Any] | None = None) -> Detector:
    """A new detector registered as ``name``, with ``params`` as its constructor's keywords."""
    try:
        spec = DETECTORS[name]
    except KeyError:
        raise ValueError(
            f"unknown detector {name!r}; expected one of {', '.join(DETECTORS)}"
        ) from None
    return spec.cls(**(params or {}))
