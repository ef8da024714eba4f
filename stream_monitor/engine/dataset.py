"""All the monitors of a data set, built from its reference profile and fed DataFrames.

Each profiled column gets a ``ColumnMonitor``: features raise ``feature_drift``, the target
``label_drift`` and the prediction ``prediction_drift``. The features and the prediction
also feed the ``QualityMonitor`` (``data_quality``); the target is left out there, since
labels often arrive apart from the records. Every rate channel (quality measures and
category shares) shares one threshold, from the false-alarm budget (``engine.rates``).

When both the target and the prediction are profiled, a concept monitor watches the model's
errors: for a categorical target the error indicator (prediction differs from target) feeds
DDM and ADWIN; for a numeric target the absolute residual, in reference standard deviations
of the target, feeds ADWIN and Page-Hinkley. A rise in either is ``concept_drift``. A
numeric prediction against a boolean target is read as a probability: the predicted label is
``prediction >= 0.5``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.detectors import CategoricalReference, NumericReference
from stream_monitor.detectors.cusum import threshold_for
from stream_monitor.detectors.registry import Detector, make_detector
from stream_monitor.engine.column import QUALITY_NONE, ColumnMonitor, DriftEvent, RecentValues
from stream_monitor.engine.quality import QualityMonitor, quality_channels
from stream_monitor.engine.rates import BUDGET_RECORDS, FALSE_ALARMS
from stream_monitor.profile.model import (
    CategoricalColumnProfile,
    ColumnProfile,
    NumericColumnProfile,
    Profile,
)
from stream_monitor.profile.multivariate import FEATURE
from stream_monitor.profile.seasonal import slot_times
from stream_monitor.settings import (
    STREAM_ADWIN,
    STREAM_DDM,
    STREAM_PAGE_HINKLEY,
    STREAM_WINDOW_ROWS,
)

_EVENT_TYPES = {
    "feature": "feature_drift",
    "target": "label_drift",
    "prediction": "prediction_drift",
}


@dataclass(frozen=True)
class MonitorSettings:
    """What to run on each column. ``None`` as a threshold means the method's default."""

    window: int = STREAM_WINDOW_ROWS
    numeric_methods: Mapping[str, float | None] = field(default_factory=lambda: {"psi": None})
    categorical_methods: Mapping[str, float | None] = field(
        default_factory=lambda: {"jensen_shannon": None}
    )
    adwin: Mapping[str, Any] | None = field(default_factory=lambda: dict(STREAM_ADWIN))
    page_hinkley: Mapping[str, Any] | None = field(
        default_factory=lambda: dict(STREAM_PAGE_HINKLEY)
    )
    concept_drift: bool = True
    data_quality: bool = True
    category_shares: bool = True
    #: The event-time field; with a seasonal profile, records are scored against their slot.
    timestamp_field: str | None = None
    #: Watch the reconstruction error of the profile's PCA, when it has one.
    multivariate: bool = True


@dataclass(frozen=True, slots=True)
class Interleaved:
    """Where a batch's dead-lettered records sit among its decoded rows.

    The batch's records, in offset order, are numbered ``0..n-1``: ``row_slots[i]`` is row
    ``i``'s number and ``dead_slots[j]`` dead record ``j``'s; ``dead_codes[c, j]`` is dead
    record ``j``'s quality code for profile column ``c`` (``QUALITY_TYPE`` for a field of the
    wrong type, ``QUALITY_NULL`` for a required field that was absent, ``QUALITY_NONE`` when
    the record says nothing about the column).
    """

    row_slots: NDArray[np.int64]
    dead_slots: NDArray[np.int64]
    dead_codes: NDArray[np.int8]


@dataclass(frozen=True, slots=True)
class ColumnArrays:
    """A batch as the detectors read it: each profile column's values as one array.

    A numeric column's values are float64 (NaN for null); a categorical column's are its
    codes (``category_codes``). ``decode.Decoder`` can decode payloads straight into this.
    """

    height: int
    values: Mapping[str, NDArray[Any]]


def numeric_reference(column: NumericColumnProfile) -> NumericReference:
    """The detector-side view of a numeric column's profile."""
    return NumericReference(column.edges, column.counts, column.score_bin_of_fine, column.std)


def category_codes(frame: pl.DataFrame, column: CategoricalColumnProfile) -> NDArray[np.int64]:
    """Codes of a categorical column: its index among the profile's categories, ``K`` for any
    other value, ``-1`` for null."""
    k = len(column.categories)
    series = frame.get_column(column.name)
    if series.dtype == pl.Boolean:
        series = series.cast(pl.String).str.to_lowercase()
    text = series.cast(pl.String)
    codes = text.replace_strict(
        list(column.categories), list(range(k)), default=k, return_dtype=pl.Int64
    )
    # replace_strict gives nulls the default too: put them back as -1 (missing).
    codes = pl.select(pl.when(text.is_null()).then(-1).otherwise(codes)).to_series()
    result: NDArray[np.int64] = codes.to_numpy()
    return result


def numeric_values(frame: pl.DataFrame, name: str) -> NDArray[np.float64]:
    """A numeric column as float64, with nulls as NaN."""
    series = frame.get_column(name)
    if series.dtype != pl.Float64:
        series = series.cast(pl.Float64, strict=False)
    values: NDArray[np.float64] = series.to_numpy(allow_copy=True)
    return values


class ConceptMonitor:
    """Watches the model's errors when both the target and the prediction are present."""

    def __init__(
        self, target: ColumnProfile, prediction: ColumnProfile, settings: MonitorSettings
    ) -> None:
        self.target = target
        self.prediction = prediction
        self.classification = not isinstance(target, NumericColumnProfile)
        #: A 0/1 label, profiled as the categories "0" and "1".
        self.zero_one = isinstance(target, CategoricalColumnProfile) and set(target.categories) <= {
            "0",
            "1",
        }
        self.detectors: dict[str, Detector] = {}
        if self.classification:
            self.detectors["ddm"] = make_detector("ddm", STREAM_DDM)
        if settings.adwin is not None:
            self.detectors["adwin"] = make_detector("adwin", settings.adwin)
        if not self.classification and settings.page_hinkley is not None:
            # Only growing errors are concept drift.
            ph = {**settings.page_hinkley, "mode": "up"}
            self.detectors["page_hinkley"] = make_detector("page_hinkley", ph)
        scale = target.std if isinstance(target, NumericColumnProfile) else 1.0
        self.scale = 1.0 / scale if scale > 0 else 1.0
        self.recent = RecentValues()

    @staticmethod
    def reads_arrays(target: ColumnProfile, prediction: ColumnProfile) -> bool:
        """Whether the errors follow from ``ColumnArrays`` alone: a numeric target, or a
        numeric prediction (a probability) against a boolean or 0/1 target. Other pairs
        compare the values' text, which category codes do not keep."""
        if isinstance(target, NumericColumnProfile):
            return isinstance(prediction, NumericColumnProfile)
        assert isinstance(target, CategoricalColumnProfile)
        labels = {"true", "false"} if target.kind == "boolean" else {"0", "1"}
        return isinstance(prediction, NumericColumnProfile) and set(target.categories) <= labels

    def errors(self, batch: pl.DataFrame | ColumnArrays) -> NDArray[np.float64]:
        """The error stream of a batch: 0/1 indicators, or absolute scaled residuals."""
        t, p = self.target.name, self.prediction.name
        if isinstance(batch, ColumnArrays):
            return self._errors_of_arrays(batch)
        frame = batch
        if self.classification:
            truth = frame.get_column(t)
            guess = frame.get_column(p)
            if truth.dtype == pl.Boolean and guess.dtype.is_numeric():
                # A probability against a boolean label: the predicted label is p >= 0.5.
                wrong = (guess.cast(pl.Float64) >= 0.5) != truth
            elif self.zero_one and guess.dtype.is_numeric():
                # A probability against a 0/1 label (categories "0" and "1").
                wrong = (guess.cast(pl.Float64) >= 0.5) != (truth.cast(pl.String) == "1")
            elif self.zero_one:
                # 0/1 labels both: compare as numbers, so that "1.0" predicts "1".
                as_number = guess.cast(pl.String).cast(pl.Float64, strict=False)
                wrong = as_number != truth.cast(pl.String).cast(pl.Float64, strict=False)
            else:
                wrong = truth.cast(pl.String) != guess.cast(pl.String)
            wrong = wrong.cast(pl.Float64)
            values: NDArray[np.float64] = wrong.to_numpy(allow_copy=True)
            return values
        residual = np.abs(numeric_values(frame, p) - numeric_values(frame, t)) * self.scale
        return residual

    def _errors_of_arrays(self, batch: ColumnArrays) -> NDArray[np.float64]:
        guess = batch.values[self.prediction.name]
        truth = batch.values[self.target.name]
        if not self.classification:
            residual: NDArray[np.float64] = np.abs(guess - truth) * self.scale
            return residual
        assert isinstance(self.target, CategoricalColumnProfile)
        positive = "true" if self.target.kind == "boolean" else "1"
        cats = list(self.target.categories)
        code = cats.index(positive) if positive in cats else -2
        wrong: NDArray[np.float64] = ((guess >= 0.5) != (truth == code)).astype(np.float64)
        # Nulls on either side are no opinion, as in the frame path.
        wrong[(truth < 0) | np.isnan(guess)] = np.nan
        return wrong

    def update(self, batch: pl.DataFrame | ColumnArrays) -> list[DriftEvent]:
        """Feed one batch; return the concept-drift events, in row order."""
        errors = self.errors(batch)
        events = []
        for label, detector in self.detectors.items():
            for pos in detector.update_many(errors):
                events.append(
                    DriftEvent(
                        "concept_drift",
                        self.target.name,
                        label,
                        self.recent.mean_at(errors, int(pos)),
                        float(detector.threshold),
                        int(pos),
                        1,
                    )
                )
        self.recent.extend(errors)
        return events

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """Every detector's state, keys prefixed by the detector's name."""
        snap: dict[str, NDArray[Any]] = {"recent": self.recent.values.copy()}
        for label, detector in self.detectors.items():
            snap.update({f"{label}.{k}": v for k, v in detector.snapshot().items()})
        return snap

    def restore(self, snapshot: Mapping[str, NDArray[Any]]) -> None:
        """Restore from ``snapshot()``."""
        self.recent.values = np.array(snapshot["recent"], dtype=np.float64)
        for label, detector in self.detectors.items():
            prefix = f"{label}."
            detector.restore(
                {k[len(prefix) :]: v for k, v in snapshot.items() if k.startswith(prefix)}
            )


class DatasetMonitor:
    """Every column's monitor, and the concept monitor, for one stream of records.

    ``update(frame)`` takes a DataFrame holding (at least) the profiled columns and returns
    the drift events raised, ordered by row. A missing column counts as all-null.
    """

    def __init__(self, profile: Profile, settings: MonitorSettings | None = None) -> None:
        self.profile = profile
        self.settings = settings or MonitorSettings()
        s = self.settings
        references = [
            numeric_reference(c)
            if isinstance(c, NumericColumnProfile)
            else CategoricalReference(c.counts)
            for c in profile.columns
        ]
        channels = quality_channels(profile.columns) if s.data_quality else []
        channels = [c for c in channels if profile.columns[c.column].role != "target"]
        season = profile.seasonality
        self.timestamp = (s.timestamp_field or season.timestamp) if season is not None else None
        slot_counts = {} if season is None else dict(season.counts)
        shares = (
            sum(
                len(ColumnMonitor.share_channels(r))
                for c, r in zip(profile.columns, references, strict=True)
                if c.name not in slot_counts
            )
            if s.category_shares
            else 0
        )
        #: The threshold (nats) of every rate channel: the budget shared by all of them.
        self.rate_threshold = threshold_for(len(channels) + shares, BUDGET_RECORDS, FALSE_ALARMS)
        self.columns: dict[str, ColumnMonitor] = {}
        for i, (column, reference) in enumerate(zip(profile.columns, references, strict=True)):
            numeric = isinstance(column, NumericColumnProfile)
            self.columns[column.name] = ColumnMonitor(
                column.name,
                reference,
                index=i,
                event_type=_EVENT_TYPES[column.role],
                window=s.window,
                methods=s.numeric_methods if numeric else s.categorical_methods,
                adwin=s.adwin,
                page_hinkley=s.page_hinkley,
                share_threshold=self.rate_threshold if s.category_shares else None,
                slot_counts=slot_counts.get(column.name),
            )
        self.quality = QualityMonitor(channels, self.rate_threshold)
        fitted = profile.reconstruction if s.multivariate else None
        self.reconstruction = fitted
        self.multivariate = (
            ColumnMonitor(
                FEATURE,
                numeric_reference(fitted.error),
                index=len(profile.columns),
                event_type="multivariate_drift",
                window=s.window,
                methods=s.numeric_methods,
                adwin=s.adwin,
                page_hinkley=s.page_hinkley,
            )
            if fitted is not None
            else None
        )
        #: Rows fed so far: the index in the stream of the next batch's first row.
        self.rows = 0
        target, prediction = profile.target, profile.prediction
        self.concept = (
            ConceptMonitor(target, prediction, s)
            if s.concept_drift and target is not None and prediction is not None
            else None
        )

    def update(
        self, batch: pl.DataFrame | ColumnArrays, interleaved: Interleaved | None = None
    ) -> list[DriftEvent]:
        """Feed one batch of records; return the drift events, ordered by row.

        ``interleaved`` places the batch's dead-lettered records among its rows, for the
        quality measures; the positions of ``data_quality`` events count them too.
        """
        columns = batch if isinstance(batch, ColumnArrays) else self.column_arrays(batch)
        events: list[DriftEvent] = []
        slots = None if isinstance(batch, ColumnArrays) else self._slots(batch)
        for column in self.profile.columns:
            monitor = self.columns[column.name]
            events.extend(monitor.update_many(columns.values[column.name], self.rows, slots))
        if self.multivariate is not None:
            events.extend(self._multivariate(self.multivariate, columns.values))
        if self.concept is not None:
            events.extend(self.concept.update(batch))
        events.sort(key=lambda e: e.position)
        events.extend(self.quality.update(self._quality_codes(columns.height, interleaved)))
        self.rows += columns.height
        return events

    def column_arrays(self, frame: pl.DataFrame) -> ColumnArrays:
        """A decoded frame's profile columns as the detectors read them (a missing column
        counts as all-null)."""
        frame = self._with_all_columns(frame)
        values: dict[str, NDArray[Any]] = {}
        for column in self.profile.columns:
            if isinstance(column, NumericColumnProfile):
                values[column.name] = numeric_values(frame, column.name)
            else:
                values[column.name] = category_codes(frame, column)
        return ColumnArrays(frame.height, values)

    def _multivariate(
        self, monitor: ColumnMonitor, numeric: Mapping[str, NDArray[Any]]
    ) -> list[DriftEvent]:
        """Events on the reconstruction error, naming the features whose residuals grew."""
        fitted = self.reconstruction
        assert fitted is not None  # there is a multivariate monitor only with a fit
        errors, squared = fitted.errors(np.column_stack([numeric[n] for n in fitted.features]))
        events = []
        for event in monitor.update_many(errors, self.rows):
            lo = max(0, event.position + 1 - 1_000)
            found = fitted.contributions(squared[lo : event.position + 1])
            details = {**(event.details or {}), "contributors": found}
            events.append(replace(event, details=details))
        return events

    def _slots(self, frame: pl.DataFrame) -> NDArray[np.float64] | None:
        """Each row's time in hours into its period under a seasonal profile (NaN: none)."""
        season = self.profile.seasonality
        if season is None or self.timestamp is None:
            return None
        if self.timestamp not in frame.columns:
            return np.full(frame.height, np.nan)
        return slot_times(frame.get_column(self.timestamp), season.period)

    def _quality_codes(self, rows: int, interleaved: Interleaved | None) -> NDArray[np.int8]:
        """The batch's quality codes, one row per profile column, one column per record."""
        monitors = list(self.columns.values())
        if interleaved is None:
            return (
                np.stack([m.quality_codes for m in monitors])
                if monitors
                else np.empty((0, rows), dtype=np.int8)
            )
        n = interleaved.row_slots.shape[0] + interleaved.dead_slots.shape[0]
        codes = np.full((len(monitors), n), QUALITY_NONE, dtype=np.int8)
        for c, monitor in enumerate(monitors):
            codes[c, interleaved.row_slots] = monitor.quality_codes
        codes[:, interleaved.dead_slots] = interleaved.dead_codes
        return codes

    def _with_all_columns(self, frame: pl.DataFrame) -> pl.DataFrame:
        missing = [c for c in self.profile.names if c not in frame.columns]
        if not missing:
            return frame
        return frame.with_columns(pl.lit(None).alias(c) for c in missing)

    def snapshot(self) -> dict[str, NDArray[Any]]:
        """All detector state as named numpy arrays (``c<column index>/<detector>.<array>``).

        Columns are named by their index in the profile, so any column name is safe.
        """
        snap: dict[str, NDArray[Any]] = {}
        for i, monitor in enumerate(self.columns.values()):
            snap.update({f"c{i}/{k}": v for k, v in monitor.snapshot().items()})
        if self.concept is not None:
            snap.update({f"concept/{k}": v for k, v in self.concept.snapshot().items()})
        snap.update({f"quality/{k}": v for k, v in self.quality.snapshot().items()})
        if self.multivariate is not None:
            snap.update({f"multivariate/{k}": v for k, v in self.multivariate.snapshot().items()})
        snap["rows"] = np.array([self.rows], dtype=np.int64)
        return snap

    def restore(self, snapshot: Mapping[str, NDArray[Any]]) -> None:
        """Restore all detector state from ``snapshot()``."""
        for i, monitor in enumerate(self.columns.values()):
            prefix = f"c{i}/"
            monitor.restore(
                {k[len(prefix) :]: v for k, v in snapshot.items() if k.startswith(prefix)}
            )
        if self.concept is not None:
            prefix = "concept/"
            self.concept.restore(
                {k[len(prefix) :]: v for k, v in snapshot.items() if k.startswith(prefix)}
            )
        prefix = "quality/"
        self.quality.restore(
            {k[len(prefix) :]: v for k, v in snapshot.items() if k.startswith(prefix)}
        )
        if self.multivariate is not None:
            prefix = "multivariate/"
            self.multivariate.restore(
                {k[len(prefix) :]: v for k, v in snapshot.items() if k.startswith(prefix)}
            )
        self.rows = int(snapshot["rows"][0])
