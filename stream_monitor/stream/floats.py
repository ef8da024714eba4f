"""Correctly rounded decimal-to-double conversion, compiled, for the flat JSON decoder.

A decimal number ``w * 10**q`` (``w`` at most 19 significant digits) becomes the nearest
double, exactly as Python's ``float()`` and Polars' parser give it:

- Clinger's fast path: when ``w <= 2**53`` and ``|q| <= 22``, both ``w`` and ``10**|q|`` are
  exact doubles, so one multiplication or division rounds once, correctly;
- otherwise the Eisel-Lemire algorithm (Lemire, "Number Parsing at a Gigabyte per Second",
  2021; laid out as in Go's ``strconv/eisel_lemire.go``): multiply by a 128-bit truncation of
  ``10**q`` and round, unless the truncation leaves the rounding in doubt. Then it gives up
  (``ok`` is false) and the caller parses the digits with ``float()``. That happens for
  about one number in a billion, and for subnormals.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit
from numpy.typing import NDArray

from stream_monitor._numba import defer_blas_probe

defer_blas_probe()  # before any kernel compiles or loads (see stream_monitor._numba)

_MIN_EXP10 = -348
_MAX_EXP10 = 347


def _powers_of_ten() -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """High and low 64-bit words of ``10**q`` scaled to 128 bits and rounded down."""
    hi = np.empty(_MAX_EXP10 - _MIN_EXP10 + 1, dtype=np.uint64)
    lo = np.empty_like(hi)
    mask = (1 << 64) - 1
    for i, q in enumerate(range(_MIN_EXP10, _MAX_EXP10 + 1)):
        if q >= 0:
            v = 10**q
            shift = v.bit_length() - 128
            m = v >> shift if shift > 0 else v << -shift
        else:
            d = 10**-q
            m = (1 << (127 + d.bit_length())) // d
        hi[i] = m >> 64
        lo[i] = m & mask
    return hi, lo


POW10_HI, POW10_LO = _powers_of_ten()
#: ``10**k`` for ``k`` in 0..22: every one an exact double.
EXACT_POW10 = np.array([10.0**k for k in range(23)])

_U0 = np.uint64(0)
_U1 = np.uint64(1)
_U32 = np.uint64(32)
_LOW32 = np.uint64(0xFFFFFFFF)
_LOW9 = np.uint64(0x1FF)
_ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
#: The largest integer below which every integer is an exact double.
MAX_EXACT = np.uint64(1 << 53)


@njit(cache=True, nogil=True)
def _mul64(a: np.uint64, b: np.uint64) -> tuple[np.uint64, np.uint64]:
    """The 128-bit product of two 64-bit words, as (high, low)."""
    a_lo = a & _LOW32
    a_hi = a >> _U32
    b_lo = b & _LOW32
    b_hi = b >> _U32
    p0 = a_lo * b_lo
    p1 = a_lo * b_hi
    p2 = a_hi * b_lo
    p3 = a_hi * b_hi
    mid = (p0 >> _U32) + (p1 & _LOW32) + (p2 & _LOW32)
    low = (p0 & _LOW32) | (mid << _U32)
    high = p3 + (p1 >> _U32) + (p2 >> _U32) + (mid >> _U32)
    return high, low


@njit(cache=True, nogil=True)
def _leading_zeros(x: np.uint64) -> int:
    n = 0
    for shift in (32, 16, 8, 4, 2, 1):
        if x >> np.uint64(64 - shift) == _U0:
            n += shift
            x = x << np.uint64(shift)
    return n


@njit(cache=True, nogil=True)
def decimal_to_double(w: np.uint64, q: int) -> tuple[float, bool]:
    """The double nearest ``w * 10**q`` for ``w`` below ``10**19``, and whether it is sure."""
    if w == _U0:
        return 0.0, True
    if -22 <= q <= 22 and w <= MAX_EXACT:
        if q >= 0:
            return float(w) * EXACT_POW10[q], True
        return float(w) / EXACT_POW10[-q], True
    if q < _MIN_EXP10 or q > _MAX_EXP10:
        return 0.0, False
    clz = _leading_zeros(w)
    man = w << np.uint64(clz)
    exp2 = ((217706 * q) >> 16) + 64 + 1023 - clz
    index = q - _MIN_EXP10
    x_hi, x_lo = _mul64(man, POW10_HI[index])
    if (x_hi & _LOW9) == _LOW9 and x_lo + man < man:
        y_hi, y_lo = _mul64(man, POW10_LO[index])
        merged_hi = x_hi
        merged_lo = x_lo + y_hi
        if merged_lo < x_lo:
            merged_hi += _U1
        if (merged_hi & _LOW9) == _LOW9 and merged_lo == _ALL and y_lo + man < man:
            return 0.0, False
        x_hi = merged_hi
        x_lo = merged_lo
    msb = int(x_hi >> np.uint64(63))
    mantissa = x_hi >> np.uint64(msb + 9)
    exp2 -= 1 ^ msb
    if x_lo == _U0 and (x_hi & _LOW9) == _U0 and (mantissa & np.uint64(3)) == _U1:
        return 0.0, False
    mantissa += mantissa & _U1
    mantissa = mantissa >> _U1
    if mantissa >> np.uint64(53) > _U0:
        mantissa = mantissa >> _U1
        exp2 += 1
    if exp2 <= 0 or exp2 >= 0x7FF:
        return 0.0, False
    return math.ldexp(float(mantissa), exp2 - 1023 - 52), True
