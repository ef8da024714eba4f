"""Data quality as drift: per-feature shares of bad values, each watched by a Bernoulli CUSUM.

For every feature (and the prediction) the monitor follows, against the reference profile:

====================  ===================================================  ==================
measure               a record counts when the value is                    kinds
====================  ===================================================  ==================
``null_share``        null, NaN or absent (dead-lettered records included   all
                      when the field was required)
``infinite_share``    +inf or -inf                                         numeric
``out_of_range_share``  finite but outside the reference's [min, max]      numeric
``unseen_category_share``  a category outside the reference's               categorical
``type_error_share``  of the wrong type (the record was dead-lettered)      all
====================  ===================================================  ==================

Each measure is a 0/1 value per record (or no opinion: the share of out-of-range values
ignores null rows); a channel per measure watches for a rise above the reference share
(``engine.rates``), and a signal becomes a ``data_quality`` event naming the feature and the
measure. Records are fed in offset order, dead-lettered ones in their place, so the events
do not depend on how the stream was cut into batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from stream_monitor.detectors.cusum import BernoulliCUSUM
from stream_monitor.engine.column import (
    QUALITY_INFINITE,
    QUALITY_NONE,
    QUALITY_NULL,
    QUALITY_OK,
    QUALITY_OUTSIDE,
    QUALITY_TYPE,
    DriftEvent,
)
from stream_monitor.engine.rates import rise_channel
from stream_monitor.profile.model import ColumnProfile, NumericColumnProfile

_NAN = np.nan
# For each measure, the 0/1 value (NaN: no opinion) of each quality code, indexed by code.
_TABLES: dict[str, NDArray[np.float64]] = {}
for _measure, _ones, _zeros in (
    ("null_share", {QUALITY_NULL}, {QUALITY_OK, QUALITY_INFINITE, QUALITY_OUTSIDE}),
    ("infinite_share", {QUALITY_INFINITE}, {QUALITY_OK, QUALITY_OUTSIDE}),
    ("out_of_range_share", {QUALITY_OUTSIDE}, {QUALITY_OK}),
    ("unseen_category_share", {QUALITY_OUTSIDE}, {QUALITY_OK}),
    (
        "type_error_share",
        {QUALITY_TYPE},
        {QUALITY_OK, QUALITY_NULL, QUALITY_INFINITE, QUALITY_OUTSIDE},
    ),
):
    table = np.full(QUALITY_NONE + 1, _NAN)
    table[list(_ones)] = 1.0
    table[list(_zeros)] = 0.0
    _TABLES[_measure] = table


@dataclass(frozen=True, slots=True)
class QualityChannel:
    """One measure of one column: its reference share, and the CUSUM's two rates."""

    column: int
    feature: str
    measure: str
    reference_share: float
    p0: float
    p1: float


def quality_channels(columns: Sequence[ColumnProfile]) -> list[QualityChannel]:
    """The channels of every column given (by index in ``columns``)."""
    out = []
    for i, column in enumerate(columns):
        for measure, hits, n in _reference_shares(column):
            rates = rise_channel(hits, n)
            if rates is not None:
                share = hits / n if n > 0 else 0.0
                out.append(QualityChannel(i, column.name, measure, share, *rates))
    return out


def _reference_shares(column: ColumnProfile) -> list[tuple[str, float, float]]:
    """``(measure, reference hits, reference rows)`` of each measure of a column."""
    empty = column.null_count
    if isinstance(column, NumericColumnProfile):
        empty += column.nan_count
        infinite = column.pos_inf_count + column.neg_inf_count
        finite = column.count - empty - infinite
        # Continuous data: a fresh value falls outside n values' range with chance 2/(n+1).
        return [
            ("null_share", empty, column.count),
            ("infinite_share", infinite, column.count - empty),
            ("out_of_range_share", 2.0, finite + 1),
            ("type_error_share", 0.0, column.count),
        ]
    present = column.count - empty
    unseen = column.other_count + 1.0  # the next category may be new
    return [
        ("null_share", empty, column.count),
        ("unseen_category_share", unseen, present + 1),
        ("type_error_share", 0.0, column.count),
    ]


class QualityMonitor:
    """The quality channels of a data set, fed each batch's quality codes.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.engine.quality import QualityChannel, QualityMonitor
    >>> null = QualityChannel(0, "x", "null_share", 0.01, 0.011, 0.033)
    >>> monitor = QualityMonitor([null], threshold=23.0)
    >>> codes = np.zeros((1, 5_000), dtype=np.int8)
    >>> codes[0, 4_000:] = 1  # every value null from record 4,000 on
    >>> [(e.type, e.feature, e.detector, e.position) for e in monitor.update(codes)][:1]
    [('data_quality', 'x', 'null_share', 4020)]
    """

    def __init__(self, channels: Sequence[QualityChannel], threshold: float) -> None:
        self.channels = list(channels)
        self.cusum = (
            BernoulliCUSUM([c.p0 for c in channels], [c.p1 for c in channels], threshold)
            if channels
            else None
        )
        self._rows = np.array([c.column for c in channels], dtype=np.int64)
        self._tables = np.array([_TABLES[c.measure] for c in channels]).reshape(
            len(self.channels), QUALITY_NONE + 1
        )

    def update(self, codes: NDArray[np.int8]) -> list[DriftEvent]:
        """Feed a ``(columns, records)`` batch of quality codes; return the events, in order."""
        if self.cusum is None or codes.shape[1] == 0:
            return []
        events = []
        for k, pos, stat in self.cusum.update_coded(codes, self._rows, self._tables):
            channel = self.channels[k]
            span = codes[channel.column, max(0, pos + 1 - 1_000) : pos + 1]
            recent = self._tables[k][span]
            recent = recent[np.isfinite(recent)]
            details: Mapping[str, Any] = {
                "measure": channel.measure,
                "reference_share": channel.reference_share,
                "recent_share": float(recent.mean()) if recent.size else None,
            }
            events.append(
                DriftEvent(
                    "data_quality",
                    channel.feature,
                    channel.measure,
                    stat,
                    self.cusum.threshold,
                    pos,
                    1,
                    details=details,
                )
            )
        events.sort(key=lambda e: e.position)
        return events

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """The CUSUMs' state."""
        return {} if self.cusum is None else self.cusum.snapshot()

    def restore(self, snapshot: Mapping[str, NDArray[Any]]) -> None:
        """Continue from a ``snapshot()``."""
        if self.cusum is not None:
            self.cusum.restore(dict(snapshot))
