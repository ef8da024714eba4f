"""One column's detectors, fed from batches of that column's values.

Every column, numeric or categorical, feeds:

- a tumbling-window histogram scored against the reference (PSI, Jensen-Shannon, ...);
- ADWIN and Page-Hinkley on two channels of each value's randomised probability integral
  transform against the reference (``detectors.pit``): location, which moves when the column
  shifts, and spread, which moves when it widens or narrows around its median (or a
  category's share changes). Both channels have mean 0 and sd 1 under no drift whatever the
  column's shape, so one set of detector parameters fits every column and channel.
  Page-Hinkley on the spread channel is named ``page_hinkley_spread``.

A categorical column also watches the share of each frequent category (at least
``MIN_TRACKED_SHARE`` of the reference and at most half of it; ``MAX_TRACKED`` of them at
most) with two Bernoulli CUSUMs, for a rise and a fall of 30 % (``engine.rates``): detector
``category_share``. A category holding most of the column is left out: its share moves
exactly when the others' do, and a 30 % rise of it may not even be possible.

Each batch also yields its rows' data-quality codes (``QUALITY_*``), which the data set's
quality monitor turns into shares of nulls, infinities, out-of-range values and unseen
categories.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors import HistogramDrift, NumericReference, PageHinkley
from stream_monitor.detectors.cusum import BernoulliCUSUM
from stream_monitor.detectors.pit import column_salt, pit_channels, pit_table
from stream_monitor.detectors.registry import Detector, make_detector
from stream_monitor.detectors.window import Neighbours, Reference
from stream_monitor.engine.rates import share_channels
from stream_monitor.profile.seasonal import neighbours, slot_tables
from stream_monitor.settings import STREAM_ADWIN, STREAM_PAGE_HINKLEY, STREAM_WINDOW_ROWS

# How many standardised values up to a sequential detection its reported score averages:
# few enough that the score shows the shift the detector just saw.
_SCORE_SPAN = 100

#: Data-quality code of a row's value: fine, null (or NaN), infinite, outside the reference
#: (beyond its range, or a category it never had), and, for dead-lettered records, a value of
#: the wrong type or no opinion (the record was bad for another reason).
QUALITY_OK, QUALITY_NULL, QUALITY_INFINITE, QUALITY_OUTSIDE, QUALITY_TYPE, QUALITY_NONE = (
    0,
    1,
    2,
    3,
    4,
    5,
)

#: Categories watched by share CUSUMs: those with at least this reference share, and at most
#: this many per column (the most frequent).
MIN_TRACKED_SHARE = 0.01
MAX_TRACKED = 20


_NO_VALUES = np.empty(0, dtype=np.float64)


@njit(cache=True, nogil=True)
def _quality_kernel(
    numeric: bool,
    values: NDArray[np.float64],
    bins: NDArray[np.int64],
    last: int,
    codes: NDArray[np.int8],
) -> None:
    """Each row's ``QUALITY_*`` code, in one pass. In a ``numeric`` column, NaN is null and
    an infinity infinite (both have bin -1), and fine bins 0 and ``last`` (under- and
    overflow) are outside; in a categorical one (``bins`` are its codes, ``values`` unread),
    a negative code is null and ``last`` ("other") outside."""
    for i in range(bins.shape[0]):
        b = bins[i]
        code = QUALITY_OK
        if numeric:
            x = values[i]
            if np.isnan(x):
                code = QUALITY_NULL
            elif np.isinf(x):
                code = QUALITY_INFINITE
            elif b == 0 or b == last:
                code = QUALITY_OUTSIDE
        elif b < 0:
            code = QUALITY_NULL
        elif b == last:
            code = QUALITY_OUTSIDE
        codes[i] = code


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
    detector fired (the window's last row, for histogram scores); for ``data_quality`` events,
    the index among the batch's records, dead-lettered ones included. For ADWIN, ``score`` is
    the mean channel value over the last 100 values up to that row (0 under no drift; the
    sign tells the direction) and ``threshold`` its ``delta``; for Page-Hinkley, ``score`` is
    the cumulative sum's distance from its extreme and ``threshold`` the distance at which it
    fires; for CUSUMs, the log likelihood ratio and its threshold, in nats. ``window_rows`` is
    1 for sequential detectors: the event is about the row at which the detector fired.
    ``details`` explains the event (the channel, the measure, the category, the shares).
    """

    type: str
    feature: str
    detector: str
    score: float
    threshold: float
    position: int
    window_rows: int
    p_value: float | None = None
    details: Mapping[str, Any] | None = None


#: The sequential channels, the suffix of their detectors' names, and whether ADWIN watches
#: them too. Page-Hinkley alone watches the spread: ADWIN there caught the spread changes of
#: the quality harness about 100 rows sooner, at the cost of a second ADWIN per column.
_CHANNELS = (("location", "", True), ("spread", "_spread", False))


class ColumnMonitor:
    """The detectors of one column, with their state as plain arrays.

    ``index`` is the column's position in its data set: it salts the column's randomised
    transform. ``first_row`` of ``update_many`` is the index, in the column's whole stream,
    of the batch's first value (the caller counts rows, so batches may be cut anywhere).

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
    >>> [(e.detector, e.position) for e in monitor.update_many(rng.uniform(0, 2, 3_000), 5_000)]
    [('adwin', 55), ('page_hinkley', 76), ('page_hinkley_spread', 109), ('psi', 999),
     ('psi', 1999), ('psi', 2999)]
    >>> monitor.quality_codes[-3:].tolist()  # 3: above the reference's maximum
    [0, 0, 3]
    """

    def __init__(
        self,
        name: str,
        reference: Reference,
        *,
        index: int = 0,
        event_type: str = "feature_drift",
        window: int = STREAM_WINDOW_ROWS,
        methods: Mapping[str, float | None] | None = None,
        adwin: Mapping[str, Any] | None = STREAM_ADWIN,
        page_hinkley: Mapping[str, Any] | None = STREAM_PAGE_HINKLEY,
        share_threshold: float | None = None,
        slot_counts: NDArray[np.int64] | None = None,
    ) -> None:
        self.name = name
        self.event_type = event_type
        self.numeric = isinstance(reference, NumericReference)
        # With a seasonal reference, one table row per slot and a last one for no slot.
        table = None if slot_counts is None else slot_tables(reference.counts, slot_counts)
        self.seasonal = table is not None
        self.histogram = HistogramDrift(reference, window=window, methods=methods, slot_table=table)
        self.lower, self.width = pit_table(reference.counts if table is None else table)
        self.salt = column_salt(index)
        self.sequential: dict[str, tuple[str, Detector]] = {}
        for channel, suffix, with_adwin in _CHANNELS:
            for detector, params in (("adwin", adwin), ("page_hinkley", page_hinkley)):
                if params is not None and (with_adwin or detector != "adwin"):
                    self.sequential[f"{detector}{suffix}"] = (
                        channel,
                        make_detector(detector, params),
                    )
        self.recent = {channel: RecentValues() for channel, _, _ in _CHANNELS}
        # A seasonal column's shares may cycle: its category shares are left to the
        # transform's channels, which are scored per slot.
        self.shares = self.share_channels(reference) if share_threshold and table is None else []
        self.share_cusum = (
            BernoulliCUSUM(
                [p0 for _, p0, _ in self.shares],
                [p1 for *_, p1 in self.shares],
                threshold=share_threshold,
            )
            if self.shares and share_threshold is not None
            else None
        )
        # Share channel k's value per code + 1: null (index 0) is no opinion.
        self.share_tables = np.zeros((len(self.shares), reference.counts.shape[0] + 1))
        self.share_tables[:, 0] = np.nan
        for k, (code, _, _) in enumerate(self.shares):
            self.share_tables[k, code + 1] = 1.0
        #: The latest score of each histogram method, drifting or not (for gauges).
        self.last_scores: dict[str, tuple[float, bool]] = {}
        #: Each row's data-quality code (``QUALITY_*``) in the last batch.
        self.quality_codes: NDArray[np.int8] = np.empty(0, dtype=np.int8)

    @staticmethod
    def share_channels(reference: Reference) -> list[tuple[int, float, float]]:
        """``(category code, p0, p1)`` of each share CUSUM of a categorical column."""
        if isinstance(reference, NumericReference):
            return []
        counts = reference.counts.astype(np.float64)
        total = float(counts.sum())
        named = counts[:-1]
        order = [int(c) for c in np.argsort(-named, kind="stable")[:MAX_TRACKED]]
        tracked = [c for c in order if MIN_TRACKED_SHARE * total <= named[c] <= 0.5 * total]
        if len(named) == 2 and counts[-1] == 0:
            tracked = tracked[-1:]  # a binary column: its rarer value's share says both
        return [(c, p0, p1) for c in tracked for p0, p1 in share_channels(named[c], total)]

    def update_many(
        self, values: ArrayLike, first_row: int = 0, times: NDArray[np.float64] | None = None
    ) -> list[DriftEvent]:
        """Feed one batch of this column; return the drift events it raised, in row order.

        A numeric column's values are floats (NaN for null); a categorical column's are its
        codes (``-1`` null, ``K`` a category outside the reference's). With a seasonal
        reference, ``times`` gives each row's time in hours into its period (NaN: none).
        """
        events: list[DriftEvent] = []
        arr = np.asarray(values)
        n = arr.shape[0]
        rows = None
        if self.seasonal:
            slots = self.lower.shape[0] - 1
            rows = neighbours(np.full(n, np.nan) if times is None else times, slots)
        if self.numeric:
            bins = np.empty(n, dtype=np.int64)
            closed = self.histogram.update_many(arr, bins_out=bins, slots=rows)
        else:
            bins = np.ascontiguousarray(arr, dtype=np.int64)
            closed = self.histogram.update_many(bins, slots=rows)
        for window in closed:
            for score in window.scores:
                self.last_scores[score.method] = (score.value, score.drift_detected)
                if score.drift_detected:
                    events.append(
                        DriftEvent(
                            self.event_type,
                            self.name,
                            score.method,
                            score.value,
                            score.threshold,
                            window.end,
                            window.rows,
                            score.p_value,
                        )
                    )
        self.quality_codes = self._quality(arr, bins)
        if self.sequential:
            events.extend(self._sequential(bins, first_row, rows))
        if self.share_cusum is not None:
            events.extend(self._category_shares(bins))
        events.sort(key=lambda e: e.position)
        return events

    def _sequential(
        self, bins: NDArray[np.int64], first_row: int, rows: Neighbours | None
    ) -> list[DriftEvent]:
        location, spread = pit_channels(bins, first_row, self.salt, self.lower, self.width, rows)
        streams = {"location": location, "spread": spread}
        events = []
        for label, (channel, detector) in self.sequential.items():
            z = streams[channel]
            positions = detector.update_many(z)
            for k, pos in enumerate(positions):
                recent = self.recent[channel].mean_at(z, int(pos))
                # Page-Hinkley reports the statistic that crossed; others, the recent mean.
                if isinstance(detector, PageHinkley):
                    score = float(detector.last_statistics[k])
                else:
                    score = recent
                events.append(
                    DriftEvent(
                        self.event_type,
                        self.name,
                        label,
                        score,
                        float(detector.threshold),
                        int(pos),
                        1,
                        details={"channel": channel, "recent_mean": recent},
                    )
                )
        for channel, z in streams.items():
            self.recent[channel].extend(z)
        return events

    def _category_shares(self, codes: NDArray[np.int64]) -> list[DriftEvent]:
        assert self.share_cusum is not None
        # Every channel reads the one row of codes + 1 (0 for null) through its own table.
        hits = self.share_cusum.update_coded(
            (codes + 1)[None, :], np.zeros(len(self.shares), np.int64), self.share_tables
        )
        events = []
        for channel, pos, stat in hits:
            code, p0, p1 = self.shares[channel]
            lo = max(0, pos + 1 - _SCORE_SPAN * 10)
            seen = codes[lo : pos + 1]
            seen = seen[seen >= 0]
            events.append(
                DriftEvent(
                    self.event_type,
                    self.name,
                    "category_share",
                    stat,
                    self.share_cusum.threshold,
                    pos,
                    1,
                    details={
                        "category_code": code,
                        "direction": "rise" if p1 > p0 else "fall",
                        "reference_share": float(self.width[..., code].flat[-1]),
                        "recent_share": float(np.mean(seen == code)) if seen.size else None,
                    },
                )
            )
        return events

    def _quality(self, values: NDArray[Any], bins: NDArray[np.int64]) -> NDArray[np.int8]:
        """Each row's data-quality code."""
        codes = np.empty(bins.shape[0], dtype=np.int8)
        numeric = np.ascontiguousarray(values, dtype=np.float64) if self.numeric else _NO_VALUES
        _quality_kernel(self.numeric, numeric, bins, self.lower.shape[-1] - 1, codes)
        return codes

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """Return every detector's state, with keys prefixed by the detector's name."""
        snap = {f"histogram.{k}": v for k, v in self.histogram.snapshot().items()}
        for channel, recent in self.recent.items():
            snap[f"recent.{channel}"] = recent.values.copy()
        for label, (_, detector) in self.sequential.items():
            snap.update({f"{label}.{k}": v for k, v in detector.snapshot().items()})
        if self.share_cusum is not None:
            snap.update({f"category_share.{k}": v for k, v in self.share_cusum.snapshot().items()})
        return snap

    def restore(self, snapshot: Mapping[str, NDArray[Any]]) -> None:
        """Restore every detector from a ``snapshot()``."""

        def part(prefix: str) -> dict[str, NDArray[Any]]:
            return {
                k[len(prefix) + 1 :]: v for k, v in snapshot.items() if k.startswith(prefix + ".")
            }

        self.histogram.restore(part("histogram"))
        for channel, recent in self.recent.items():
            recent.values = np.array(snapshot[f"recent.{channel}"], dtype=np.float64)
        for label, (_, detector) in self.sequential.items():
            detector.restore(part(label))
        if self.share_cusum is not None:
            self.share_cusum.restore(part("category_share"))
