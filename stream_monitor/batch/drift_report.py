"""The drift report as a JSON-ready dict, and its check against the published JSON Schema.

``build_report(result)`` lays out a ``DriftResult`` as version 3 of the report
(``stream_monitor/schemas/drift_report.schema.json``, described in ``docs/drift-report.md``),
which the HTML renderer and any other consumer read. Numbers that are not finite become
null; every string from the data (column names, categories, sources) is kept as is, for the
consumer to escape. The report's size depends on the number of columns and bins, never on
the number of rows.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping
from dataclasses import asdict
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from stream_monitor.batch.drift import (
    CategoricalHistogram,
    ColumnDrift,
    ConceptDrift,
    DataQuality,
    DriftChunk,
    DriftResult,
    NumericHistogram,
)

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

    from stream_monitor.batch.multivariate import MultivariateDrift

__all__ = ["SCHEMA_VERSION", "build_report", "dumps_report", "report_schema", "validate_report"]

#: Version 3 added ``chunking`` and ``chunks`` (drift over time).
SCHEMA_VERSION = 3
_SCHEMA_FILE = "drift_report.schema.json"


def _number(value: float | None) -> float | None:
    """A finite float, or None."""
    if value is None or not math.isfinite(value):
        return None
    return float(value)


def _quality(quality: DataQuality | None) -> dict[str, Any] | None:
    return None if quality is None else quality.to_dict()


def _feature(drift: ColumnDrift) -> dict[str, Any]:
    summaries = []
    for summary in (drift.reference, drift.current):
        raw = asdict(summary)
        if drift.kind == "numeric":
            fields = {
                key: value if key in ("count", "missing") else _number(value)
                for key, value in raw.items()
            }
        else:
            fields = raw | {"top": [[name, share] for name, share in raw["top"]]}
        summaries.append(fields)
    histogram: dict[str, Any]
    if isinstance(drift.histogram, NumericHistogram):
        histogram = {"edges": list(drift.histogram.edges)}
    else:
        assert isinstance(drift.histogram, CategoricalHistogram)
        histogram = {"categories": list(drift.histogram.categories)}
    histogram["reference"] = list(drift.histogram.reference)
    histogram["current"] = list(drift.histogram.current)
    return {
        "kind": drift.kind,
        "method": drift.method,
        "score": _number(drift.score),
        "threshold": drift.threshold,
        "p_value": _number(drift.p_value),
        "drift_detected": drift.drift_detected,
        "reference": summaries[0],
        "current": summaries[1],
        "histogram": histogram,
        "data_quality": _quality(drift.data_quality),
    }


def _chunk_feature(drift: ColumnDrift, rows: int) -> dict[str, Any]:
    """A feature in one chunk: its score and verdicts, and its missing values (null, NaN)."""
    quality = drift.data_quality
    missing = next(
        (c.current_count for c in (quality.checks if quality else ()) if c.name == "missing"),
        drift.current.missing,
    )
    return {
        "method": drift.method,
        "score": _number(drift.score),
        "threshold": drift.threshold,
        "p_value": _number(drift.p_value),
        "drift_detected": drift.drift_detected,
        "data_quality_drift": drift.quality_drift_detected,
        "missing": missing,
        "missing_share": missing / rows if rows else None,
    }


def _chunk(chunk: DriftChunk) -> dict[str, Any]:
    return {
        "index": chunk.index,
        "start": chunk.start,
        "end": chunk.end,
        "rows": chunk.rows,
        "dataset_drift": chunk.dataset_drift,
        "drift_share": chunk.drift_share,
        "n_drifted_features": chunk.n_drifted_features,
        "features": {f.name: _chunk_feature(f, chunk.rows) for f in chunk.features},
    }


def _concept(concept: ConceptDrift) -> dict[str, Any]:
    return {
        "kind": concept.kind,
        "method": concept.method,
        "score": _number(concept.score),
        "threshold": concept.threshold,
        "p_value": _number(concept.p_value),
        "drift_detected": concept.drift_detected,
        "reference_error": _number(concept.reference_error),
        "current_error": _number(concept.current_error),
    }


def _multivariate(drift: MultivariateDrift | None) -> dict[str, Any] | None:
    if drift is None:
        return None
    score = drift.distribution
    return {
        "method": "pca_reconstruction",
        "features": list(drift.features),
        "components": drift.components,
        "explained_variance": drift.explained_variance,
        "reference_rows": drift.reference_rows,
        "current_rows": drift.current_rows,
        "reference_mean_error": _number(drift.reference_mean),
        "reference_std_error": _number(drift.reference_std),
        "current_mean_error": _number(drift.current_mean),
        "standard_error": _number(drift.standard_error),
        "sigmas": drift.sigmas,
        "lower_threshold": _number(drift.lower),
        "upper_threshold": _number(drift.upper),
        "mean_drift_detected": drift.mean_drift_detected,
        "distribution": {
            "method": score.method,
            "score": _number(score.score),
            "threshold": score.threshold,
            "p_value": _number(score.p_value),
            "drift_detected": score.drift_detected,
        },
        "drift_detected": drift.drift_detected,
        "contributors": list(drift.contributors),
        "residuals": {
            name: {"reference": _number(ref), "current": _number(cur)}
            for name, ref, cur in zip(
                drift.features, drift.reference_residuals, drift.current_residuals, strict=True
            )
        },
    }


def build_report(result: DriftResult, *, generated_at: dt.datetime | None = None) -> dict[str, Any]:
    """The report of ``result`` as a dict of JSON types (``generated_at`` defaults to now).

    >>> from stream_monitor.batch.drift import compare_numeric
    >>> result = DriftResult(
    ...     scores_from="exact", reference_source="ref.csv", reference_kind="data",
    ...     reference_rows=4, current_source="cur.csv", current_rows=4,
    ...     features=(compare_numeric([1.0, 2.0, 3.0, 4.0], [3.0, 4.0, 5.0, 6.0], name="x"),),
    ...     label=None, prediction=None, concept=None, drift_share_threshold=0.5)
    >>> report = build_report(result, generated_at=dt.datetime(2024, 5, 1, tzinfo=dt.UTC))
    >>> report["generated_at"], report["dataset_drift"], report["features"]["x"]["method"]
    ('2024-05-01T00:00:00Z', False, 'ks')
    """
    moment = generated_at or dt.datetime.now(dt.UTC)
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "scores_from": result.scores_from,
        "reference": {
            "source": result.reference_source,
            "kind": result.reference_kind,
            "rows": result.reference_rows,
        },
        "current": {"source": result.current_source, "rows": result.current_rows},
        "reference_rows": result.reference_rows,
        "current_rows": result.current_rows,
        "dataset_drift": result.dataset_drift,
        "drift_share": result.drift_share,
        "drift_share_threshold": result.drift_share_threshold,
        "n_features": result.n_features,
        "n_drifted_features": result.n_drifted_features,
        "data_quality_drift": result.data_quality_drift,
        "features": {f.name: _feature(f) for f in result.features},
        "label_drift": None if result.label is None else _feature(result.label),
        "prediction_drift": None if result.prediction is None else _feature(result.prediction),
        "concept_drift": None if result.concept is None else _concept(result.concept),
        "notes": list(result.notes),
        "excluded": dict(result.excluded),
        "multivariate": _multivariate(result.multivariate),
        "chunking": None if result.chunking is None else dict(result.chunking),
        "chunks": [_chunk(chunk) for chunk in result.chunks],
    }


@cache
def _schema_text() -> str:
    return resources.files("stream_monitor.schemas").joinpath(_SCHEMA_FILE).read_text("utf-8")


def report_schema() -> dict[str, Any]:
    """The JSON Schema of the report (a fresh copy)."""
    schema: dict[str, Any] = json.loads(_schema_text())
    return schema


@cache
def _validator() -> Draft202012Validator:
    from jsonschema import Draft202012Validator  # when asked to validate: 0.1 s to import

    schema = report_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def validate_report(report: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` unless ``report`` follows the schema and adds up.

    Beyond the schema: no number is NaN or infinite, each numeric histogram has one share
    fewer than edges, each categorical one a share per category, the counts of drifted
    features agree (a feature drifted when its distribution or its data quality did), and so
    does ``data_quality_drift``; a ``multivariate`` block's residuals, contributors and
    verdict agree with its features and its two verdicts.
    """
    _check_finite(report, "")
    # The schema validator takes about 0.5 ms per chunk and feature (7 s for 1,000 chunks of
    # 14 features). Every chunk is laid out by one function, so the first and the last stand
    # for the others here, and ``_check_chunks`` checks each one's keys, features and counts.
    chunks = report.get("chunks")
    if isinstance(chunks, list) and len(chunks) > 2:
        report = {**report, "chunks": [chunks[0], chunks[-1]]}
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(report))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise ValueError(f"drift report does not follow its schema at {where}: {error.message}")
    features: Mapping[str, Any] = report["features"]
    named = [(f"features/{name}", feature) for name, feature in features.items()]
    for key in ("label_drift", "prediction_drift"):
        if report[key] is not None:
            named.append((key, report[key]))
    for where, feature in named:
        histogram = feature["histogram"]
        bins = (
            len(histogram["edges"]) - 1
            if feature["kind"] == "numeric"
            else len(histogram["categories"])
        )
        for side in ("reference", "current"):
            if len(histogram[side]) != bins:
                raise ValueError(
                    f"drift report: {where}: {side} has {len(histogram[side])} "
                    f"shares for {bins} bins"
                )
    drifted = sum(
        bool(feature["drift_detected"]) or _quality_drifted(feature)
        for feature in features.values()
    )
    if report["n_features"] != len(features) or report["n_drifted_features"] != drifted:
        raise ValueError("drift report: n_features or n_drifted_features do not match features")
    if report["data_quality_drift"] != any(_quality_drifted(f) for _, f in named):
        raise ValueError("drift report: data_quality_drift does not match the columns")
    multivariate = report.get("multivariate")
    if multivariate is not None:
        _check_multivariate(multivariate)
    _check_chunks(report["chunking"], chunks if isinstance(chunks, list) else [], features)


def _check_chunks(chunking: object, chunks: list[Any], features: Mapping[str, Any]) -> None:
    """Chunks only with a chunking, numbered in order, each with the keys of the first and
    scoring every feature, with counts that agree with their verdicts."""
    if chunking is None and chunks:
        raise ValueError("drift report: chunks without a chunking")
    if not chunks:
        return
    keys = set(chunks[0])
    entry_keys = set(next(iter(chunks[0]["features"].values()), {}))
    for index, chunk in enumerate(chunks):
        where = f"drift report: chunks/{index}"
        if not isinstance(chunk, Mapping) or set(chunk) != keys:
            raise ValueError(f"{where}: not laid out as chunks/0")
        if chunk["index"] != index:
            raise ValueError(f"{where}: index {chunk['index']}")
        if list(chunk["features"]) != list(features):
            raise ValueError(f"{where}: its features are not the report's")
        if any(set(entry) != entry_keys for entry in chunk["features"].values()):
            raise ValueError(f"{where}: a feature not laid out as in chunks/0")
        drifted = sum(
            f["drift_detected"] or f["data_quality_drift"] for f in chunk["features"].values()
        )
        if chunk["n_drifted_features"] != drifted:
            raise ValueError(f"{where}: n_drifted_features does not match its features")


def _check_multivariate(block: Mapping[str, Any]) -> None:
    """The residuals name the features, the contributors are among them, and the verdict is
    both of its parts."""
    if list(block["residuals"]) != block["features"]:
        raise ValueError("drift report: multivariate residuals do not match its features")
    if not set(block["contributors"]) <= set(block["features"]):
        raise ValueError("drift report: a multivariate contributor is not among its features")
    both = block["mean_drift_detected"] and block["distribution"]["drift_detected"]
    if block["drift_detected"] != both:
        raise ValueError("drift report: multivariate drift_detected does not match its parts")


def _quality_drifted(feature: Mapping[str, Any]) -> bool:
    quality = feature.get("data_quality")
    return quality is not None and bool(quality["drift_detected"])


def _check_finite(value: object, where: str) -> None:
    """JSON Schema lets NaN pass every bound; the report has null instead."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"drift report: {value} at {where or '(top level)'}; expected null")
    if isinstance(value, Mapping):
        for key, item in value.items():
            _check_finite(item, f"{where}/{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_finite(item, f"{where}/{i}")


def dumps_report(report: Mapping[str, Any]) -> str:
    """The report as JSON text (strict: a NaN or infinity left in it is an error)."""
    return json.dumps(report, indent=2, allow_nan=False) + "\n"
