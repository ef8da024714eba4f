"""What a column's detectors need from its reference profile, as plain arrays."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

__all__ = ["CategoricalReference", "NumericReference", "Reference"]


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
        n_bins = int(self.score_bin_of_fine.max()) + 1
        merged: NDArray[np.int64] = np.bincount(
            self.score_bin_of_fine, weights=fine_counts, minlength=n_bins
        ).astype(np.int64)
        return merged


@dataclass(frozen=True, slots=True)
class CategoricalReference:
    """What a categorical detector needs: counts of the top ``K`` categories, then "other"."""

    counts: NDArray[np.int64]

    @property
    def n_categories(self) -> int:
        """Number of named categories (``K``); code ``K`` is "other"."""
        return int(self.counts.shape[0] - 1)


Reference = NumericReference | CategoricalReference
