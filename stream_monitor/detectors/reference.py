"""What a column's detectors need from its reference profile, as plain arrays."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from stream_monitor.detectors.scores import Shares

__all__ = ["CategoricalReference", "NumericReference", "Reference"]

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class NumericReference:
    """What a numeric detector needs from the reference profile.

    ``edges`` and ``counts`` are the fine bins (``counts`` has ``len(edges) + 1`` entries with
    under- and overflow); ``score_bin_of_fine`` maps each fine bin to its score bin.
    """

    edges: NDArray[np.float64]
    counts: NDArray[np.int64]
    score_bin_of_fine: NDArray[np.int64]
    std: float
    #: What scoring derives from the arrays, kept: they are not changed once built.
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def rank_table(self) -> tuple[NDArray[np.float64], float, float]:
        """Each fine bin's mid-rank in the reference, and the mean and sd of those ranks.

        A value in bin ``j`` maps to ``(C[j-1] + counts[j] / 2) / N``, with ``C`` the
        cumulative reference counts, and the underflow and overflow bins to 0 and 1. Under no
        drift these ranks keep the reference's distribution, whatever the column's shape, and
        they are bounded in [0, 1]. The table has one more entry, NaN, for index -1.
        """
        counts = self.counts.astype(np.float64)
        total = counts.sum()
        before = np.concatenate([[0.0], np.cumsum(counts)[:-1]])
        ranks = (before + 0.5 * counts) / total
        ranks[0], ranks[-1] = 0.0, 1.0
        mean = float(np.sum(ranks * counts) / total)
        sd = float(np.sqrt(np.sum(counts * (ranks - mean) ** 2) / total))
        return np.append(ranks, np.nan), mean, sd

    def score_counts(self, fine_counts: NDArray[np.int64]) -> NDArray[np.int64]:
        """Sum fine-bin counts into score bins."""
        starts = _kept(self._derived, "starts", lambda: _runs(self.score_bin_of_fine))
        if starts.shape[0] and np.issubdtype(fine_counts.dtype, np.integer):
            # Each score bin a run of fine bins: one sum per run, the same integers.
            summed: NDArray[np.int64] = np.add.reduceat(fine_counts, starts).astype(
                np.int64, copy=False
            )
            return summed
        n_bins = int(self.score_bin_of_fine.max()) + 1
        merged: NDArray[np.int64] = np.bincount(
            self.score_bin_of_fine, weights=fine_counts, minlength=n_bins
        ).astype(np.int64)
        return merged

    @property
    def score_shares(self) -> Shares:
        """The shares of the reference's counts in the score bins."""
        return _kept(self._derived, "shares", lambda: Shares.of(self.reference_score_counts))

    @property
    def reference_score_counts(self) -> NDArray[np.int64]:
        """The reference's counts in the score bins."""
        return _kept(self._derived, "score_counts", lambda: self.score_counts(self.counts))


def _kept(derived: dict[str, Any], key: str, make: Callable[[], _T]) -> _T:
    """``derived[key]``, made the first time it is asked for."""
    found = derived.get(key)
    if found is None:
        found = derived[key] = make()
    return found


def _runs(score_bin_of_fine: NDArray[np.int64]) -> NDArray[np.intp]:
    """Where each score bin's run of fine bins starts, when score bins 0, 1, 2, ... each
    take consecutive fine bins; else no starts."""
    steps = np.diff(score_bin_of_fine)
    consecutive = bool(((steps == 0) | (steps == 1)).all())
    if score_bin_of_fine.shape[0] == 0 or score_bin_of_fine[0] != 0 or not consecutive:
        return np.empty(0, dtype=np.intp)
    return np.flatnonzero(np.concatenate([[1], steps]))


@dataclass(frozen=True, slots=True)
class CategoricalReference:
    """What a categorical detector needs: counts of the top ``K`` categories, then "other"."""

    counts: NDArray[np.int64]
    _derived: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def n_categories(self) -> int:
        """Number of named categories (``K``); code ``K`` is "other"."""
        return int(self.counts.shape[0] - 1)

    @property
    def score_shares(self) -> Shares:
        """The shares of the reference's counts (kept: ``counts`` is not changed once built)."""
        return _kept(self._derived, "shares", lambda: Shares.of(self.counts))


Reference = NumericReference | CategoricalReference
