"""The randomised probability integral transform against a reference's bins.

A value in reference bin ``j`` maps to ``u = F(j-1) + v * p(j)``, where ``F`` is the
reference's cumulative share up to bin ``j`` excluded, ``p(j)`` the bin's share and ``v`` a
uniform number. Under no drift ``u`` is uniform on [0, 1] whatever the column's shape: a
continuous column's fine quantile bins, an integer column's tied values, a category (bins are
then category codes, in the profile's order) alike. So two channels built from ``u`` have one
distribution for every column, and one set of sequential-detector parameters fits all:

- location, ``(u - 1/2) * sqrt(12)``: a shift of the column moves its mean;
- spread, ``(|2u - 1| - 1/2) * sqrt(12)``: a column that widens or narrows around its
  median, or one category's share that grows or shrinks, moves its mean.

Both have mean 0 and standard deviation 1 under no drift, and are bounded by ``sqrt(3)``.

``v`` is not drawn from a generator but hashed from the row's index in its stream and a
per-column salt (SplitMix64), so a stream gives the same values however it is cut into
batches, and after a restore from a checkpoint.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import ArrayLike, NDArray

_ROOT12 = float(np.sqrt(12.0))


def pit_table(counts: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Each bin's cumulative share before it and its own share, from reference bin counts
    (one row of counts per slot, for a seasonal reference: the tables then have rows too).

    >>> lower, width = pit_table([0, 1, 3, 0])
    >>> lower.tolist(), width.tolist()
    ([0.0, 0.0, 0.25, 1.0], [0.0, 0.25, 0.75, 0.0])
    """
    c = np.asarray(counts, dtype=np.float64)
    total = c.sum(axis=-1, keepdims=True)
    if not np.all(total > 0):
        raise ValueError("the reference has no counts")
    width = c / total
    before = np.cumsum(width, axis=-1) - width
    # Rounding must not push the last bins past 1.
    lower = np.minimum(before, 1.0)
    return lower, width


@njit(cache=True, nogil=True)
def _unit(row: np.int64, salt: np.uint64) -> float:
    """A uniform number in [0, 1) from a row index and a salt (SplitMix64's finaliser)."""
    z = np.uint64(row) * np.uint64(0x9E3779B97F4A7C15) + salt
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return float(z >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, nogil=True)
def _pit_kernel(
    bins: NDArray[np.int64],
    first: NDArray[np.int64],
    second: NDArray[np.int64],
    weight: NDArray[np.float64],
    first_row: int,
    salt: np.uint64,
    lower: NDArray[np.float64],
    width: NDArray[np.float64],
    location: NDArray[np.float64],
    spread: NDArray[np.float64],
) -> None:
    root12 = np.sqrt(12.0)
    top = lower.shape[1]
    seasonal = first.shape[0] == bins.shape[0]
    for i in range(bins.shape[0]):
        b = bins[i]
        if b < 0 or b >= top:
            location[i] = np.nan
            spread[i] = np.nan
            continue
        v = _unit(np.int64(first_row + i), salt)
        if seasonal:
            s, t, w = first[i], second[i], weight[i]
            lo = (1.0 - w) * lower[s, b] + w * lower[t, b]
            u = lo + v * ((1.0 - w) * width[s, b] + w * width[t, b])
        else:
            u = lower[0, b] + v * width[0, b]
        location[i] = (u - 0.5) * root12
        spread[i] = (abs(2.0 * u - 1.0) - 0.5) * root12


def column_salt(index: int) -> np.uint64:
    """The salt of the ``index``-th column: distinct columns get independent ``v``."""
    return np.uint64((index + 1) * 0xD1B54A32D192ED03 % (1 << 64))


def pit_channels(
    bins: NDArray[np.int64],
    first_row: int,
    salt: np.uint64,
    lower: NDArray[np.float64],
    width: NDArray[np.float64],
    slots: tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]] | None = None,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The location and spread channels of a batch of bin indices (negative: no value, NaN).

    ``first_row`` is the index in the whole stream of ``bins[0]``. With per-slot tables,
    ``slots`` gives each value's two table rows and the second one's weight: the value is
    scored against their mixture.

    >>> import numpy as np
    >>> lower, width = pit_table([0, 50, 50, 0])
    >>> loc, spr = pit_channels(np.array([1, 2, 0, 3, -1]), 0, column_salt(0), lower, width)
    >>> np.round(loc, 3).tolist()
    [-0.852, 0.305, -1.732, 1.732, nan]
    >>> bool(np.all(np.isfinite(spr[:4])))
    True
    """
    location = np.empty(bins.shape[0], dtype=np.float64)
    spread = np.empty(bins.shape[0], dtype=np.float64)
    none = np.empty(0, dtype=np.int64)
    first, second, weight = (none, none, np.empty(0)) if slots is None else slots
    _pit_kernel(
        np.ascontiguousarray(bins, dtype=np.int64),
        np.ascontiguousarray(first, dtype=np.int64),
        np.ascontiguousarray(second, dtype=np.int64),
        np.ascontiguousarray(weight, dtype=np.float64),
        first_row,
        salt,
        np.atleast_2d(lower),
        np.atleast_2d(width),
        location,
        spread,
    )
    return location, spread
