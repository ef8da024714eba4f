"""Data quality as drift, for the batch jobs: shares of bad values held to the reference's.

A column has shares that should not grow (``DataQuality``): nulls and NaN among its rows
(``missing``), infinities among its rows (``infinite``), finite values outside the
reference's [min, max] (``out_of_range``, numeric), values of a category the reference never
saw (``unseen_category``, categorical). Each share is held to the reference's by a one-sided
Fisher exact test (``share_increase_p_value``, threshold 0.001 by default) *and* a least
practical effect (at least one percentage point more, or twice the reference share and a
tenth of a point more), so that sampling noise does not fire on any sample size and trivial
changes do not fire on huge ones. The reference's own share outside its range, or of unseen
categories, is taken leave-one-out: the values that would be outside the range of the others
(a unique minimum or maximum), or of a category seen once (Good-Turing's estimate of the
unseen share). A column with no value at all in the current data always has drifted in
quality.

Everything here works on counts, so that ``check-drift`` (one column of two data sets) and
``monitor-predictions`` (one column, window by window) judge them the same way.

>>> rule = QualityRule()
>>> quality = categorical_quality((1000, 0), 0, (1000, 0), 30, rule)
>>> [(c.name, c.current_share, c.drift_detected) for c in quality.checks]
[('missing', 0.0, False), ('unseen_category', 0.03, True)]
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

import numpy as np
from numpy.typing import NDArray

from stream_monitor.detectors.exact import share_increase_p_value
from stream_monitor.profile.model import CategoricalColumnProfile, NumericColumnProfile

__all__ = [
    "DataQuality",
    "NonFinite",
    "QualityCheck",
    "QualityCheckName",
    "QualityRule",
    "categorical_quality",
    "left_out_of_range",
    "numeric_quality",
    "outside",
    "profile_categorical_reference",
    "profile_numeric_reference",
    "quality_check",
]

QualityCheckName = Literal["missing", "infinite", "out_of_range", "unseen_category"]

# The ratio rule of the least practical effect also needs this share of min_difference, so that
# three nulls in ten million rows where there was one never count.
_RATIO_FLOOR = 0.1


@dataclass(frozen=True)
class QualityRule:
    """When a share grew: its p-value below ``threshold``, and grown by ``min_difference`` or
    more, or to ``min_ratio`` times the reference share (and by a tenth of
    ``min_difference``). The defaults are those of ``check-drift``."""

    threshold: float = 0.001
    min_difference: float = 0.01
    min_ratio: float = 2.0


@dataclass(frozen=True)
class QualityCheck:
    """One share of a column's values that should not grow, on both sides, and its verdict.

    ``missing`` and ``infinite`` count among all rows (``missing``: nulls and NaN);
    ``out_of_range`` among the finite values, ``unseen_category`` among the non-null ones. The
    reference count of the last two is leave-one-out (see the module docstring). ``p_value``
    is the one-sided Fisher exact test's (1 when either side has no value to count).
    """

    name: QualityCheckName
    reference_count: int
    reference_total: int
    current_count: int
    current_total: int
    p_value: float
    drift_detected: bool

    @property
    def reference_share(self) -> float:
        """``reference_count / reference_total``, NaN when the total is 0."""
        return _share(self.reference_count, self.reference_total)

    @property
    def current_share(self) -> float:
        """``current_count / current_total``, NaN when the total is 0."""
        return _share(self.current_count, self.current_total)

    def to_dict(self) -> dict[str, Any]:
        """The check as JSON: counts, shares (null when there is nothing to count), verdict."""
        return {
            "reference_count": self.reference_count,
            "reference_total": self.reference_total,
            "reference_share": _number(self.reference_share),
            "current_count": self.current_count,
            "current_total": self.current_total,
            "current_share": _number(self.current_share),
            "p_value": _number(self.p_value),
            "drift_detected": self.drift_detected,
        }


def _share(count: int, total: int) -> float:
    return count / total if total else float("nan")


def _number(value: float) -> float | None:
    """A finite float, or None (JSON has no NaN)."""
    return float(value) if math.isfinite(value) else None


@dataclass(frozen=True)
class DataQuality:
    """A column's data-quality checks and the rule they were held to: drift when a share's
    p-value is below ``threshold`` and it grew by ``min_difference`` or more, or to
    ``min_ratio`` times the reference share (and by a tenth of ``min_difference``)."""

    checks: tuple[QualityCheck, ...]
    threshold: float
    min_difference: float
    min_ratio: float

    @property
    def drift_detected(self) -> bool:
        """Whether any check drifted."""
        return any(c.drift_detected for c in self.checks)

    @property
    def drifted_checks(self) -> tuple[str, ...]:
        """The names of the checks that drifted, in order."""
        return tuple(c.name for c in self.checks if c.drift_detected)

    def to_dict(self) -> dict[str, Any]:
        """The verdict, the rule and each check by name, as JSON."""
        return {
            "drift_detected": self.drift_detected,
            "threshold": self.threshold,
            "min_difference": self.min_difference,
            "min_ratio": self.min_ratio,
            "checks": {check.name: check.to_dict() for check in self.checks},
        }


def quality_check(
    name: QualityCheckName,
    reference: tuple[int, int],
    current: tuple[int, int],
    rule: QualityRule,
    *,
    forced: bool = False,
) -> QualityCheck:
    """One check from the (count, total) of each side; ``forced`` makes it drift."""
    (x_ref, n_ref), (x_cur, n_cur) = reference, current
    p_value = share_increase_p_value(x_ref, n_ref, x_cur, n_cur)
    drifted = forced
    if not forced and n_ref and n_cur:
        ref, cur = x_ref / n_ref, x_cur / n_cur
        grown = cur - ref
        least = rule.min_difference
        practical = grown >= least or (
            cur >= rule.min_ratio * ref and grown >= _RATIO_FLOOR * least
        )
        drifted = practical and p_value < rule.threshold
    return QualityCheck(name, x_ref, n_ref, x_cur, n_cur, p_value, drifted)


def _data_quality(checks: Sequence[QualityCheck], rule: QualityRule) -> DataQuality:
    return DataQuality(tuple(checks), rule.threshold, rule.min_difference, rule.min_ratio)


class NonFinite(NamedTuple):
    """A numeric side's values that are not finite: nulls and NaN, and infinities."""

    null_nan: int = 0
    inf: int = 0

    @property
    def total(self) -> int:
        return self.null_nan + self.inf


def numeric_quality(
    ref_rows: int,
    ref_missing: NonFinite,
    ref_outside: tuple[int, int],
    cur_rows: int,
    cur_missing: NonFinite,
    cur_outside: tuple[int, int],
    rule: QualityRule,
) -> DataQuality:
    """The checks of a numeric column; ``*_outside`` are (values outside the range, finite
    values)."""
    all_null = cur_rows > 0 and cur_missing.null_nan == cur_rows
    return _data_quality(
        [
            quality_check(
                "missing",
                (ref_missing.null_nan, ref_rows),
                (cur_missing.null_nan, cur_rows),
                rule,
                forced=all_null,
            ),
            quality_check(
                "infinite", (ref_missing.inf, ref_rows), (cur_missing.inf, cur_rows), rule
            ),
            quality_check("out_of_range", ref_outside, cur_outside, rule),
        ],
        rule,
    )


def categorical_quality(
    ref: tuple[int, int], ref_unseen: int, cur: tuple[int, int], cur_unseen: int, rule: QualityRule
) -> DataQuality:
    """The checks of a categorical column from each side's (non-null values, nulls) and
    unseen counts."""
    (ref_values, ref_nulls), (cur_values, cur_nulls) = ref, cur
    cur_rows = cur_values + cur_nulls
    return _data_quality(
        [
            quality_check(
                "missing",
                (ref_nulls, ref_values + ref_nulls),
                (cur_nulls, cur_rows),
                rule,
                forced=cur_rows > 0 and cur_values == 0,
            ),
            quality_check(
                "unseen_category", (ref_unseen, ref_values), (cur_unseen, cur_values), rule
            ),
        ],
        rule,
    )


def left_out_of_range(s: NDArray[np.float64]) -> int:
    """Values of the sorted array outside the range of the others: a unique minimum or
    maximum (leave-one-out)."""
    if s.shape[0] < 2:
        return 0
    return int(s[0] != s[1]) + int(s[-1] != s[-2])


def outside(cs: NDArray[np.float64], lo: float, hi: float) -> tuple[int, int]:
    """(values of the sorted array outside [lo, hi], values)."""
    n = cs.shape[0]
    below = int(np.searchsorted(cs, lo, "left"))
    above = n - int(np.searchsorted(cs, hi, "right"))
    return below + above, n


def profile_numeric_reference(
    column: NumericColumnProfile,
) -> tuple[int, NonFinite, tuple[int, int]]:
    """The reference side of ``numeric_quality`` from a profile: rows, values not finite, and
    (values outside the range of the others, finite values)."""
    return (
        column.count,
        NonFinite(
            column.null_count + column.nan_count, column.pos_inf_count + column.neg_inf_count
        ),
        # A profile does not say whether its extremes are unique: assume so.
        (min(2, column.finite_count) if column.min < column.max else 0, column.finite_count),
    )


def profile_categorical_reference(column: CategoricalColumnProfile) -> tuple[tuple[int, int], int]:
    """The reference side of ``categorical_quality`` from a profile: (non-null values, nulls),
    and the unseen count.

    A profile that kept every category knows those seen once; one that kept the top K only
    knows its "other" share, which then stands for the unseen one (and the current side's
    unseen values are then those outside the top K).
    """
    complete = column.other_count == 0
    unseen = int(np.count_nonzero(column.category_counts == 1)) if complete else column.other_count
    return (column.count - column.null_count, column.null_count), unseen
