"""Decode a micro-batch of message payloads into one Polars DataFrame, keeping bad records apart.

The fast path joins all payloads with newlines and parses them with one ``polars.read_ndjson``
call against the profile's schema. If that call fails, or yields a different number of rows
than there were payloads, the batch is split into 16 parts and each decoded again; a refused
part of at most 64 payloads is checked payload by payload with the standard library, and its
good payloads parsed together. A clean batch costs one parser call; a batch with one bad
record costs about 33; a batch riddled with them, one standard-library parse per payload.

Each bad payload gets a short reason code and a detail line. Neither ever contains the
payload's bytes, so both can go to logs. The reasons:

====================  ==============================================================
``empty``             a tombstone (no value) or a payload of only whitespace
``oversized``         longer than the configured limit, not parsed at all
``invalid_utf8``      not UTF-8
``invalid_json``      not JSON (NaN and Infinity literals included: JSON has neither)
``not_an_object``     JSON, but not an object (nor an array of objects)
``wrong_type``        a field's value does not fit the column's type (detail names it)
``missing_field``     a required field is absent or null (detail names it)
====================  ==============================================================

A payload holding a JSON array of objects is decoded on its own and counts as that many
records; if any element is bad, the whole array is dead-lettered as one record.

Given a ``flatjson.FlatJsonDecoder``, a batch of plain flat objects skips the frame
altogether: one compiled pass decodes it into the arrays the detectors read
(``ColumnArrays``). A batch that pass is unsure of takes the path above.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from stream_monitor.engine.dataset import ColumnArrays
from stream_monitor.stream.flatjson import FlatJsonDecoder

EMPTY = "empty"
OVERSIZED = "oversized"
INVALID_UTF8 = "invalid_utf8"
INVALID_JSON = "invalid_json"
NOT_AN_OBJECT = "not_an_object"
WRONG_TYPE = "wrong_type"
MISSING_FIELD = "missing_field"

# What the parser raises on a bad payload. A Rust panic inside Polars surfaces as a
# BaseException subclass; a hostile payload must not take the monitor down with it.
_PARSE_ERRORS = (pl.exceptions.PolarsError, ValueError, pl.exceptions.PanicException)

# A run the parser refused is split into this many parts, each parsed again; a refused part
# of at most _DIAGNOSE_BELOW payloads is checked one payload at a time instead.
_FAN_OUT = 16
_DIAGNOSE_BELOW = 64


@dataclass(frozen=True, slots=True)
class BadRecord:
    """A payload that could not be scored: its index in the batch, a reason code and detail."""

    index: int
    reason: str
    detail: str
    #: The fields at fault, when the reason is about fields (``wrong_type``, ``missing_field``).
    fields: tuple[str, ...] = ()


@dataclass(slots=True)
class DecodedBatch:
    """The rows decoded from a batch, and the payloads that were not.

    ``row_source[i]`` is the index in the batch of the payload that row ``i`` came from
    (several rows share one index when a payload held a JSON array).
    """

    frame: pl.DataFrame
    row_source: list[int] = field(default_factory=list)
    bad: list[BadRecord] = field(default_factory=list)
    #: The rows as column arrays, when the compiled decoder read them (``frame`` is empty).
    columns: ColumnArrays | None = None

    @property
    def height(self) -> int:
        """Number of rows decoded."""
        return self.columns.height if self.columns is not None else self.frame.height

    @property
    def rows(self) -> pl.DataFrame | ColumnArrays:
        """The decoded rows, in whichever form they were decoded."""
        return self.columns if self.columns is not None else self.frame


class Decoder:
    """Decodes payloads against a fixed schema.

    Parameters
    ----------
    schema
        Field name to Polars dtype. Fields outside it are ignored.
    required
        Fields that must be present and non-null.
    max_bytes
        Payloads longer than this are dead-lettered unparsed.
    flat
        The compiled decoder of flat objects into column arrays, over the same fields.

    Examples
    --------
    >>> import polars as pl
    >>> decoder = Decoder({"x": pl.Float64, "city": pl.String}, required=["x"])
    >>> batch = decoder.decode([b'{"x": 1.5, "city": "Oslo"}', b'{"x": "oops"}', None,
    ...                         b'[{"x": 2}, {"x": 3, "extra": true}]', b'{"city": "Rome"}'])
    >>> batch.frame["x"].to_list(), batch.row_source
    ([1.5, 2.0, 3.0], [0, 3, 3])
    >>> [(b.index, b.reason) for b in batch.bad]
    [(1, 'wrong_type'), (2, 'empty'), (4, 'missing_field')]
    """

    def __init__(
        self,
        schema: Mapping[str, pl.DataType | type[pl.DataType]],
        *,
        required: Sequence[str] = (),
        max_bytes: int = 1 << 20,
        flat: FlatJsonDecoder | None = None,
    ) -> None:
        self.schema = pl.Schema(dict(schema))
        self.flat = flat
        self._empty = self.schema.to_frame()
        self.required = [name for name in required if name in self.schema]
        self.max_bytes = max_bytes
        self._kinds = {name: _kind(dtype) for name, dtype in self.schema.items()}

    def decode(self, payloads: Sequence[bytes | None]) -> DecodedBatch:
        """Decode a batch; every payload ends either in the rows or in ``bad``."""
        if self.flat is not None:
            columns = self._decode_flat(payloads, self.flat)
            if columns is not None:
                return columns
        clean = self._decode_clean(payloads)
        if clean is not None:
            return clean
        return self._decode_mixed(payloads)

    def decode_frame(self, frame: pl.DataFrame) -> DecodedBatch:
        """Check already-typed rows (from a file) as payloads are checked: every row ends
        either in ``frame`` (cast to the schema) or in ``bad``.

        A value that does not cast to its column's type is ``wrong_type`` (strings are never
        wrong: any value has a text form), a required field that is absent or null is
        ``missing_field``, and a field the file lacks counts as absent in every row.
        """
        n = frame.height
        present = [name for name in self.schema.names() if name in frame.columns]
        cast = frame.select(
            [pl.col(name).cast(self.schema[name], strict=False) for name in present]
            + [
                pl.lit(None, dtype=self.schema[name]).alias(name)
                for name in self.schema.names()
                if name not in frame.columns
            ]
        ).select(self.schema.names())
        failed = [
            name
            for name in present
            if self._kinds[name] != "string" and frame[name].dtype != self.schema[name]
        ]
        bad: list[BadRecord] = []
        row_source = list(range(n))
        if failed:
            lost = frame.select(
                (pl.col(name).is_not_null() & cast[name].is_null()).alias(name) for name in failed
            )
            any_lost = lost.select(pl.any_horizontal(pl.all())).to_series()
            if any_lost.any():
                rows = any_lost.arg_true()
                for r, flags in zip(rows.to_list(), lost[rows].iter_rows(), strict=True):
                    names = tuple(c for c, hit in zip(failed, flags, strict=True) if hit)
                    detail = f"field {names[0]!r} does not fit its column's type"
                    bad.append(BadRecord(r, WRONG_TYPE, detail, names))
                cast = cast.filter(~any_lost)
                row_source = [r for r, hit in enumerate(any_lost.to_list()) if not hit]
        batch = DecodedBatch(cast, row_source, bad)
        batch.frame, batch.row_source = self._check_required([], cast, row_source, batch.bad)
        batch.bad.sort(key=lambda b: b.index)
        return batch

    def _decode_flat(
        self, payloads: Sequence[bytes | None], flat: FlatJsonDecoder
    ) -> DecodedBatch | None:
        """The compiled path: flat objects straight into column arrays. None if unsure."""
        n = len(payloads)
        decoded = flat.decode(payloads, self.max_bytes)
        if decoded is None:
            return None
        values = decoded
        row_source = list(range(n))
        bad: list[BadRecord] = []
        if self.required:
            nulls = np.stack([_null_mask(values[name]) for name in self.required])
            missing = nulls.any(axis=0)
            if missing.any():
                rows = np.flatnonzero(missing)
                for r in rows.tolist():
                    names = tuple(
                        c for c, hit in zip(self.required, nulls[:, r], strict=True) if hit
                    )
                    detail = f"required field {names[0]!r} is missing"
                    bad.append(BadRecord(r, MISSING_FIELD, detail, names))
                keep = ~missing
                values = {name: array[keep] for name, array in values.items()}
                row_source = np.flatnonzero(keep).tolist()
        columns = ColumnArrays(len(row_source), values)
        return DecodedBatch(self._empty, row_source, bad, columns)

    def _decode_clean(self, payloads: Sequence[bytes | None]) -> DecodedBatch | None:
        """The fast path: one join, one parse, no per-payload Python. None if it does not fit."""
        n = len(payloads)
        if n == 0:
            return DecodedBatch(self.schema.to_frame())
        try:
            blob = b"\n".join(payloads)  # type: ignore[arg-type]  # a None raises TypeError
        except TypeError:
            return None
        if blob.count(b"\n") != n - 1 or max(map(len, payloads)) > self.max_bytes:  # type: ignore[arg-type]
            return None
        try:
            frame = self._parse(blob)
        except _PARSE_ERRORS:
            return None
        if frame.height != n:
            return None
        batch = DecodedBatch(frame, list(range(n)))
        batch.frame, batch.row_source = self._check_required(
            payloads, frame, batch.row_source, batch.bad
        )
        return batch

    def _decode_mixed(self, payloads: Sequence[bytes | None]) -> DecodedBatch:
        """The slow path: classify each payload, then bisect the runs of plain objects."""
        bad: list[BadRecord] = []
        plain: list[int] = []
        arrays: list[int] = []
        for i, value in enumerate(payloads):
            if not value or value.isspace():
                bad.append(BadRecord(i, EMPTY, "no value"))
            elif len(value) > self.max_bytes:
                bad.append(BadRecord(i, OVERSIZED, f"{len(value)} bytes > {self.max_bytes}"))
            elif value.lstrip()[:1] == b"[":
                arrays.append(i)
            else:
                plain.append(i)
        parts: list[tuple[int, pl.DataFrame, list[int]]] = []
        checked: list[int] = []
        # When every payload is a plain object, the fast path has just refused this very run.
        refused = len(plain) == len(payloads)
        self._decode_run(payloads, plain, parts, checked, bad, refused=refused)
        # Payloads that passed the one-by-one check are parsed together, in one call.
        if checked:
            self._parse_checked(payloads, checked, parts, bad)
        for i in arrays:
            self._decode_array(payloads, i, parts, bad)
        frame, row_source = _in_source_order(parts, self.schema)
        frame, row_source = self._check_required(payloads, frame, row_source, bad)
        bad.sort(key=lambda b: b.index)
        return DecodedBatch(frame, row_source, bad)

    # -- the fast path and its bisection -------------------------------------------------
    def _parse(self, blob: bytes) -> pl.DataFrame:
        return pl.read_ndjson(io.BytesIO(blob), schema=self.schema)

    def _decode_run(
        self,
        payloads: Sequence[bytes | None],
        indices: list[int],
        parts: list[tuple[int, pl.DataFrame, list[int]]],
        checked: list[int],
        bad: list[BadRecord],
        *,
        refused: bool = False,
    ) -> None:
        """Parse a run of payloads; narrow a refused run down to its bad payloads."""
        if not indices:
            return
        blob = b"\n".join(payloads[i] or b"" for i in indices)
        if not refused and len(indices) > _DIAGNOSE_BELOW and blob.count(b"\n") == len(indices) - 1:
            try:
                frame = self._parse(blob)
            except _PARSE_ERRORS:
                frame = None
            if frame is not None and frame.height == len(indices):
                parts.append((indices[0], frame, list(indices)))
                return
        if len(indices) <= _DIAGNOSE_BELOW:
            # A parser call costs more than checking a few payloads with the standard library;
            # the good ones are parsed later, all together.
            for i in indices:
                reason = self._diagnose(payloads[i] or b"")
                if reason is None:
                    checked.append(i)
                else:
                    bad.append(BadRecord(i, *reason))
            return
        step = -(-len(indices) // _FAN_OUT)
        for lo in range(0, len(indices), step):
            self._decode_run(payloads, indices[lo : lo + step], parts, checked, bad)

    def _parse_checked(
        self,
        payloads: Sequence[bytes | None],
        indices: list[int],
        parts: list[tuple[int, pl.DataFrame, list[int]]],
        bad: list[BadRecord],
    ) -> None:
        """Parse payloads the standard library accepted; one call, or one each if refused."""
        # JSON allows raw newlines only as whitespace, so a payload spanning lines is flattened.
        flat = [(payloads[i] or b"").replace(b"\r", b" ").replace(b"\n", b" ") for i in indices]
        try:
            frame = self._parse(b"\n".join(flat))
        except _PARSE_ERRORS:
            frame = None
        if frame is not None and frame.height == len(indices):
            parts.append((indices[0], frame, list(indices)))
            return
        for i, value in zip(indices, flat, strict=True):
            try:
                single = self._parse(value)
            except _PARSE_ERRORS:
                single = None
            if single is None or single.height != 1:
                found = self._diagnose(value) if value is not None else None
                if found is not None and found[0] == WRONG_TYPE:
                    bad.append(BadRecord(i, *found))
                else:
                    bad.append(BadRecord(i, WRONG_TYPE, "a field does not fit its column's type"))
            else:
                parts.append((i, single, [i]))

    def _decode_array(
        self,
        payloads: Sequence[bytes | None],
        i: int,
        parts: list[tuple[int, pl.DataFrame, list[int]]],
        bad: list[BadRecord],
    ) -> None:
        value = payloads[i] or b""
        reason = self._diagnose(value)
        if reason is not None:
            bad.append(BadRecord(i, *reason))
            return
        items = json.loads(value)
        if not items:
            bad.append(BadRecord(i, EMPTY, "an empty array"))
            return
        lines = b"\n".join(json.dumps(item, allow_nan=False).encode() for item in items)
        try:
            frame = self._parse(lines)
        except _PARSE_ERRORS:
            bad.append(BadRecord(i, WRONG_TYPE, "an array element does not fit the schema"))
            return
        parts.append((i, frame, [i] * frame.height))

    def _diagnose(self, value: bytes) -> tuple[str, str, tuple[str, ...]] | None:
        """Why a payload is bad, checked with the standard library; None if it looks valid."""
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError as error:
            return INVALID_UTF8, f"invalid UTF-8 at byte {error.start}", ()
        try:
            doc = json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError) as error:
            return INVALID_JSON, _json_error(error), ()
        objects = doc if isinstance(doc, list) else [doc]
        for obj in objects:
            if not isinstance(obj, dict):
                return NOT_AN_OBJECT, f"a JSON {type(obj).__name__}, not an object", ()
            for name, kind in self._kinds.items():
                if name in obj and not _fits(obj[name], kind):
                    return WRONG_TYPE, f"field {name!r} is a {_json_type(obj[name])}", (name,)
        return None

    def _check_required(
        self,
        payloads: Sequence[bytes | None],
        frame: pl.DataFrame,
        row_source: list[int],
        bad: list[BadRecord],
    ) -> tuple[pl.DataFrame, list[int]]:
        if not self.required or frame.height == 0:
            return frame, row_source
        missing = pl.any_horizontal([pl.col(c).is_null() for c in self.required])
        mask = frame.select(missing).to_series()
        if not mask.any():
            return frame, row_source
        # One pass over the rows with a null required field: which fields, per source payload.
        rows = mask.arg_true()
        nulls = frame.select(pl.col(c).gather(rows).is_null() for c in self.required)
        sources = [row_source[r] for r in rows.to_list()]
        fields_of: dict[int, list[str]] = {}
        for src, flags in zip(sources, nulls.iter_rows(), strict=True):
            found = fields_of.setdefault(src, [])
            found.extend(
                c for c, null in zip(self.required, flags, strict=True) if null and c not in found
            )
        for src in sorted(fields_of):
            names = tuple(fields_of[src])
            bad.append(
                BadRecord(src, MISSING_FIELD, f"required field {names[0]!r} is missing", names)
            )
        keep = [s not in fields_of for s in row_source]
        keep_series = pl.Series(keep, dtype=pl.Boolean)
        return frame.filter(keep_series), [s for s in row_source if s not in fields_of]


def _null_mask(values: NDArray[Any]) -> NDArray[np.bool_]:
    """Where a column array holds null: NaN for numbers, a negative code for categories."""
    return np.isnan(values) if values.dtype.kind == "f" else values < 0


def _in_source_order(
    parts: list[tuple[int, pl.DataFrame, list[int]]], schema: pl.Schema
) -> tuple[pl.DataFrame, list[int]]:
    """Concatenate decoded parts, with rows in the order of the payloads they came from."""
    if not parts:
        return schema.to_frame(), []
    frame = pl.concat([p[1] for p in parts])
    sources = pl.Series("__source", [src for p in parts for src in p[2]], dtype=pl.Int64)
    ordered = frame.with_columns(sources).sort("__source", maintain_order=True)
    return ordered.drop("__source"), ordered["__source"].to_list()


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not valid JSON")


def _json_error(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deeply"
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at character {error.pos}"
    return str(error).splitlines()[0][:120]


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _kind(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "int"
    if dtype.is_numeric():
        return "float"
    if dtype == pl.Boolean:
        return "bool"
    if dtype == pl.String:
        return "str"
    return "any"


def _fits(value: object, kind: str) -> bool:
    """Whether a decoded JSON value fits a column of ``kind`` (null fits every column)."""
    if value is None or kind == "any":
        return True
    if kind == "bool":
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if kind == "float":
        return isinstance(value, int) or (isinstance(value, float) and not math.isinf(value))
    if kind == "int":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return isinstance(value, str | int | float)
