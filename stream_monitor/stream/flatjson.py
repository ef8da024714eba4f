"""Decode a batch of flat JSON objects straight into the arrays the detectors read.

Most topics carry one flat JSON object per message whose fields hold numbers, plain strings,
booleans or null. For those, one compiled pass per batch writes each profile column's values
into an array: float64 for a numeric column (NaN for null or absent), int64 category codes for
a categorical one (the category's index in the profile, ``K`` for any other value, ``-1`` for
null or absent), as ``engine.dataset`` would compute them from a decoded frame.

The pass is strict: it accepts only what it is sure Polars decodes the same way, and gives up
on the whole batch otherwise, so that ``decode.Decoder``, which knows every rule and names every
bad record, decodes it instead. It gives up on: a payload that is not one object; a known field
holding a value of another kind (true or false outside a boolean column), or an object
or array; a field given twice; an escape in a key
or a known string; a number in a text column other than a plain integer; an unknown field
holding an object or array; and anything not JSON.

Numbers are correctly rounded (``floats``); the few the compiled conversion is unsure of are
parsed afterwards with ``float()``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numpy.typing import NDArray

from stream_monitor.stream.floats import EXACT_POW10, MAX_EXACT, decimal_to_double

_F = TypeVar("_F", bound=Callable[..., Any])


def _kernel(*, inline: bool = False) -> Callable[[_F], _F]:
    """Compile a function of the parser. Reference counting is off (``_nrt=False``): numba
    otherwise counts every array argument up and down, atomically, around each call of a
    helper, which costs more than the helper's work. Nothing here allocates. Helpers are
    left to LLVM to inline: numba's own inlining (``inline="always"``) made the first
    compilation 2.6 times slower (36 s against 14 s) for no measurable gain, except where
    ``inline`` says so: the number scan, called at one place, which LLVM leaves a call."""
    options: dict[str, Any] = {"cache": True, "nogil": True, "_nrt": False}
    if inline:
        options["inline"] = "always"
    return cast(Callable[[_F], _F], njit(**options))


#: What a field holds, for the parser.
NUMBER, TEXT, BOOLEAN = 0, 1, 2

_MIX0 = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xC2B2AE3D27D4EB4F)
_MIX2 = np.uint64(0x165667B19E3779F9)
_MIX3 = np.uint64(0x27D4EB2F165667C5)
_MIX4 = np.uint64(0xFF51AFD7ED558CCD)
_SHIFT = np.uint64(29)
_MAX_DIGITS = 19
_U0 = np.uint64(0)
_U9 = np.uint64(9)
_U10 = np.uint64(10)
_U48 = np.uint64(48)


@_kernel()
def _byte(buf: NDArray[np.uint8], i: int) -> int:
    """``buf[i]`` for an ``i`` known not to be negative, indexed as unsigned: numba then
    leaves out its check for a negative index, which LLVM cannot prove away in the byte
    loops (the decoder 6-10 % faster with it in the four hottest; no gain elsewhere)."""
    return buf[np.uint64(i)]  # type: ignore[no-any-return]


@_kernel()
def _hash(buf: NDArray[np.uint8], start: int, stop: int, owner: int) -> np.uint64:
    """A cheap hash of ``buf[start:stop]`` scoped by ``owner``: its length and three of its
    bytes. Lookups compare the bytes themselves, so collisions only cost a probe."""
    n = stop - start
    h = np.uint64(n) * _MIX0 + np.uint64(owner + 1) * _MIX4
    if n > 0:
        h += np.uint64(buf[start]) * _MIX1
        h += np.uint64(buf[stop - 1]) * _MIX2
        h += np.uint64(buf[start + n // 2]) * _MIX3
    return h ^ (h >> _SHIFT)


@dataclass(frozen=True)
class _Table:
    """An open-addressing hash table of byte strings (scoped by field) to integers."""

    hashes: NDArray[np.uint64]
    values: NDArray[np.int64]  # -1: empty slot
    owners: NDArray[np.int64]  # the field a key belongs to (-1 for field names)
    starts: NDArray[np.int64]
    lengths: NDArray[np.int64]
    text: NDArray[np.uint8]

    @classmethod
    def build(cls, entries: Sequence[tuple[int, bytes, int]]) -> _Table:
        """``entries``: ``(field or -1, key, value)``."""
        size = 8
        while size < 4 * max(len(entries), 1):
            size *= 2
        hashes = np.zeros(size, dtype=np.uint64)
        values = np.full(size, -1, dtype=np.int64)
        owners = np.full(size, -2, dtype=np.int64)
        starts = np.zeros(size, dtype=np.int64)
        lengths = np.zeros(size, dtype=np.int64)
        text = b"".join(key for _, key, _ in entries)
        offset = 0
        for owner, key, value in entries:
            h = int(_hash(np.frombuffer(key or b"\0", np.uint8), 0, len(key), owner))
            slot = h & (size - 1)
            while values[slot] != -1:
                slot = (slot + 1) & (size - 1)
            hashes[slot] = h
            values[slot] = value
            owners[slot] = owner
            starts[slot] = offset
            lengths[slot] = len(key)
            offset += len(key)
        return cls(hashes, values, owners, starts, lengths, np.frombuffer(text or b"\0", np.uint8))


class FlatJsonDecoder:
    """Decodes flat JSON objects into column arrays (see the module docstring).

    ``fields`` are ``(name, kind, categories)``: ``kind`` is ``NUMBER``, ``TEXT`` or
    ``BOOLEAN``; ``categories`` (text and boolean fields) the profile's category names, whose
    index is the code. A boolean field's values are coded as the text ``"true"``/``"false"``.
    """

    def __init__(self, fields: Sequence[tuple[str, int, Sequence[str]]]) -> None:
        self.names = [name for name, _, _ in fields]
        self.kinds = np.array([kind for _, kind, _ in fields], dtype=np.int8)
        numeric = [i for i, (_, kind, _) in enumerate(fields) if kind == NUMBER]
        coded = [i for i, (_, kind, _) in enumerate(fields) if kind != NUMBER]
        self.slots = np.zeros(len(fields), dtype=np.int64)
        self.slots[numeric] = np.arange(len(numeric))
        self.slots[coded] = np.arange(len(coded))
        self.n_numeric, self.n_coded = len(numeric), len(coded)
        self.keys = _Table.build([(-1, n.encode(), i) for i, n in enumerate(self.names)])
        # Each name's place in ``names_text``, for guessing the next field (length -1: a name
        # the scan of a key would not take as it is, never guessed).
        encoded = [n.encode() for n in self.names]
        self.names_text = np.frombuffer(b"".join(encoded) or b"\0", np.uint8)
        self.name_spans = np.zeros((len(fields), 2), dtype=np.int64)
        self.name_spans[:, 0] = np.cumsum([0] + [len(e) for e in encoded])[:-1]
        self.name_spans[:, 1] = [len(e) if _plain(e) else -1 for e in encoded]
        self.others = np.zeros(len(fields), dtype=np.int64)
        entries = []
        for i, (_, kind, categories) in enumerate(fields):
            if kind != NUMBER:
                self.others[i] = len(categories)
                entries += [(i, c.encode(), k) for k, c in enumerate(categories)]
        self.categories = _Table.build(entries)

    def decode(
        self, payloads: Sequence[bytes | None], max_bytes: int = 1 << 62
    ) -> dict[str, NDArray[Any]] | None:
        """Each field's array (float64 values or int64 codes), one entry per payload; None
        when the batch needs the full decoder (a tombstone or a payload over ``max_bytes``
        among them too)."""
        n = len(payloads)
        if n == 0:
            return None
        try:
            # NUL between payloads: no JSON text holds one, so the compiled pass finds where
            # each payload ends without a length per payload from Python.
            blob = b"\0".join(payloads)  # type: ignore[arg-type]
        except TypeError:  # a tombstone
            return None
        if not blob.isascii():
            try:
                blob.decode("utf-8")
            except UnicodeDecodeError:
                return None
        numbers = np.empty((self.n_numeric, n), dtype=np.float64)
        codes = np.empty((self.n_coded, n), dtype=np.int64)
        buf = np.frombuffer(blob or b"\0", dtype=np.uint8)
        keys, cats = self.keys, self.categories
        # Room for the numbers the compiled conversion is unsure of: a few, or, if that
        # overflows (-2), every number.
        for room in (max(64, n // 16), max(1, n * self.n_numeric)):
            unsure = np.empty((room, 4), dtype=np.int64)
            found = _decode(
                buf,
                n,
                max_bytes,
                self.kinds,
                self.slots,
                self.others,
                keys.hashes,
                keys.values,
                keys.owners,
                keys.starts,
                keys.lengths,
                keys.text,
                cats.hashes,
                cats.values,
                cats.owners,
                cats.starts,
                cats.lengths,
                cats.text,
                numbers,
                codes,
                unsure,
                np.full(len(self.names), -1, dtype=np.int64),
                self.name_spans,
                self.names_text,
                np.full(len(self.names) + 2, -1, dtype=np.int64),
            )
            if found != -2:
                break
        if found < 0:
            return None
        for slot, start, stop, row in unsure[:found].tolist():
            value = float(blob[start:stop])
            if not np.isfinite(value):
                return None
            numbers[slot, row] = value
        return {
            name: (numbers if kind == NUMBER else codes)[slot]
            for name, kind, slot in zip(self.names, self.kinds, self.slots, strict=True)
        }


def _plain(name: bytes) -> bool:
    """Whether a key is these bytes when it is these bytes between quotes (no escape, no
    control character, no quote)."""
    return all(b >= 32 and b not in (34, 92) for b in name)


@_kernel()
def _skip_space(buf: NDArray[np.uint8], i: int, stop: int) -> int:
    """The index of the first byte at or after ``i`` that is not JSON whitespace."""
    while i < stop:
        c = _byte(buf, i)
        if not (c == 32 or c == 9 or c == 10 or c == 13):
            break
        i += 1
    return i


@_kernel()
def _lookup(
    buf: NDArray[np.uint8],
    start: int,
    stop: int,
    h: np.uint64,
    owner: int,
    hashes: NDArray[np.uint64],
    values: NDArray[np.int64],
    owners: NDArray[np.int64],
    starts: NDArray[np.int64],
    lengths: NDArray[np.int64],
    text: NDArray[np.uint8],
) -> int:
    """The value stored for ``buf[start:stop]`` under ``owner``, or -1."""
    mask = hashes.shape[0] - 1
    slot = np.int64(h & np.uint64(mask))
    while values[slot] != -1:
        if (
            hashes[slot] == h
            and owners[slot] == owner
            and lengths[slot] == stop - start
            and _equal(buf, start, text, starts[slot], stop - start)
        ):
            return int(values[slot])
        slot = (slot + 1) & mask
    return -1


@_kernel()
def _equal(buf: NDArray[np.uint8], start: int, text: NDArray[np.uint8], at: int, n: int) -> bool:
    """Whether ``buf[start:start + n]`` equals ``text[at:at + n]``."""
    for k in range(n):  # noqa: SIM110 - a plain loop with an early exit for numba
        if _byte(text, at + k) != _byte(buf, start + k):
            return False
    return True


@_kernel()
def _scan_string(buf: NDArray[np.uint8], i: int, stop: int) -> int:
    """From just past an opening quote: the index of the closing quote, or -1 if the string
    has an escape, a control character or no end."""
    while i < stop:
        c = _byte(buf, i)
        if c == 34:
            return i
        if c == 92 or c < 32:
            return -1
        i += 1
    return -1


@_kernel(inline=True)
def _scan_number(buf: NDArray[np.uint8], i: int, stop: int) -> tuple[int, np.uint64, int, bool]:
    """A JSON number from ``i``: (index past it or -1 if malformed, significant digits,
    decimal exponent, whether digits were dropped beyond 19).

    The digit loops take every digit, leading zeros of a fraction too, without counting
    significant ones: a number of at most 19 digits in all (every one a double's ``repr``
    writes) cannot overflow ``w``, and gives what ``_scan_long_number`` gives. A longer
    one is scanned again by that."""
    start = i
    if i < stop and buf[i] == 45:
        i += 1
    if i >= stop:
        return -1, _U0, 0, False
    w = _U0
    first = i
    c = buf[i]
    if c == 48:
        i += 1
    elif 49 <= c <= 57:
        i, w = _digits(buf, i, stop, w)
    else:
        return -1, w, 0, False
    digits = i - first
    q = 0
    if i < stop and buf[i] == 46:
        i += 1
        first = i
        i, w = _digits(buf, i, stop, w)
        if i == first:
            return -1, w, 0, False
        q = first - i
        digits += i - first
    if digits > _MAX_DIGITS:
        return _scan_long_number(buf, start, stop)
    i, e = _exponent(buf, i, stop)
    return i, w, q + e, False


@_kernel()
def _digits(buf: NDArray[np.uint8], i: int, stop: int, w: np.uint64) -> tuple[int, np.uint64]:
    """Decimal digits from ``i`` appended to ``w``: (index past them, the new ``w``)."""
    while i < stop:
        d = np.uint64(_byte(buf, i)) - _U48
        if d > _U9:
            break
        w = w * _U10 + d
        i += 1
    return i, w


@_kernel()
def _scan_long_number(
    buf: NDArray[np.uint8], i: int, stop: int
) -> tuple[int, np.uint64, int, bool]:
    """``_scan_number``, counting significant digits and dropping those beyond 19."""
    if i < stop and buf[i] == 45:
        i += 1
    if i >= stop:
        return -1, np.uint64(0), 0, False
    w = np.uint64(0)
    digits = 0
    q = 0
    dropped = False
    c = buf[i]
    if c == 48:
        i += 1
    elif 49 <= c <= 57:
        while i < stop and 48 <= buf[i] <= 57:
            if digits < _MAX_DIGITS:
                w = w * np.uint64(10) + np.uint64(buf[i] - 48)
                digits += 1
            else:
                q += 1
                dropped = True
            i += 1
    else:
        return -1, w, 0, False
    if i < stop and buf[i] == 46:
        i += 1
        if i >= stop or not (48 <= buf[i] <= 57):
            return -1, w, 0, False
        while i < stop and 48 <= buf[i] <= 57:
            d = buf[i] - 48
            if digits < _MAX_DIGITS:
                if digits > 0 or d != 0:
                    w = w * np.uint64(10) + np.uint64(d)
                    digits += 1
                q -= 1
            elif d != 0:
                dropped = True
            i += 1
    i, e = _exponent(buf, i, stop)
    return i, w, q + e, dropped


@_kernel()
def _exponent(buf: NDArray[np.uint8], i: int, stop: int) -> tuple[int, int]:
    """A number's exponent part, if any, from ``i``: (index past the number or -1 if
    malformed, the exponent)."""
    e = 0
    if i < stop and (buf[i] == 101 or buf[i] == 69):
        i += 1
        sign = 1
        if i < stop and (buf[i] == 43 or buf[i] == 45):
            sign = -1 if buf[i] == 45 else 1
            i += 1
        if i >= stop or not (48 <= buf[i] <= 57):
            return -1, 0
        while i < stop and 48 <= buf[i] <= 57:
            if e < 100_000:
                e = e * 10 + (buf[i] - 48)
            i += 1
        e *= sign
    if i < stop and (48 <= buf[i] <= 57 or buf[i] == 46):
        return -1, 0
    return i, e


@_kernel()
def _literal(buf: NDArray[np.uint8], i: int, stop: int) -> tuple[int, int]:
    """``true`` (1), ``false`` (0) or ``null`` (-1) at ``i``: (index past it, which), or
    (-1, 0) if none."""
    if i + 4 <= stop and buf[i] == 116 and buf[i + 1] == 114 and buf[i + 2] == 117:
        if buf[i + 3] == 101:
            return i + 4, 1
    elif i + 5 <= stop and buf[i] == 102 and buf[i + 1] == 97 and buf[i + 2] == 108:
        if buf[i + 3] == 115 and buf[i + 4] == 101:
            return i + 5, 0
    elif (
        i + 4 <= stop
        and buf[i] == 110
        and buf[i + 1] == 117
        and buf[i + 2] == 108
        and buf[i + 3] == 108
    ):
        return i + 4, -1
    return -1, 0


@_kernel()
def _skip_string(buf: NDArray[np.uint8], i: int, stop: int) -> int:
    """From just past an opening quote, with escapes checked: the index past the closing
    quote, or -1."""
    while i < stop:
        c = buf[i]
        if c == 34:
            return i + 1
        if c < 32:
            return -1
        if c == 92:
            if i + 1 >= stop:
                return -1
            e = buf[i + 1]
            if e == 117:  # \uXXXX
                if i + 6 > stop:
                    return -1
                for k in range(i + 2, i + 6):
                    x = buf[k]
                    if not (48 <= x <= 57 or 65 <= x <= 70 or 97 <= x <= 102):
                        return -1
                i += 6
                continue
            if e not in (34, 92, 47, 98, 102, 110, 114, 116):
                return -1
            i += 2
            continue
        i += 1
    return -1


@_kernel()
def _decode(
    buf: NDArray[np.uint8],
    n_rows: int,
    max_bytes: int,
    kinds: NDArray[np.int8],
    slots: NDArray[np.int64],
    others: NDArray[np.int64],
    key_hashes: NDArray[np.uint64],
    key_values: NDArray[np.int64],
    key_owners: NDArray[np.int64],
    key_starts: NDArray[np.int64],
    key_lengths: NDArray[np.int64],
    key_text: NDArray[np.uint8],
    cat_hashes: NDArray[np.uint64],
    cat_values: NDArray[np.int64],
    cat_owners: NDArray[np.int64],
    cat_starts: NDArray[np.int64],
    cat_lengths: NDArray[np.int64],
    cat_text: NDArray[np.uint8],
    numbers: NDArray[np.float64],
    codes: NDArray[np.int64],
    unsure: NDArray[np.int64],
    seen: NDArray[np.int64],
    name_spans: NDArray[np.int64],
    names_text: NDArray[np.uint8],
    follow: NDArray[np.int64],
) -> int:
    """Fill ``numbers`` and ``codes`` from ``n_rows`` payloads joined by NUL bytes; return
    how many numbers went to ``unsure`` (field slot, start, stop, row), -1 to give up on the
    batch (also for a payload over ``max_bytes``), or -2 when ``unsure`` is full.

    Every scan stops at a NUL (it is no JSON whitespace, value or string byte), so a payload
    holding one breaks its record, or leaves one record too many at the end."""
    n_unsure = 0
    start = 0
    stop = buf.shape[0]
    record_start = follow.shape[0] - 2  # follow's entries past the last field
    unknown = record_start + 1
    for row in range(n_rows):
        for f in range(numbers.shape[0]):
            numbers[f, row] = np.nan
        for f in range(codes.shape[0]):
            codes[f, row] = -1
        i = start
        prev = record_start
        i = _skip_space(buf, i, stop)
        if i >= stop or buf[i] != 123:
            return -1
        i += 1
        i = _skip_space(buf, i, stop)
        if i < stop and buf[i] == 125:
            i += 1
        else:
            while True:
                if i >= stop or buf[i] != 34:
                    return -1
                k0 = i + 1
                # Records mostly repeat one order of fields: first try the field that
                # followed the previous one last time, byte for byte.
                f = -1
                k1 = -1
                guess = follow[prev]
                if guess >= 0 and name_spans[guess, 1] >= 0:
                    k1 = k0 + name_spans[guess, 1]
                    if (
                        k1 < stop
                        and buf[k1] == 34
                        and _equal(buf, k0, names_text, name_spans[guess, 0], name_spans[guess, 1])
                    ):
                        f = guess
                if f < 0:
                    k1 = _scan_string(buf, k0, stop)
                    if k1 < 0:
                        return -1
                i = k1 + 1
                i = _skip_space(buf, i, stop)
                if i >= stop or buf[i] != 58:
                    return -1
                i += 1
                i = _skip_space(buf, i, stop)
                if i >= stop:
                    return -1
                if f < 0:
                    f = _lookup(
                        buf,
                        k0,
                        k1,
                        _hash(buf, k0, k1, -1),
                        -1,
                        key_hashes,
                        key_values,
                        key_owners,
                        key_starts,
                        key_lengths,
                        key_text,
                    )
                follow[prev] = f
                prev = f if f >= 0 else unknown
                if f >= 0:
                    if seen[f] == row:
                        return -1
                    seen[f] = row
                # Each kind of value is scanned at one place: the number scan is inlined.
                kind = kinds[f] if f >= 0 else -1  # -1: a field the profile does not know
                token = -1  # where a categorical value's text starts and ends
                token_end = -1
                c = buf[i]
                if c == 34:
                    if kind == 1:  # text
                        j = _scan_string(buf, i + 1, stop)
                        token = i + 1
                        token_end = j
                        if j >= 0:
                            j += 1
                    elif kind == -1:  # checked and skipped
                        j = _skip_string(buf, i + 1, stop)
                    else:
                        return -1
                    if j < 0:
                        return -1
                elif c == 45 or 48 <= c <= 57:
                    j, w, q, dropped = _scan_number(buf, i, stop)
                    if j < 0:
                        return -1
                    if kind == 0:
                        s = slots[f]
                        if -22 <= q <= 22 and w <= MAX_EXACT:
                            # Clinger's fast path, written out: the common case.
                            if q >= 0:
                                value, ok = float(w) * EXACT_POW10[q], True
                            else:
                                value, ok = float(w) / EXACT_POW10[-q], True
                        else:
                            value, ok = decimal_to_double(w, q)
                        if dropped or not ok:
                            if n_unsure == unsure.shape[0]:
                                return -2
                            unsure[n_unsure, 0] = s
                            unsure[n_unsure, 1] = i
                            unsure[n_unsure, 2] = j
                            unsure[n_unsure, 3] = row
                            n_unsure += 1
                        elif buf[i] == 45:
                            numbers[s, row] = -value
                        else:
                            numbers[s, row] = value
                    elif kind == 1:  # a number in a text column: a plain integer only
                        if q != 0 or dropped or j - i > 18:
                            return -1
                        for k in range(i, j):
                            if buf[k] == 46 or buf[k] == 101 or buf[k] == 69:
                                return -1
                        if buf[i] == 45 and w == _U0:
                            return -1  # "-0": Polars' text for it is not the token
                        token = i
                        token_end = j
                    elif kind == 2:
                        return -1
                else:
                    j, which = _literal(buf, i, stop)
                    if j < 0:
                        return -1
                    if kind >= 0 and kind != 2 and which != -1:
                        return -1  # true/false outside a boolean column
                    if kind == 2 and which >= 0:
                        # A boolean column's values are coded by their text.
                        token = i
                        token_end = j
                i = j
                if token >= 0:
                    code = _lookup(
                        buf,
                        token,
                        token_end,
                        _hash(buf, token, token_end, f),
                        f,
                        cat_hashes,
                        cat_values,
                        cat_owners,
                        cat_starts,
                        cat_lengths,
                        cat_text,
                    )
                    codes[slots[f], row] = others[f] if code < 0 else code
                i = _skip_space(buf, i, stop)
                if i >= stop:
                    return -1
                if buf[i] == 44:
                    i += 1
                    i = _skip_space(buf, i, stop)
                    continue
                if buf[i] == 125:
                    i += 1
                    break
                return -1
        i = _skip_space(buf, i, stop)
        if i - start > max_bytes:
            return -1
        if row < n_rows - 1:
            if i >= stop or buf[i] != 0:
                return -1
            start = i + 1
        elif i != stop:
            return -1
    return n_unsure
