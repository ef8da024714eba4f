"""KSWIN (Kolmogorov-Smirnov windowing), with river's semantics and, for a given integer seed,
drift at exactly river's indices, some hundreds of times faster.

On every update with a full window, ``river.drift.KSWIN`` draws ``stat_size`` positions of the
older part of its window with ``random.Random(seed).sample`` and runs ``scipy.stats.ks_2samp``
between the values there and the ``stat_size`` most recent values. This module reproduces both
steps exactly, inside one compiled loop:

- **The random draws.** The generator is CPython's Mersenne Twister, seeded by CPython itself:
  the 624-word state is read from ``random.Random(seed).getstate()``, so no seeding code is
  ported. The kernel then ports the rest: ``genrand_uint32`` (with the twist and tempering),
  ``getrandbits(k)`` for ``k <= 32`` (the top ``k`` bits of one word),
  ``_randbelow_with_getrandbits`` (rejection sampling on ``n.bit_length()`` bits) and
  ``Random.sample``'s two algorithms (the pool of candidates for small populations, the set of
  picks for large ones, chosen by the same ``setsize`` rule, computed in Python). The positions
  drawn, and the generator's state afterwards, are those of CPython; the tests check them word
  for word against ``random.Random``.
- **The test.** Both samples have ``n = stat_size`` values. For ``n <= 10000`` scipy's
  ``method="auto"`` takes its exact branch, which rounds the statistic to ``h / n`` with the
  integer ``h = max |#{a <= x} - #{b <= x}|`` over the pooled values, and computes the
  p-value from ``(n, h)`` alone. Ties change ``h`` (counts are taken at each distinct value,
  as scipy's ``searchsorted(side="right")`` does), but never the p-value of a given ``h``;
  where the exact computation fails, scipy falls back to the asymptotic distribution at
  ``d = h / n``, again a function of ``h``. So the p-values of ``h = 0..n`` are computed once
  per ``stat_size`` (by a compiled port of scipy's ``_compute_prob_outside_square``, with
  scipy itself called for the entries where it falls back, and the port spot-checked against
  scipy), and river's rule ``p_value <= alpha and statistic > 0.1`` becomes a table indexed
  by ``h`` (a table rather than a threshold: the p-values are not monotonic in ``h`` to the
  last bit). The kernel only computes ``h``: it keeps the most recent values sorted as they
  slide, places each sampled value among them, and makes one pass over the places.

Above ``stat_size = 10000`` scipy switches to the asymptotic distribution on the unrounded
statistic, which no table of ``h`` reproduces; such sizes are rejected.

Two details of river are kept. After a drift the window is emptied (river refills it with the
most recent values, but its reset at the start of the next update empties it), so the next
test runs only once the window is full again. With an integer seed the generator is re-seeded
at each such reset. With ``seed=None`` river re-seeds from the operating system at
each reset; here the generator, seeded from the operating system when the detector is made or
``reset()``, simply continues, which is as random and keeps snapshots reproducible. River's
``window`` argument (values to start from) is not offered.
"""

from __future__ import annotations

import functools
import math
import random
import warnings
from typing import Any

import numpy as np
from numba import njit
from numpy.typing import NDArray
from scipy import stats

from stream_monitor.detectors._base import DriftDetector, drain

# Int state (flags): drift flag (reset pending before the next value), skipped values, values
# in the window, physical position of the window's oldest value, next word of the generator.
_DRIFT, _SKIPPED, _COUNT, _HEAD, _MT_INDEX = range(5)
# Float state: river's p_value.
_P_VALUE = 0

# MT19937 as in CPython's Modules/_randommodule.c.
_MT_N = 624
_MT_M = 397
_MATRIX_A = 0x9908B0DF
_UPPER_MASK = 0x80000000
_LOWER_MASK = 0x7FFFFFFF

# scipy's ks_2samp(method="auto") is exact, with a statistic rounded to h / n, up to this size.
_MAX_EXACT_STAT_SIZE = 10000
# Up to this sample size a value is placed among the sorted recent values by counting.
_LINEAR_PLACE_MAX = 128


# -- CPython's random.Random ---------------------------------------------------------------
@njit(cache=True)
def _twist(mt: NDArray[np.int64]) -> None:
    """Generate the next 624 words in place (the top of CPython's ``genrand_uint32``).

    Called once every 624 draws, so it need not be inlined into the hot loop.
    """
    for kk in range(_MT_N - _MT_M):
        y = (mt[kk] & _UPPER_MASK) | (mt[kk + 1] & _LOWER_MASK)
        mt[kk] = mt[kk + _MT_M] ^ (y >> 1) ^ (_MATRIX_A if y & 1 else 0)
    for kk in range(_MT_N - _MT_M, _MT_N - 1):
        y = (mt[kk] & _UPPER_MASK) | (mt[kk + 1] & _LOWER_MASK)
        mt[kk] = mt[kk + (_MT_M - _MT_N)] ^ (y >> 1) ^ (_MATRIX_A if y & 1 else 0)
    y = (mt[_MT_N - 1] & _UPPER_MASK) | (mt[0] & _LOWER_MASK)
    mt[_MT_N - 1] = mt[_MT_M - 1] ^ (y >> 1) ^ (_MATRIX_A if y & 1 else 0)


@njit(cache=True, inline="always")
def _getrandbits(mt: NDArray[np.int64], index: int, k: int) -> tuple[int, int]:
    """CPython's ``getrandbits(k)`` for ``1 <= k <= 32``; return ``(bits, next index)``.

    The words are kept in int64, where every step below stays within 47 bits.
    """
    if index >= _MT_N:
        _twist(mt)
        index = 0
    y = mt[index]
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y >> (32 - k), index + 1


@njit(cache=True, inline="always")
def _bit_length(n: int) -> int:
    k = 0
    while (n >> k) != 0:
        k += 1
    return k


@njit(cache=True, inline="always")
def _randbelow(mt: NDArray[np.int64], index: int, n: int, k: int) -> tuple[int, int]:
    """CPython's ``_randbelow_with_getrandbits(n)``, ``k = n.bit_length()``; ``(r, next index)``."""
    r, index = _getrandbits(mt, index, k)
    while r >= n:
        r, index = _getrandbits(mt, index, k)
    return r, index


@njit(cache=True, inline="always")
def _sample(
    mt: NDArray[np.int64],
    index: int,
    n: int,
    k: int,
    use_pool: bool,
    pool: NDArray[np.int64],
    picked: NDArray[np.uint8],
    result: NDArray[np.int64],
) -> int:
    """CPython's ``sample(range(n), k)`` into ``result[:k]``; return the next index.

    ``use_pool`` is CPython's ``n <= setsize``. ``pool`` and ``picked`` are scratch arrays of
    at least ``n`` entries; ``picked`` (the set of picks) is all zeros on entry and on exit.
    """
    bits = _bit_length(n)
    if use_pool:
        for t in range(n):
            pool[t] = t
        for t in range(k):
            if (n - t) >> (bits - 1) == 0:  # the bit length of n - t, as it falls
                bits -= 1
            j, index = _randbelow(mt, index, n - t, bits)
            result[t] = pool[j]
            pool[j] = pool[n - t - 1]
    else:
        for t in range(k):
            j, index = _randbelow(mt, index, n, bits)
            while picked[j]:
                j, index = _randbelow(mt, index, n, bits)
            picked[j] = 1
            result[t] = j
        for t in range(k):
            picked[result[t]] = 0
    return index


def _use_pool(n: int, k: int) -> bool:
    """CPython's choice, in ``Random.sample``, of the pool algorithm over the set algorithm."""
    setsize = 21
    if k > 5:
        setsize += 4 ** math.ceil(math.log(k * 3, 4))
    return n <= setsize


@njit(cache=True)
def _sample_positions(
    mt: NDArray[np.int64], index: int, n: int, k: int, use_pool: bool, out: NDArray[np.int64]
) -> int:
    """``sample(range(n), k)`` into ``out`` from the state ``(mt, index)``; for the tests."""
    pool = np.empty(n, dtype=np.int64)
    picked = np.zeros(n, dtype=np.uint8)
    return _sample(mt, index, n, k, use_pool, pool, picked, out)


# -- the two-sample Kolmogorov-Smirnov test ----------------------------------------------------
@njit(cache=True)
def _prob_outside_square(n: int, h: int) -> float:
    """scipy's ``_compute_prob_outside_square(n, h)``, operation for operation."""
    P = 0.0
    k = int(np.floor(n / h))
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1)
        P = p1 * (1.0 - P)
        k -= 1
    return 2 * P


def _scipy_ks(n: int, h: int) -> tuple[float, float]:
    """Return scipy's ``(statistic, p_value)`` for two samples of size ``n`` at distance ``h``."""
    a = np.arange(n, dtype=np.float64)
    with warnings.catch_warnings():
        # Where the exact computation fails scipy warns and falls back; river silences it too.
        warnings.simplefilter("ignore", category=RuntimeWarning)
        result = stats.ks_2samp(a, a + h, method="auto")
    return float(result.statistic), float(result.pvalue)


@functools.cache
def _ks_p_values(n: int) -> NDArray[np.float64]:
    """Return scipy's ``ks_2samp`` p-value for each statistic ``h / n``, ``h = 0..n``."""
    p = np.empty(n + 1, dtype=np.float64)
    p[0] = 1.0  # scipy's exact branch returns 1.0 for h == 0
    for h in range(1, n + 1):
        prob = _prob_outside_square(n, h)
        # Outside [0, 1] scipy abandons the exact value for the asymptotic one.
        p[h] = prob if 0.0 <= prob <= 1.0 else _scipy_ks(n, h)[1]
    # The port is checked against scipy itself, so that a change in scipy cannot go unnoticed;
    # should they ever differ, scipy is asked for every entry.
    for h in sorted({1, 2, n // 10, n // 4, n // 2, n} - {0}):
        statistic, p_value = _scipy_ks(n, h)
        if statistic != h * 1.0 / n or p_value != p[h]:
            p[1:] = [_scipy_ks(n, k)[1] for k in range(1, n + 1)]
            break
    p.flags.writeable = False
    return p


@njit(cache=True, inline="always")
def _ks_distance(
    a: NDArray[np.float64],
    b: NDArray[np.float64],
    n: int,
    below: NDArray[np.int64],
    tied: NDArray[np.int64],
) -> int:
    """Return ``max_x |#{a <= x} - #{b <= x}|`` over the pooled values of two samples of ``n``.

    ``b`` is sorted, ``a`` need not be; ``below`` and ``tied`` are scratch arrays of ``n + 1``
    entries. Sorting ``a`` would cost more than this: each value of ``a`` is placed among
    ``b`` (by counting, or for large samples by binary search), and one pass over the places
    gives the distance.

    With ``g(x) = #{b <= x}``, the counts ``G`` that ``g`` takes are 0 and the end of each run
    of equal values in ``b``. Where the count of ``b`` is ``G`` (from ``u = b[G - 1]`` up to the
    next value of ``b``), the count of ``a`` climbs from ``#{a < u} + #{a == u}`` (the latter
    counted in ``tied[G]``) to ``#{g(a) <= G}``, so the distance there is largest at one of
    these two ends.
    """
    for g in range(n + 1):
        below[g] = 0
        tied[g] = 0
    for t in range(n):
        x = a[t]
        lo = 0  # g(x)
        if n <= _LINEAR_PLACE_MAX:
            # Branch-free counting, which the compiler vectorises, beats binary search here.
            for r in range(n):
                lo += b[r] <= x
        else:
            # Branch-free binary search: b[:lo] is <= x, and every value <= x is in b[:lo + size].
            size = n
            while size > 1:
                half = size >> 1
                lo += half * (b[lo + half - 1] <= x)
                size -= half
            lo += b[lo] <= x
        below[lo] += 1
        if lo > 0 and b[lo - 1] == x:
            tied[lo] += 1
    h = 0
    cum = 0  # #{g(a) <= G} for the last G passed
    for g in range(n + 1):
        if g == 0 or g == n or b[g - 1] != b[g]:
            if g > 0:
                d = abs(cum + tied[g] - g)
                if d > h:
                    h = d
            cum += below[g]
            d = abs(cum - g)
            if d > h:
                h = d
    return h


@njit(cache=True)
def _ks_distance_of(a: NDArray[np.float64], b: NDArray[np.float64]) -> int:
    """``_ks_distance`` of two unsorted samples of the same size; for the tests."""
    n = a.shape[0]
    scratch = np.empty((2, n + 1), dtype=np.int64)
    return _ks_distance(a, np.sort(b), n, scratch[0], scratch[1])


# -- the kernel --------------------------------------------------------------------------------
@njit(cache=True)
def _kswin_kernel(
    values: NDArray[np.float64],
    start: int,
    out: NDArray[np.int64],
    window_size: int,
    stat_size: int,
    use_pool: bool,
    reseed: bool,
    mt_seed: NDArray[np.int64],
    drift_of_h: NDArray[np.uint8],
    p_of_h: NDArray[np.float64],
    window: NDArray[np.float64],
    mt: NDArray[np.int64],
    flags: NDArray[np.int64],
    f: NDArray[np.float64],
    recent: NDArray[np.float64],
    sample: NDArray[np.float64],
    positions: NDArray[np.int64],
    pool: NDArray[np.int64],
    picked: NDArray[np.uint8],
    below: NDArray[np.int64],
    tied: NDArray[np.int64],
) -> tuple[int, int]:
    n_out = 0
    n_old = window_size - stat_size  # the older part of the window, which is sampled
    drift = flags[_DRIFT]
    skipped = flags[_SKIPPED]
    count = flags[_COUNT]
    head = flags[_HEAD]
    mt_index = flags[_MT_INDEX]
    p_value = f[_P_VALUE]

    # ``recent`` holds the last min(count, stat_size) values, sorted; rebuilt on each call.
    n_recent = min(count, stat_size)
    for r in range(count - n_recent, count):
        p = head + r
        if p >= window_size:
            p -= window_size
        recent[r - (count - n_recent)] = window[p]
    recent[:n_recent] = np.sort(recent[:n_recent])

    i = start
    while i < values.shape[0] and n_out < out.shape[0]:
        x = values[i]
        i += 1
        if not np.isfinite(x):
            skipped += 1
            continue
        if drift:
            for r in range(window_size):
                window[r] = 0.0
            count = 0
            head = 0
            n_recent = 0
            p_value = 0.0
            drift = 0
            if reseed:
                for r in range(_MT_N):
                    mt[r] = mt_seed[r]
                mt_index = _MT_N

        # Slide the sorted recent values: drop the one leaving them, insert x.
        if n_recent == stat_size:
            p = head + count - stat_size
            if p >= window_size:
                p -= window_size
            leaving = window[p]
            r = 0
            while recent[r] != leaving:
                r += 1
            for s in range(r, n_recent - 1):
                recent[s] = recent[s + 1]
            n_recent -= 1
        r = n_recent - 1
        while r >= 0 and recent[r] > x:
            recent[r + 1] = recent[r]
            r -= 1
        recent[r + 1] = x
        n_recent += 1

        # Append x to the window, dropping the oldest value when it is full.
        if count < window_size:
            window[count] = x  # head is 0 until the window is full
            count += 1
        else:
            window[head] = x
            head += 1
            if head == window_size:
                head = 0

        if count == window_size:
            mt_index = _sample(mt, mt_index, n_old, stat_size, use_pool, pool, picked, positions)
            for t in range(stat_size):
                p = head + positions[t]
                if p >= window_size:
                    p -= window_size
                sample[t] = window[p]
            h = _ks_distance(sample, recent, stat_size, below, tied)
            p_value = p_of_h[h]
            if drift_of_h[h]:
                drift = 1
                out[n_out] = i - 1
                n_out += 1

    flags[_DRIFT] = drift
    flags[_SKIPPED] = skipped
    flags[_COUNT] = count
    flags[_HEAD] = head
    flags[_MT_INDEX] = mt_index
    f[_P_VALUE] = p_value
    return n_out, i


def _mt_state(rng: random.Random) -> tuple[NDArray[np.int64], int]:
    """Return the 624 words and the index of a ``random.Random``'s generator."""
    _version, internal, _gauss = rng.getstate()
    return np.array(internal[:_MT_N], dtype=np.int64), int(internal[_MT_N])


class KSWIN(DriftDetector):
    """Kolmogorov-Smirnov windowing, as ``river.drift.KSWIN``, drifting at river's indices.

    Parameters
    ----------
    alpha
        Significance level of the Kolmogorov-Smirnov test; drift also needs a statistic above
        0.1, as in river.
    window_size
        Size of the sliding window; at least twice ``stat_size``.
    stat_size
        Size of each of the two samples tested: the most recent values, and values drawn at
        random from the rest of the window. At most 10000.
    seed
        Seed of the draws, as for ``random.Random``: with the same seed the draws, and so the
        drift positions, are river's. ``None`` seeds from the operating system.

    A test runs on every value once the window is full. After a detection the window is
    emptied at the start of the next update (and, with a seed, the generator re-seeded), as
    in river, so the next detection comes at least ``window_size`` values later. The module
    docstring explains how the test and the draws are made fast without changing a result.

    Examples
    --------
    >>> import numpy as np
    >>> from stream_monitor.detectors.kswin import KSWIN
    >>> rng = np.random.default_rng(12345)
    >>> stream = np.concatenate([rng.integers(0, 2, 1000), rng.integers(4, 8, 1000)])
    >>> KSWIN(alpha=0.0001, seed=42).update_many(stream)
    array([1016])
    """

    def __init__(
        self,
        alpha: float = 0.005,
        window_size: int = 100,
        stat_size: int = 30,
        seed: int | None = None,
    ) -> None:
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"alpha must be in [0, 1], got {alpha}")
        if not 1 <= stat_size <= _MAX_EXACT_STAT_SIZE:
            raise ValueError(
                f"stat_size must be in [1, {_MAX_EXACT_STAT_SIZE}] (above, scipy's test is "
                f"asymptotic and not reproduced), got {stat_size}"
            )
        if window_size < 2 * stat_size:
            raise ValueError(
                f"window_size must be at least 2 * stat_size = {2 * stat_size} (the sample is "
                f"drawn without replacement from the other values), got {window_size}"
            )
        if window_size - stat_size >= 2**32:
            # CPython draws one 32-bit word per getrandbits() only below this size.
            raise ValueError(f"window_size must be below 2**32, got {window_size}")
        self.alpha = alpha
        self.window_size = window_size
        self.stat_size = stat_size
        self.seed = seed

        self._use_pool = _use_pool(window_size - stat_size, stat_size)
        if seed is None:
            self._mt_seed = np.zeros(_MT_N, dtype=np.int64)
        else:
            self._mt_seed, _ = _mt_state(random.Random(seed))
        p_values = _ks_p_values(stat_size)
        self._p_of_h = p_values
        # river: ``p_value <= alpha and st > 0.1``, with st = h * 1.0 / n as scipy rounds it.
        self._drift_of_h = np.array(
            [float(p) <= alpha and h * 1.0 / stat_size > 0.1 for h, p in enumerate(p_values)],
            dtype=np.uint8,
        )
        n_old = window_size - stat_size
        self._scratch = (
            np.empty(stat_size, dtype=np.float64),  # the sorted recent values
            np.empty(stat_size, dtype=np.float64),  # the sample
            np.empty(stat_size, dtype=np.int64),  # the sampled positions
            np.empty(n_old, dtype=np.int64),  # sample()'s pool
            np.zeros(n_old, dtype=np.uint8),  # sample()'s set of picks
            np.empty(stat_size + 1, dtype=np.int64),  # the distance's counts
            np.empty(stat_size + 1, dtype=np.int64),
        )
        super().__init__()

    @property
    def threshold(self) -> float:
        """``alpha``, under the name every detector gives its threshold."""
        return float(self.alpha)

    @property
    def p_value(self) -> float:
        """The p-value of the last test, 0.0 before the first test since the last reset."""
        return float(self._state["floats"][_P_VALUE])

    def _fresh_state(self) -> dict[str, NDArray[Any]]:
        if self.seed is None:
            mt, index = _mt_state(random.Random())
        else:
            mt, index = self._mt_seed.copy(), _MT_N
        flags = np.zeros(5, dtype=np.int64)
        flags[_MT_INDEX] = index
        return {
            "window": np.zeros(self.window_size, dtype=np.float64),
            "mt": mt,
            "flags": flags,
            "floats": np.zeros(1, dtype=np.float64),
        }

    def _run(self, values: NDArray[np.float64]) -> NDArray[np.int64]:
        args = (
            self.window_size,
            self.stat_size,
            self._use_pool,
            self.seed is not None,
            self._mt_seed,
            self._drift_of_h,
            self._p_of_h,
            self._state["window"],
            self._state["mt"],
            self._state["flags"],
            self._state["floats"],
            *self._scratch,
        )
        return drain(lambda start, out: _kswin_kernel(values, start, out, *args), len(values))

    def _params(self) -> dict[str, Any]:
        return {
            "alpha": self.alpha,
            "window_size": self.window_size,
            "stat_size": self.stat_size,
            "seed": self.seed,
        }

    def _params_array(self) -> NDArray[np.float64]:
        # The seeded generator stands for the seed: equal seeds give equal words, and a
        # snapshot of an unseeded detector fits any unseeded detector.
        head = [self.alpha, self.window_size, self.stat_size, float(self.seed is not None)]
        return np.concatenate([np.array(head, dtype=np.float64), self._mt_seed.astype(np.float64)])
