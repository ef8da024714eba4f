"""Tier 2 of the global windows: one column's partials from every input partition, merged
once all partitions are past a window, scored, and watched over the sequence of windows.
No I/O here, and no clock: what it decides depends on the partials alone, except when the
caller declares partitions idle (``expire``).

Tier 1 (``engine.partials``) reports, per partition and column, the windows it closed and
how far it has closed (``Report``). A window is complete when every input partition has
closed through its end; complete windows are merged in window order, each partition's
partial added in partition order, so the merged sums are the same doubles however the
reports arrived. The merged window is scored with the same functions as every other window
(``detectors.window.score_numeric`` and ``score_categorical``) and, for a numeric column,
its mean reference rank gives ``z``, standard normal under no drift whatever the column's
shape; Page-Hinkley watches the sequence of ``z``. The share of rows without a value is
tested against the reference's share.

A partition that reports nothing for ``idle_timeout`` may be declared idle by the caller:
it no longer holds windows back until it reports again. A partial that arrives for a window
already merged is late: its rows are counted (``late_rows``) but not merged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from stream_monitor.detectors import CategoricalReference
from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.detectors.page_hinkley import PageHinkley
from stream_monitor.detectors.window import score_categorical, score_numeric
from stream_monitor.engine.column import DriftEvent
from stream_monitor.engine.dataset import numeric_reference
from stream_monitor.engine.partials import NOTHING, Partial, WindowSpec
from stream_monitor.engine.rates import wilson_bound
from stream_monitor.profile.model import ColumnProfile, NumericColumnProfile

Partition = tuple[str, int]

#: Page-Hinkley over the windows' z (sd 1 under no drift): one value per window, so it may
#: start early and fires on a sustained shift of about half a standard error.
GLOBAL_PAGE_HINKLEY: dict[str, Any] = {
    "min_instances": 3,
    "delta": 0.5,
    "threshold": 10.0,
    "alpha": 1.0,
    "mode": "both",
}

_EVENT_TYPES = {
    "feature": "feature_drift",
    "target": "label_drift",
    "prediction": "prediction_drift",
}


@dataclass(frozen=True, slots=True)
class Report:
    """What one partition's tier 1 says about one column: the windows it closed since its
    last report (oldest first), and how far it has closed."""

    partition: Partition
    closed_through: int
    partials: tuple[Partial, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        topic, partition = self.partition
        return {
            "topic": topic,
            "partition": partition,
            "closed_through": self.closed_through,
            "partials": [p.to_json() for p in self.partials],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        """Read back what ``to_json`` wrote."""
        return cls(
            (str(data["topic"]), int(data["partition"])),
            int(data["closed_through"]),
            tuple(Partial.from_json(p) for p in data["partials"]),
        )


@dataclass(frozen=True, slots=True)
class GlobalWindow:
    """A merged window's verdicts: ``events`` (empty when nothing drifted)."""

    column: str
    start: int
    end: int
    rows: int
    missing: int
    partitions: int
    late_rows: int
    events: tuple[DriftEvent, ...]
    scores: dict[str, float] = field(default_factory=dict)


class GlobalColumn:
    """Tier 2 for one column (one key of the partials topic)."""

    def __init__(
        self,
        column: ColumnProfile,
        spec: WindowSpec,
        inputs: set[Partition],
        thresholds: Mapping[str, float | None],
    ) -> None:
        self.column = column
        self.spec = spec
        self.inputs = set(inputs)
        self.thresholds = dict(thresholds)
        self.numeric = isinstance(column, NumericColumnProfile)
        if isinstance(column, NumericColumnProfile):
            self.reference = numeric_reference(column)
            ranks, self.rank_mean, self.rank_sd = self.reference.rank_table()
            self.ranks = ranks[:-1]
            missing = column.count - column.finite_count
        else:
            self.categorical = CategoricalReference(column.counts)
            missing = column.null_count
        self.missing_p0 = wilson_bound(missing, column.count, upper=True)
        self.missing_p1 = max(3 * self.missing_p0, self.missing_p0 + 0.02)
        self.progress: dict[Partition, int] = {}
        self.idle: set[Partition] = set()
        self.pending: dict[int, dict[Partition, Partial]] = {}
        self.merged_through = NOTHING
        self.late_rows = 0
        self.page_hinkley = PageHinkley(**GLOBAL_PAGE_HINKLEY)

    # -- input -------------------------------------------------------------------------------
    def offer(self, report: Report) -> list[GlobalWindow]:
        """Take a report; return the windows it completed, in window order."""
        partition = report.partition
        self.inputs.add(partition)
        self.idle.discard(partition)
        reported = self.progress.get(partition, NOTHING)
        for partial in report.partials:
            end = partial.start + self.spec.window_ms
            if end <= reported:
                continue  # sent again (a replay after a restart, at least once): a duplicate
            if end <= self.merged_through:
                self.late_rows += partial.rows + partial.late  # merged without it: late
                continue
            self.pending.setdefault(partial.start, {})[partition] = partial
        if report.closed_through > self.progress.get(partition, NOTHING):
            self.progress[partition] = report.closed_through
        return self._merge_ready()

    def expire(self, idle: set[Partition]) -> list[GlobalWindow]:
        """Declare partitions idle (they reported nothing for the idle timeout): they hold no
        window back until they report again. Return the windows this completed."""
        self.idle |= idle & self.inputs
        return self._merge_ready()

    def waiting_for(self) -> set[Partition]:
        """The partitions the oldest pending window waits for."""
        if not self.pending:
            return set()
        end = min(self.pending) + self.spec.window_ms
        return {p for p in self.inputs - self.idle if self.progress.get(p, NOTHING) < end}

    # -- merging and scoring -------------------------------------------------------------------
    def _merge_ready(self) -> list[GlobalWindow]:
        active = self.inputs - self.idle
        if not active and not self.pending:
            return []
        through = min((self.progress.get(p, NOTHING) for p in active), default=None)
        if through is None:  # every partition idle: everything pending is complete
            through = max(self.pending) + self.spec.window_ms if self.pending else NOTHING
        out = []
        for start in sorted(self.pending):
            end = start + self.spec.window_ms
            if end > through:
                break
            out.append(self._score(start, self.pending.pop(start)))
            self.merged_through = max(self.merged_through, end)
        if through > self.merged_through and through != NOTHING:
            self.merged_through = through
        return out

    def _score(self, start: int, parts: dict[Partition, Partial]) -> GlobalWindow:
        ordered = [parts[p] for p in sorted(parts)]
        rows = sum(p.rows for p in ordered)
        missing = sum(p.missing for p in ordered)
        late = sum(p.late for p in ordered) + self.late_rows
        self.late_rows = 0
        events: list[DriftEvent] = []
        sequential: list[DriftEvent] = []  # after the window's own scores
        scores: dict[str, float] = {}
        kind = _EVENT_TYPES[self.column.role]
        name = self.column.name
        if isinstance(self.column, NumericColumnProfile):
            sketch = NumericSketch(self.column.edges)
            for p in ordered:
                part = NumericSketch(self.column.edges)
                part.restore(
                    {
                        "edges": self.column.edges,
                        "counts": p.counts,
                        "stats": p.stats,
                        "skipped": np.array([p.missing], dtype=np.int64),
                    }
                )
                sketch.merge(part)
            n = sketch.n
            window_scores = score_numeric(self.reference, sketch, self.thresholds) if n else ()
            if n:
                mean_rank = float(sketch.counts @ self.ranks) / n
                z = (mean_rank - self.rank_mean) / (self.rank_sd / math.sqrt(n))
                scores["z"] = z
                if self.page_hinkley.update_many(np.array([z])).size:
                    stat = float(self.page_hinkley.last_statistics[0])
                    sequential.append(
                        DriftEvent(
                            kind,
                            name,
                            "page_hinkley",
                            stat,
                            GLOBAL_PAGE_HINKLEY["threshold"],
                            0,
                            n,
                            details={"z": z},
                        )
                    )
        else:
            k = len(self.column.categories)
            sketch_c = CategoricalSketch(k)
            for p in ordered:
                sketch_c.counts += p.counts
                sketch_c.n_null += p.missing
            n = sketch_c.n
            window_scores = (
                score_categorical(self.categorical, sketch_c, self.thresholds) if n else ()
            )
        for score in window_scores:
            scores[score.method] = score.value
            if score.drift_detected:
                events.append(
                    DriftEvent(
                        kind, name, score.method, score.value, score.threshold, 0, n, score.p_value
                    )
                )
        events += sequential
        if rows:
            low = wilson_bound(missing, rows, upper=False)
            scores["missing_share"] = missing / rows
            if low > self.missing_p1:
                events.append(
                    DriftEvent(
                        "data_quality",
                        name,
                        "missing_share",
                        missing / rows,
                        self.missing_p1,
                        0,
                        rows,
                        details={
                            "reference_share": self.missing_p0,
                            "recent_share": missing / rows,
                        },
                    )
                )
        return GlobalWindow(
            name,
            start,
            start + self.spec.window_ms,
            rows,
            missing,
            len(ordered),
            late,
            tuple(events),
            scores,
        )

    # -- state -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The state as JSON-ready data plus the detector's arrays."""
        return {
            "progress": [[t, p, v] for (t, p), v in sorted(self.progress.items())],
            "idle": sorted([t, p] for t, p in self.idle),
            "inputs": sorted([t, p] for t, p in self.inputs),
            "pending": [
                [start, [[t, p, part.to_json()] for (t, p), part in sorted(parts.items())]]
                for start, parts in sorted(self.pending.items())
            ],
            "merged_through": self.merged_through,
            "late_rows": self.late_rows,
            "page_hinkley": {k: v.tolist() for k, v in self.page_hinkley.snapshot().items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Replace the state by what ``snapshot`` returned."""
        self.progress = {(t, p): int(v) for t, p, v in state["progress"]}
        self.idle = {(t, p) for t, p in state["idle"]}
        self.inputs |= {(t, p) for t, p in state["inputs"]}
        self.pending = {
            int(start): {(t, p): Partial.from_json(part) for t, p, part in parts}
            for start, parts in state["pending"]
        }
        self.merged_through = int(state["merged_through"])
        self.late_rows = int(state["late_rows"])
        self.page_hinkley.restore({k: np.asarray(v) for k, v in state["page_hinkley"].items()})
