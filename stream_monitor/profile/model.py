"""The reference profile: what the reference data looks like, one column at a time.

A numeric column keeps two levels of quantile bins over the same edges. The fine level has
``sketch_bins`` bins whose edges are the reference quantiles at ``i / sketch_bins``; the score
level groups every ``sketch_bins / bins`` consecutive fine bins into one of ``bins`` bins,
whose edges are the quantiles at ``j / bins`` (the same doubles). Repeated quantiles collapse,
so a column with ties has fewer edges. The bins follow ``NumericSketch``'s layout: underflow,
interior bins, overflow. ``score_bin_of_fine`` maps each fine bin, under- and overflow
included, to its score bin, so that any window counted into the fine bins also gives its
score-bin counts.

A categorical column keeps its ``top_k`` most frequent categories and an "other" count, in
``CategoricalSketch``'s layout. Boolean columns are categorical with the categories
``("false", "true")``.

Every array is read-only: a profile is a value, shared by every job that reads it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stream_monitor.detectors.histogram import CategoricalSketch, NumericSketch
from stream_monitor.errors import ColumnError
from stream_monitor.profile.seasonal import Seasonality

if TYPE_CHECKING:
    from stream_monitor.profile.multivariate import Reconstruction

__all__ = [
    "PROFILE_FORMAT_VERSION",
    "CategoricalColumnProfile",
    "ColumnKind",
    "ColumnProfile",
    "ColumnRole",
    "NumericColumnProfile",
    "Profile",
    "ProfileMetadata",
]

#: Version 2 added the per-slot counts of seasonal profiles; version 1 files still read.
PROFILE_FORMAT_VERSION = 2

ColumnKind = Literal["numeric", "categorical", "boolean"]
ColumnRole = Literal["feature", "target", "prediction"]
_ROLES: tuple[ColumnRole, ...] = ("feature", "target", "prediction")


def _frozen(values: ArrayLike, dtype: type[np.generic]) -> NDArray[Any]:
    """Return a read-only 1-D copy of ``values``."""
    arr = np.array(values, dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"expected a 1-D array, got {arr.ndim} dimensions")
    arr.setflags(write=False)
    return arr


def _same(a: object, b: object) -> bool:
    """Equality that compares arrays element-wise (dtype included) and lets NaN equal NaN."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))
        )
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


class _ColumnBase:
    """Value equality (arrays compared element-wise) and the role check of both column kinds."""

    name: str
    role: ColumnRole

    def _check_role(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"column {self.name!r}: role must be one of {_ROLES}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return all(
            _same(getattr(self, f.name), getattr(other, f.name)) for f in fields(cast(Any, self))
        )

    # Arrays are unhashable, so are the profiles that hold them; mypy wants a method here.
    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class NumericColumnProfile(_ColumnBase):
    """Counts, moments and quantile bins of a numeric column.

    ``count`` is the number of rows; ``null_count``, ``nan_count``, ``pos_inf_count`` and
    ``neg_inf_count`` split the rows that hold no finite value, and ``counts`` (one entry per
    bin, under- and overflow included) counts the finite ones. ``min``, ``max``, ``mean`` and
    ``std`` (population, ``ddof=0``) are over the finite values.
    """

    kind: ClassVar[Literal["numeric"]] = "numeric"

    name: str
    role: ColumnRole
    dtype: str
    count: int
    null_count: int
    nan_count: int
    pos_inf_count: int
    neg_inf_count: int
    min: float
    max: float
    mean: float
    std: float
    edges: NDArray[np.float64]
    counts: NDArray[np.int64]
    quantile_probs: NDArray[np.float64]
    quantiles: NDArray[np.float64]
    score_bin_of_fine: NDArray[np.int64]

    def __post_init__(self) -> None:
        self._check_role()
        for name, dtype in (
            ("edges", np.float64),
            ("counts", np.int64),
            ("quantile_probs", np.float64),
            ("quantiles", np.float64),
            ("score_bin_of_fine", np.int64),
        ):
            object.__setattr__(self, name, _frozen(getattr(self, name), dtype))
        n_bins = self.edges.shape[0] + 1
        if self.counts.shape[0] != n_bins or self.score_bin_of_fine.shape[0] != n_bins:
            raise ValueError(f"column {self.name!r}: counts and score_bin_of_fine need {n_bins}")
        if self.quantile_probs.shape != self.quantiles.shape:
            raise ValueError(f"column {self.name!r}: one quantile per probability")
        missing = self.null_count + self.nan_count + self.pos_inf_count + self.neg_inf_count
        if self.finite_count + missing != self.count:
            raise ValueError(f"column {self.name!r}: the counts do not add up to {self.count}")

    @property
    def finite_count(self) -> int:
        """Number of finite values: the sum of ``counts``."""
        return int(self.counts.sum())

    @property
    def score_edges(self) -> NDArray[np.float64]:
        """Edges of the score bins: the fine edges where ``score_bin_of_fine`` steps."""
        # Fine bin i (1..m-1) spans edges[i-1]..edges[i]; a score bin ends where the next
        # fine bin belongs to another score bin.
        steps = np.flatnonzero(np.diff(self.score_bin_of_fine[1:-1])) + 1
        return np.concatenate([self.edges[:1], self.edges[steps], self.edges[-1:]])

    @property
    def score_counts(self) -> NDArray[np.int64]:
        """Counts per score bin, under- and overflow included."""
        n = int(self.score_bin_of_fine[-1]) + 1
        out = np.zeros(n, dtype=np.int64)
        np.add.at(out, self.score_bin_of_fine, self.counts)
        return out

    def sketch(self) -> NumericSketch:
        """Return an empty sketch over this column's fine edges."""
        return NumericSketch(self.edges)


@dataclass(frozen=True, eq=False)
class CategoricalColumnProfile(_ColumnBase):
    """Frequencies of the most frequent categories of a categorical or boolean column.

    ``category_counts[i]`` counts ``categories[i]``; ``other_count`` counts the non-null values
    outside them; ``n_distinct`` is the number of distinct non-null values seen.
    """

    name: str
    role: ColumnRole
    kind: Literal["categorical", "boolean"]
    dtype: str
    count: int
    null_count: int
    n_distinct: int
    categories: tuple[str, ...]
    category_counts: NDArray[np.int64]
    other_count: int

    def __post_init__(self) -> None:
        self._check_role()
        if self.kind not in ("categorical", "boolean"):
            raise ValueError(f"column {self.name!r}: kind must be categorical or boolean")
        object.__setattr__(self, "categories", tuple(self.categories))
        object.__setattr__(self, "category_counts", _frozen(self.category_counts, np.int64))
        if len(self.categories) != self.category_counts.shape[0]:
            raise ValueError(f"column {self.name!r}: one count per category")
        if int(self.category_counts.sum()) + self.other_count + self.null_count != self.count:
            raise ValueError(f"column {self.name!r}: the counts do not add up to {self.count}")

    @property
    def counts(self) -> NDArray[np.int64]:
        """Counts in ``CategoricalSketch``'s layout: one per category, then "other"."""
        return np.append(self.category_counts, np.int64(self.other_count))

    def sketch(self) -> CategoricalSketch:
        """Return an empty sketch over this column's categories."""
        return CategoricalSketch(n_categories=len(self.categories))


ColumnProfile = NumericColumnProfile | CategoricalColumnProfile


@dataclass(frozen=True)
class ProfileMetadata:
    """Where a profile comes from and how it was computed.

    ``quantile_sample`` is the configured sample size and ``quantile_sample_rows`` the number
    of rows actually sampled; the quantiles are exact when it equals ``row_count``.
    ``excluded`` maps each column of the source left out of the profile to the reason.
    """

    format_version: int
    created_at: str
    source: str
    row_count: int
    bins: int
    sketch_bins: int
    top_k: int
    quantile_sample: int
    quantile_sample_rows: int
    seed: int
    stream_monitor_version: str
    excluded: Mapping[str, str]

    @property
    def exact_quantiles(self) -> bool:
        """Whether the quantiles were computed from every row."""
        return self.quantile_sample_rows == self.row_count


@dataclass(frozen=True)
class Profile:
    """The profile of a reference data set: its columns, in source order, and metadata."""

    columns: tuple[ColumnProfile, ...]
    metadata: ProfileMetadata
    #: Per-slot counts of every column, for a reference with a daily or weekly cycle.
    seasonality: Seasonality | None = None
    #: PCA of the numeric features, for multivariate drift (``profile.multivariate``).
    reconstruction: Reconstruction | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "columns", tuple(self.columns))
        names = self.names
        if len(set(names)) != len(names):
            raise ValueError("column names must be unique")
        for role in ("target", "prediction"):
            if sum(c.role == role for c in self.columns) > 1:
                raise ValueError(f"at most one column can be the {role}")

    @classmethod
    def load(cls, path: str | Path) -> Profile:
        """Read a profile file (``stream-monitor profile`` writes them)."""
        from stream_monitor.profile.store import read_profile

        return read_profile(path)

    def save(self, path: str | Path) -> None:
        """Write the profile to ``path`` as Parquet (``docs/profile-format.md``)."""
        from stream_monitor.profile.store import write_profile

        write_profile(self, path)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the profiled columns, in source order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnProfile:
        """Return the profile of column ``name``."""
        for c in self.columns:
            if c.name == name:
                return c
        raise ColumnError(f"column {name!r} is not in the profile of {self.metadata.source}")

    @property
    def features(self) -> tuple[ColumnProfile, ...]:
        """The columns whose role is ``feature``."""
        return tuple(c for c in self.columns if c.role == "feature")

    @property
    def target(self) -> ColumnProfile | None:
        """The target column, if the profile has one."""
        return next((c for c in self.columns if c.role == "target"), None)

    @property
    def prediction(self) -> ColumnProfile | None:
        """The prediction column, if the profile has one."""
        return next((c for c in self.columns if c.role == "prediction"), None)
