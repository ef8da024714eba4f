"""One column's detectors, fed from batches of that column's values.

A numeric column feeds three detectors: a tumbling-window histogram scored against the
reference, and ADWIN and Page-Hinkley on each value's rank in the reference (its fine bin's
mid-rank, found by the same pass that counts it), standardised by the mean and sd of those
ranks over the reference. Ranks are bounded and keep one distribution under no drift,
whatever the column's shape, so one set of detector parameters fits every column: on
z-scores, a heavy-tailed column made ADWIN fire on stationary traffic. A categorical column
feeds the histogram only, with values as category codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors import ADWIN, HistogramDrift, NumericReference, PageHinkley
from stream_monitor.detectors.window import Reference
from stream_monitor.settings import STREAM_ADWIN, STREAM_PAGE_HINKLEY, STREAM_WINDOW_ROWS

# How many standardised values up to a sequential detection its reported score averages:
# few enough that the score shows the shift the detector just saw.
_SCORE_SPAN = 100


class RecentValues:
    """The last ``size`` values of a stream, carried across batches.

    It makes a sequential detector's reported score (the mean of the values up to the
    detection) the same however the stream was cut into batches.
    """

    def __init__(self, size: int = _SCORE_SPAN) -> None:
        self.size = size
        self.values = np.full(size, np.nan)

    def mean_at(self, batch: NDArray[np.float64], pos: int) -> float:
        """Mean of the finite values among the ``size`` values ending at ``batch[pos]``."""
        lo = pos + 1 - self.size
        span = (
            batch[lo : pos + 1] if lo >= 0 else np.concatenate([self.values[lo:], batch[: pos + 1]])
        )
        finite = span[np.isfinite(span)]
        return float(finite.mean()) if finite.size else float("nan")

    def extend(self, batch: NDArray[np.float64]) -> None:
        """Append a batch."""
        if batch.shape[0] >= self.size:
            self.values = batch[-self.size :].astype(np.float64, copy=True)
        else:
            self.values = np.concatenate([self.values[batch.shape[0] :], batch])


@dataclass(frozen=True, slots=True)
class DriftEvent:
    """A detector's verdict of drift on one column.

    ``type`` is the kind of drift: ``feature_drift``, ``label_drift``, ``prediction_drift``
    or ``concept_drift``.

    ``position`` is the index, in the batch given to ``update_many``, of the row at which the
    detector fired (the window's last row, for histogram scores). For ADWIN and Page-Hinkley
    ``score`` is the mean standardised rank over the last 100 values up to that row (0
    under no drift; the sign tells the direction), ``threshold`` the detector's own
    parameter (``delta`` or ``threshold``), and ``window_rows`` 1: the event is about the row
    at which the detector fired.
    """

    type: str
    feature: str
    detector: str
    score: float
    threshold: float
    position: int
    window_rows: int
    p_value: float | None = None


class ColumnMonitor:
    """The detectors of one column, with their state as plain arrays.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.detectors import NumericReference
    >>> rng = np.random.default_rng(0)
    >>> edges = np.linspace(-1, 1, 21)
    >>> ref = NumericReference(edges, np.array([0] + [50] * 20 + [0]), np.arange(22), std=0.58)
    >>> monitor = ColumnMonitor("x", ref, window=1_000)
    >>> monitor.update_many(rng.uniform(-1, 1, 5_000))
    []
    >>> [(e.detector, e.position) for e in monitor.update_many(rng.uniform(0, 2, 3_000))]
    [('adwin', 55), ('page_hinkley', 76), ('psi', 999), ('psi', 1999), ('psi', 2999)]
    """

    def __init__(
        self,
        name: str,
        reference: Reference,
        *,
        event_type: str = "feature_drift",
        window: int = STREAM_WINDOW_ROWS,
        methods: Mapping[str, float | None] | None = None,
        adwin: Mapping[str, Any] | None = STREAM_ADWIN,
        page_hinkley: Mapping[str, Any] | None = STREAM_PAGE_HINKLEY,
    ) -> None:
        self.name = name
        self.event_type = event_type
        self.numeric = isinstance(reference, NumericReference)
        if isinstance(reference, NumericReference):
            ranks, mean, sd = reference.rank_table()
            self.standard_ranks = (ranks - mean) / (sd if sd > 0 else 1.0)
        self.histogram = HistogramDrift(reference, window=window, methods=methods)
        self.sequential: dict[str, ADWIN | PageHinkley] = {}
        if self.numeric and adwin is not None:
            self.sequential["adwin"] = ADWIN(**adwin)
        if self.numeric and page_hinkley is not None:
            self.sequential["page_hinkley"] = PageHinkley(**page_hinkley)
        self.recent = RecentValues()
        #: The latest score of each histogram method, drifting or not (for gauges).
        self.last_scores: dict[str, tuple[float, bool]] = {}

    def update_many(self, values: ArrayLike) -> list[DriftEvent]:
        """Feed one batch of this column; return the drift events it raised, in row order."""
        events: list[DriftEvent] = []
        arr = np.asarray(values)
        bins = np.empty(arr.shape[0], dtype=np.int64) if self.sequential else None
        for closed in self.histogram.update_many(arr, bins_out=bins):
            for score in closed.scores:
                self.last_scores[score.method] = (score.value, score.drift_detected)
                if score.drift_detected:
                    events.append(
                        DriftEvent(
                            self.event_type,
                            self.name,
                            score.method,
                            score.value,
                            score.threshold,
                            closed.end,
                            closed.rows,
                            score.p_value,
                        )
                    )
        if bins is not None:
            z = self.standard_ranks[bins]
            for label, detector in self.sequential.items():
                limit = detector.delta if isinstance(detector, ADWIN) else detector.threshold
                for pos in detector.update_many(z):
                    events.append(
                        DriftEvent(
                            self.event_type,
                            self.name,
                            label,
                            self.recent.mean_at(z, int(pos)),
                            float(limit),
                            int(pos),
                            1,
                        )
                    )
            self.recent.extend(z)
        events.sort(key=lambda e: e.position)
        return events

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """Return every detector's state, with keys prefixed by the detector's name."""
        snap = {f"histogram.{k}": v for k, v in self.histogram.snapshot().items()}
        snap["recent"] = self.recent.values.copy()
        for label, detector in self.sequential.items():
            snap.update({f"{label}.{k}": v for k, v in detector.snapshot().items()})
        return snap

    def restore(self, snapshot: Mapping[str, NDArray[Any]]) -> None:
        """Restore every detector from a ``snapshot()``."""

        def part(prefix: str) -> dict[str, NDArray[Any]]:
            return {k[len(prefix) + 1 :]: v for k, v in snapshot.items() if k.startswith(prefix)}

        self.histogram.restore(part("histogram"))
        self.recent.values = np.array(snapshot["recent"], dtype=np.float64)
        for label, detector in self.sequential.items():
            detector.restore(part(label))
