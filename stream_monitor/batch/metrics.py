"""Model-quality metrics on numpy arrays: classification, regression and the Sharpe ratio.

Each function takes arrays with no missing values (the caller drops them) and returns a
float, or raises ``UndefinedMetricError`` saying why the metric has no value on these data (one
class only, a constant target, ...). Conventions:

- precision, recall and F1 whose denominator is 0 are 0 (scikit-learn's ``zero_division=0``);
- macro averages are unweighted means over the labels found in the target or the prediction,
  and macro F1 is the mean of the per-label F1 scores;
- ROC AUC is the Mann–Whitney statistic ``(R₊ − n₊(n₊+1)/2) / (n₊ n₋)``, where ``R₊`` is the
  sum of the positives' ranks among all scores and tied scores share their average rank, so a
  tie between a positive and a negative counts one half (computed as that pair count);
- R² is ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²``;
- the Sharpe ratio of per-period returns ``r`` is ``mean(r) / std(r, ddof=1)``, times
  ``sqrt(periods_per_year)`` when annualised; no risk-free rate is subtracted (pass excess
  returns for that).

>>> import numpy as np
>>> y = np.array([False, False, True, True])
>>> roc_auc(y, np.array([0.1, 0.4, 0.35, 0.8]))
0.75
>>> binary_precision_recall_f1(y, np.array([False, True, True, True]))
(0.6666666666666666, 1.0, 0.8)
"""

from __future__ import annotations

import math
from typing import Any, Final

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CLASSIFICATION_METRICS",
    "HIGHER_IS_BETTER",
    "METRICS",
    "REGRESSION_METRICS",
    "UndefinedMetricError",
    "accuracy",
    "binary_precision_recall_f1",
    "macro_precision_recall_f1",
    "mean_absolute_error",
    "r2_score",
    "roc_auc",
    "root_mean_squared_error",
    "sharpe_ratio",
]

CLASSIFICATION_METRICS: Final = ("accuracy", "precision", "recall", "f1", "roc_auc")
REGRESSION_METRICS: Final = ("mae", "rmse", "r2")
METRICS: Final = (*CLASSIFICATION_METRICS, *REGRESSION_METRICS, "sharpe")

HIGHER_IS_BETTER: Final = {
    "accuracy": True,
    "precision": True,
    "recall": True,
    "f1": True,
    "roc_auc": True,
    "mae": False,
    "rmse": False,
    "r2": True,
    "sharpe": True,
}
"""Direction of each metric: for MAE and RMSE, errors, a rise is the degradation."""


class UndefinedMetricError(ValueError):
    """The metric has no value on these data; the message says why."""


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else 0.0


def accuracy(y_true: NDArray[Any], y_pred: NDArray[Any]) -> float:
    """Share of rows whose prediction equals the target.

    >>> accuracy(np.array([1, 2, 3, 3]), np.array([1, 2, 2, 3]))
    0.75
    """
    if y_true.size == 0:
        raise UndefinedMetricError("no rows")
    return float(np.mean(y_true == y_pred))


def binary_precision_recall_f1(
    y_true: NDArray[np.bool_], y_pred: NDArray[np.bool_]
) -> tuple[float, float, float]:
    """Precision, recall and F1 of the positive class, from boolean arrays."""
    tp = float(np.count_nonzero(y_true & y_pred))
    predicted = float(np.count_nonzero(y_pred))
    actual = float(np.count_nonzero(y_true))
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, actual)
    return precision, recall, _ratio(2 * tp, predicted + actual)


def macro_precision_recall_f1(
    y_true: NDArray[Any], y_pred: NDArray[Any]
) -> tuple[float, float, float]:
    """Unweighted means of per-label precision, recall and F1 over every label seen.

    >>> p, r, f1 = macro_precision_recall_f1(
    ...     np.array(["a", "a", "b", "c"]), np.array(["a", "b", "b", "b"])
    ... )
    >>> round(p, 4), round(r, 4), round(f1, 4)  # (1+1/3+0)/3, (1/2+1+0)/3, (2/3+1/2+0)/3
    (0.4444, 0.5, 0.3889)
    """
    labels, codes = np.unique(np.concatenate([y_true, y_pred]), return_inverse=True)
    k = labels.size
    if k == 0:
        raise UndefinedMetricError("no rows")
    true_codes, pred_codes = codes[: y_true.size], codes[y_true.size :]
    hits = true_codes == pred_codes
    tp = np.bincount(true_codes[hits], minlength=k).astype(np.float64)
    actual = np.bincount(true_codes, minlength=k).astype(np.float64)
    predicted = np.bincount(pred_codes, minlength=k).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(actual > 0, tp / actual, 0.0)
        f1 = np.where(predicted + actual > 0, 2 * tp / (predicted + actual), 0.0)
    return float(precision.mean()), float(recall.mean()), float(f1.mean())


def roc_auc(y_true: NDArray[np.bool_], scores: NDArray[np.float64]) -> float:
    """Area under the ROC curve of ``scores`` for the positives ``y_true``, ties counting half.

    The Mann–Whitney U of the positives, ``R₊ − n₊(n₊+1)/2`` with average ranks for ties,
    equals the number of (positive, negative) pairs in which the positive scores higher, plus
    half the tied pairs. That count is taken here from the sorted scores of each class, in
    integers: it needs no ranking of all the scores together, which costs a slow argsort.
    """
    positives, negatives = np.sort(scores[y_true]), np.sort(scores[~y_true])
    if positives.size == 0 or negatives.size == 0:
        only = "negatives" if positives.size == 0 else "positives"
        raise UndefinedMetricError(f"the target holds only {only}")
    below = np.searchsorted(negatives, positives, side="left")
    tied = np.searchsorted(negatives, positives, side="right") - below
    wins = int(below.sum()) + int(tied.sum()) / 2.0
    return wins / (positives.size * negatives.size)


def mean_absolute_error(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> float:
    """Mean of ``|y - ŷ|``."""
    if y_true.size == 0:
        raise UndefinedMetricError("no rows")
    return float(np.mean(np.abs(y_true - y_pred)))


def root_mean_squared_error(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> float:
    """Square root of the mean of ``(y - ŷ)²``."""
    if y_true.size == 0:
        raise UndefinedMetricError("no rows")
    return math.sqrt(float(np.mean(np.square(y_true - y_pred))))


def r2_score(y_true: NDArray[np.float64], y_pred: NDArray[np.float64]) -> float:
    """Coefficient of determination ``1 − SS_res / SS_tot``.

    >>> r2_score(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))
    0.5
    """
    if y_true.size == 0:
        raise UndefinedMetricError("no rows")
    total = float(np.sum(np.square(y_true - y_true.mean())))
    if total == 0.0:
        raise UndefinedMetricError("the target is constant")
    return 1.0 - float(np.sum(np.square(y_true - y_pred))) / total


def sharpe_ratio(returns: NDArray[np.float64], *, periods_per_year: float | None = None) -> float:
    """``mean(r) / std(r, ddof=1)``, times ``sqrt(periods_per_year)`` when given.

    >>> round(sharpe_ratio(np.array([0.01, 0.02, -0.01, 0.02])), 6)  # 0.01 / sqrt(0.0006 / 3)
    0.707107
    """
    if returns.size < 2:
        raise UndefinedMetricError(f"needs at least 2 returns, got {returns.size}")
    std = float(np.std(returns, ddof=1))
    if std == 0.0:
        raise UndefinedMetricError("the returns are constant")
    ratio = float(np.mean(returns)) / std
    return ratio * math.sqrt(periods_per_year) if periods_per_year is not None else ratio
