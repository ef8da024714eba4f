"""The drift report as one self-contained HTML page.

``render_html(report)`` turns the JSON-ready drift report (``schema_version`` 3, 2 or 1) into a
single HTML document that opens offline and fetches nothing: the CSS and the script are
inline, and every distribution and timeline is an SVG drawn here, in Python, from the report's
bins and chunks. The page's size therefore depends on the number of features, bins and
chunks, never on the number of rows (about 3 KB per numeric feature, and about 0.2 KB per
feature and chunk for drift over time).

The page reads fully without JavaScript; the script only sorts the feature table (click a
column header) and filters it to the drifted features.

Safety, since column names, category values, sources and method names come from user data:

- every string from the report is escaped with ``html.escape(..., quote=True)``, in text and
  in attributes alike, and numbers are formatted here rather than copied;
- the script embeds no data: it reads the table's cells and ``data-*`` attributes and moves
  existing rows, so it never builds markup from strings;
- a Content-Security-Policy allows only this module's own style and script, by SHA-256 hash:
  no other script, inline event handler, style, font, frame or fetch can run or load, even
  if some markup did slip through.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from collections.abc import Iterable, Mapping, Sequence
from itertools import pairwise
from typing import Any

from stream_monitor import __version__

__all__ = ["render_html"]

SCHEMA_VERSION = 3
# Version 1 lacks the excluded columns and the data-quality verdicts, versions 1 and 2 the
# chunks; they render without them.
_READABLE_VERSIONS = (1, 2, 3)

_CSS = """
:root{--fg:#1f2933;--muted:#5f6b7a;--line:#e3e7ec;--bg:#f5f7fa;--card:#fff;--head:#eef1f5;
--drift:#c92a2a;--drift-bg:#fff1f1;--drift-line:#ffc9c9;--ok:#2b7a3b;--ok-bg:#edf9ef;
--ok-line:#b9e6c1;--ref:#8796a8;--cur:#e0620d;--link:#1c5fb8}
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;background:var(--bg);color:var(--fg);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1280px;margin:0 auto;padding:24px 28px 40px}
h1{font-size:24px;margin:0 0 2px}
h2{font-size:17px;margin:28px 0 10px}
h3{font-size:15px;margin:0;overflow-wrap:anywhere}
a{color:var(--link)}
.muted{color:var(--muted)}
.verdict{border:1px solid;border-radius:8px;padding:14px 18px;margin:18px 0 14px}
.verdict.drift{background:var(--drift-bg);border-color:var(--drift-line)}
.verdict.ok{background:var(--ok-bg);border-color:var(--ok-line)}
.verdict p{margin:0}
.verdict .headline{font-size:18px;font-weight:650;margin-bottom:4px}
.verdict.drift .headline{color:var(--drift)}
.verdict.ok .headline{color:var(--ok)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(270px,1fr));gap:14px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 16px}
.card h3.label{font-size:12px;font-weight:650;letter-spacing:.05em;text-transform:uppercase;
color:var(--muted);margin-bottom:8px}
.card p{margin:8px 0 0}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 14px;margin:0}
dl.kv dt{color:var(--muted)}
dl.kv dd{margin:0;overflow-wrap:anywhere}
code{font:12.5px ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.badge{display:inline-block;border-radius:10px;padding:1px 9px;font-size:12px;font-weight:650;
white-space:nowrap}
.badge.drift{background:var(--drift);color:#fff}
.badge.ok{background:var(--ok-bg);color:var(--ok);border:1px solid var(--ok-line)}
.toolbar{display:flex;align-items:center;justify-content:space-between;gap:12px;flex-wrap:wrap}
.toolbar label{display:inline-flex;align-items:center;gap:6px;cursor:pointer}
table{border-collapse:collapse;width:100%}
.table{background:var(--card);border:1px solid var(--line);border-radius:8px;overflow:hidden}
th,td{padding:6px 12px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
tbody tr:last-child>*{border-bottom:0}
thead th{background:var(--head);font-weight:650;white-space:nowrap}
.num{text-align:right;font-variant-numeric:tabular-nums}
th button{font:inherit;color:inherit;background:none;border:0;padding:0;cursor:pointer}
th button:focus-visible{outline:2px solid var(--link);outline-offset:2px}
th button::after{content:"\\2195";color:#a5b0bd;margin-left:4px;font-size:11px}
th[aria-sort=ascending] button::after{content:"\\25B2";color:var(--fg)}
th[aria-sort=descending] button::after{content:"\\25BC";color:var(--fg)}
td.name{overflow-wrap:anywhere;font-weight:550}
tr.drifted td{background:var(--drift-bg)}
tr.drifted td:first-child{box-shadow:inset 3px 0 0 var(--drift)}
.features{display:grid;grid-template-columns:repeat(auto-fill,minmax(430px,1fr));gap:14px;
align-items:start}
.feature.drifted{border-color:var(--drift-line)}
.feature header{display:flex;justify-content:space-between;align-items:flex-start;gap:10px}
.feature .meta{margin:2px 0 8px;font-size:13px}
.feature svg{display:block;width:100%;height:auto}
.legend{font-size:12px;color:var(--muted)}
.key{display:inline-block;width:10px;height:10px;border-radius:2px;margin:0 4px 0 10px;
vertical-align:-1px}
.key.ref{background:var(--ref)}
.key.cur{background:var(--cur)}
table.stats{font-size:12.5px;margin-top:8px}
table.stats th,table.stats td{padding:3px 8px}
table.stats tbody th{font-weight:400;color:var(--muted)}
table.stats ol{margin:0;padding-left:18px}
svg .ref{fill:var(--ref);fill-opacity:.55}
svg .cur{fill:var(--cur);fill-opacity:.16;stroke:var(--cur);stroke-width:1.5}
svg rect.cur{fill-opacity:.85;stroke:none}
svg .axis{stroke:#9aa5b1;stroke-width:1}
svg text{font-size:10px;fill:var(--muted)}
svg text.end{text-anchor:end}
svg text.mid{text-anchor:middle}
footer{margin-top:32px;font-size:12px;color:var(--muted)}
table.timeline td{vertical-align:middle}
table.timeline td.chart{width:62%;padding:4px 8px}
table.timeline td.missing{width:16%;padding:4px 8px}
table.timeline svg{display:block;width:100%;height:auto}
svg .threshold{stroke:var(--drift);stroke-width:1;stroke-dasharray:4 3}
svg .series{fill:none;stroke:var(--cur);stroke-width:1.2}
svg circle{fill:var(--ref)}
svg circle.drifted{fill:var(--drift)}
svg circle.none{fill:none;stroke:var(--ref)}
svg rect.miss{fill:var(--ref)}
svg rect.miss.drifted{fill:var(--drift)}
@media print{body{background:#fff}.toolbar label{display:none}}
"""

# Sorting and filtering only: the script reads the rendered cells and reorders existing rows.
_JS = """
(() => {
  "use strict";
  const table = document.getElementById("feature-table");
  if (!table) return;
  const body = table.tBodies[0];
  Array.from(body.rows).forEach((row, i) => { row.dataset.order = String(i); });
  const collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  const headers = Array.from(table.tHead.rows[0].cells);
  const key = (row, column, numeric) => {
    const cell = row.cells[column];
    const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent;
    if (!numeric) return raw;
    const value = raw === "" ? NaN : Number(raw);
    return Number.isNaN(value) ? null : value;
  };
  headers.forEach((th, column) => {
    const button = th.querySelector("button");
    if (!button) return;
    button.addEventListener("click", () => {
      const numeric = th.dataset.type === "number";
      const current = th.getAttribute("aria-sort");
      const first = th.dataset.first === "descending" ? "descending" : "ascending";
      const next = current === "ascending" ? "descending"
        : current === "descending" ? "ascending" : first;
      headers.forEach((other) => other.setAttribute("aria-sort", "none"));
      th.setAttribute("aria-sort", next);
      const sign = next === "ascending" ? 1 : -1;
      const keyed = Array.from(body.rows, (row) => [key(row, column, numeric), row]);
      keyed.sort(([a, rowA], [b, rowB]) => {
        const tie = Number(rowA.dataset.order) - Number(rowB.dataset.order);
        if (a === null || b === null) return a === b ? tie : (a === null ? 1 : -1);
        const order = numeric ? a - b : collator.compare(a, b);
        return order !== 0 ? sign * order : tie;
      });
      body.append(...keyed.map(([, row]) => row));
    });
  });
  const filter = document.getElementById("only-drifted");
  const shown = document.getElementById("shown-count");
  if (!filter) return;
  filter.closest("label").hidden = false;
  const apply = () => {
    let count = 0;
    for (const row of body.rows) {
      row.hidden = filter.checked && row.dataset.drifted !== "true";
      if (!row.hidden) count += 1;
    }
    for (const card of document.querySelectorAll(".feature[data-drifted]")) {
      card.hidden = filter.checked && card.dataset.drifted !== "true";
    }
    if (shown) shown.textContent = String(count);
  };
  filter.addEventListener("change", apply);
  apply();
})();
"""


def _csp_hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


# Only the page's own style and script, by hash; no fetches of any kind (meta CSP cannot carry
# frame-ancestors, which Chromium would report as an error).
_CSP = (
    "default-src 'none'; "
    f"style-src {_csp_hash(_CSS)}; "
    f"script-src {_csp_hash(_JS)}; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)

_SCORES_FROM = {
    "exact": (
        "Exact",
        "Scores were computed from the reference rows and the current rows themselves.",
    ),
    "sketch": (
        "From the reference profile",
        "Scores were computed from the reference profile's sketches (quantile bins with exact "
        "counts, top-K category frequencies) rather than from the reference rows, so they can "
        "differ slightly from scores on the raw data.",
    ),
}

# Chart geometry, in SVG user units (the SVG scales to the card's width).
_W = 400
_PLOT_LEFT, _PLOT_RIGHT = 18, 382
_NUM_TOP, _NUM_BOTTOM = 8, 128
_NUM_HEIGHT = 146
_CAT_LABEL_W, _CAT_BAR_END, _CAT_ROW = 138, 350, 24
_CAT_MAX_ROWS = 12
_CAT_LABEL_CHARS = 22
# A value axis is used when the bins' widths are comparable; beyond this ratio of the widest
# bin to the median one (heavy tails under quantile bins) one bin would squash all the others.
_MAX_WIDTH_RATIO = 50.0


def render_html(report: Mapping[str, Any]) -> str:
    """The drift report as one self-contained HTML document.

    ``report`` is the JSON-ready drift report of schema version 3 (or 2, or 1). Every string in it
    is escaped; a ``ValueError`` names a schema version this renderer does not know.

    >>> page = render_html(
    ...     {
    ...         "schema_version": 1,
    ...         "generated_at": "2024-05-01T12:00:00Z",
    ...         "scores_from": "exact",
    ...         "reference": {"source": "train.parquet", "kind": "data", "rows": 1000},
    ...         "current": {"source": "<today>.parquet", "rows": 500},
    ...         "reference_rows": 1000,
    ...         "current_rows": 500,
    ...         "dataset_drift": False,
    ...         "drift_share": 0.0,
    ...         "drift_share_threshold": 0.5,
    ...         "n_features": 0,
    ...         "n_drifted_features": 0,
    ...         "features": {},
    ...         "label_drift": None,
    ...         "prediction_drift": None,
    ...         "concept_drift": None,
    ...     }
    ... )
    >>> page.startswith("<!DOCTYPE html>"), "&lt;today&gt;.parquet" in page, "<today>" in page
    (True, True, False)
    """
    version = report.get("schema_version")
    if isinstance(version, bool) or version not in _READABLE_VERSIONS:
        raise ValueError(
            f"drift report has schema_version {version!r}; this renderer reads versions "
            f"{', '.join(map(str, _READABLE_VERSIONS[:-1]))} and {_READABLE_VERSIONS[-1]}"
        )
    features: Mapping[str, Mapping[str, Any]] = report.get("features") or {}
    reference = report.get("reference") or {}
    current = report.get("current") or {}
    title = f"Drift report: {current.get('source', 'current')}"
    parts = [
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n',
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n',
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        '<meta name="color-scheme" content="light">\n',
        '<link rel="icon" href="data:,">\n',
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n",
        _header(report, reference, current),
        _verdict(report),
        _overview(report, reference, current),
        _notes(report),
        _excluded(report),
        _targets(report),
        _multivariate(report.get("multivariate")),
        _feature_table(features),
        _timeline(report, features),
        _feature_cards(features),
        f"<footer>stream-monitor {_esc(__version__)} · drift report schema "
        f"{_esc(version)}</footer>\n",
        f"</main>\n<script>{_JS}</script>\n</body>\n</html>\n",
    ]
    return "".join(parts)


# --- page sections -----------------------------------------------------------------------


def _header(
    report: Mapping[str, Any], reference: Mapping[str, Any], current: Mapping[str, Any]
) -> str:
    return (
        "<header>\n<h1>Drift report</h1>\n"
        f'<p class="muted"><span class="source">{_esc(current.get("source", "—"))}</span>'
        f' compared with <span class="source">{_esc(reference.get("source", "—"))}</span>'
        f" · generated {_esc(report.get('generated_at', '—'))}</p>\n</header>\n"
    )


def _verdict(report: Mapping[str, Any]) -> str:
    drifted = bool(report.get("dataset_drift"))
    n_features = report.get("n_features", 0)
    n_drifted = report.get("n_drifted_features", 0)
    headline = "Dataset drift detected" if drifted else "No dataset drift"
    quality = (
        '<p id="quality-drift"><strong>Data quality drifted</strong> (missing, infinite, '
        "out-of-range or unseen values grew): see the Data quality column.</p>\n"
        if report.get("data_quality_drift")
        else ""
    )
    multivariate = report.get("multivariate")
    if isinstance(multivariate, Mapping) and multivariate.get("drift_detected"):
        quality += (
            '<p id="multivariate-verdict"><strong>Multivariate drift</strong> (how the '
            'features move together changed): see <a href="#multivariate">Multivariate '
            "drift</a>.</p>\n"
        )
    return (
        f'<section class="verdict {"drift" if drifted else "ok"}" id="verdict">\n'
        f'<p class="headline">{headline}</p>\n'
        f"<p>{_count(n_drifted)} of {_count(n_features)} features drifted: drift share "
        f"<strong>{_pct(report.get('drift_share'))}</strong> against a threshold of "
        f"<strong>{_pct(report.get('drift_share_threshold'))}</strong>.</p>\n{quality}"
        "</section>\n"
    )


def _notes(report: Mapping[str, Any]) -> str:
    """The report's notes (columns left out, scores that could not be computed), if any."""
    notes = report.get("notes")
    if not isinstance(notes, list) or not notes:
        return ""
    items = "".join(f"<li>{_esc(note)}</li>" for note in notes)
    return (
        f'<section class="card" id="notes"><h3 class="label">Notes</h3><ul>{items}</ul></section>\n'
    )


def _excluded(report: Mapping[str, Any]) -> str:
    """The columns left out on purpose (configuration, identifiers, timestamps), if any."""
    excluded = report.get("excluded")
    if not isinstance(excluded, Mapping) or not excluded:
        return ""
    items = "".join(
        f"<li><code>{_esc(name)}</code>: {_esc(why)}</li>" for name, why in excluded.items()
    )
    return (
        '<section class="card" id="excluded"><h3 class="label">Not compared</h3>'
        f"<ul>{items}</ul></section>\n"
    )


def _overview(
    report: Mapping[str, Any], reference: Mapping[str, Any], current: Mapping[str, Any]
) -> str:
    scores_from = report.get("scores_from")
    label, explanation = _SCORES_FROM.get(
        scores_from if isinstance(scores_from, str) else "",
        (str(scores_from), "Unknown origin of the scores."),
    )
    kind = str(reference.get("kind", "—"))
    kind_text = {"data": "data", "profile": "reference profile"}.get(kind, kind)
    reference_rows = report.get("reference_rows", reference.get("rows"))
    current_rows = report.get("current_rows", current.get("rows"))
    return (
        '<section class="cards" aria-label="Data compared">\n'
        '<div class="card"><h3 class="label">Reference</h3><dl class="kv">'
        f'<dt>Source</dt><dd><code id="reference-source">{_esc(reference.get("source", "—"))}'
        f"</code></dd><dt>Kind</dt><dd>{_esc(kind_text)}</dd>"
        f'<dt>Rows</dt><dd id="reference-rows">{_count(reference_rows)}</dd></dl></div>\n'
        '<div class="card"><h3 class="label">Current</h3><dl class="kv">'
        f'<dt>Source</dt><dd><code id="current-source">{_esc(current.get("source", "—"))}'
        f'</code></dd><dt>Rows</dt><dd id="current-rows">{_count(current_rows)}</dd></dl></div>\n'
        '<div class="card"><h3 class="label">Scores</h3>'
        f'<p id="scores-from"><strong>{_esc(label)}</strong>. {_esc(explanation)}</p></div>\n'
        "</section>\n"
    )


def _targets(report: Mapping[str, Any]) -> str:
    label = report.get("label_drift")
    prediction = report.get("prediction_drift")
    concept = report.get("concept_drift")
    if not (label or prediction or concept):
        return ""
    parts = [
        f'<h2 id="targets">Label, prediction and concept drift</h2>\n{_LEGEND}'
        '<div class="features">\n'
    ]
    if label:
        parts.append(_feature_card("label-drift", "Label drift", label, filterable=False))
    if prediction:
        parts.append(
            _feature_card("prediction-drift", "Prediction drift", prediction, filterable=False)
        )
    if concept:
        parts.append(_concept_card(concept))
    parts.append("</div>\n")
    return "".join(parts)


def _concept_card(concept: Mapping[str, Any]) -> str:
    drifted = bool(concept.get("drift_detected"))
    kind = concept.get("kind")
    return (
        f'<article class="card feature{" drifted" if drifted else ""}" id="concept-drift">\n'
        f"<header><h3>Concept drift</h3>{_badge(drifted)}</header>\n"
        f'<p class="meta muted">{_esc(kind if kind is not None else "—")} · '
        f"{_esc(concept.get('method', '—'))}</p>\n"
        '<dl class="kv">'
        f"<dt>Score</dt><dd>{_num(concept.get('score'))}</dd>"
        f"<dt>Threshold</dt><dd>{_num(concept.get('threshold'))}</dd>"
        f"<dt>p-value</dt><dd>{_num(concept.get('p_value'), '.3g')}</dd>"
        f"<dt>Reference error</dt><dd>{_num(concept.get('reference_error'))}</dd>"
        f"<dt>Current error</dt><dd>{_num(concept.get('current_error'))}</dd>"
        '</dl>\n<p class="muted">The model\'s errors on the current rows against its errors '
        "on the reference rows.</p>\n</article>\n"
    )


def _multivariate(block: object) -> str:
    """The reconstruction error's verdicts, mean errors, contributors and residuals."""
    if not isinstance(block, Mapping):
        return ""
    drifted = bool(block.get("drift_detected"))
    features = block.get("features")
    names = [str(n) for n in features] if isinstance(features, list) else []
    contributors = block.get("contributors")
    named = (
        ", ".join(f"<code>{_esc(name)}</code>" for name in contributors)
        if isinstance(contributors, list) and contributors
        else "—"
    )
    score = block.get("distribution")
    score = score if isinstance(score, Mapping) else {}
    p_value = score.get("p_value")
    p_text = "" if p_value is None else f" · p-value {_num(p_value, '.3g')}"
    residuals = block.get("residuals")
    residuals = residuals if isinstance(residuals, Mapping) else {}
    rows = []
    for name in names:
        pair = residuals.get(name)
        pair = pair if isinstance(pair, Mapping) else {}
        rows.append(
            (f"<code>{_esc(name)}</code>", _num(pair.get("reference")), _num(pair.get("current")))
        )
    band = (
        f"{_num(block.get('lower_threshold'))} to {_num(block.get('upper_threshold'))} "
        f"(reference mean ± {_num(block.get('sigmas'))} standard errors of "
        f"{_num(block.get('standard_error'))})"
    )
    return (
        '<h2 id="multivariate">Multivariate drift</h2>\n'
        f'<article class="card feature{" drifted" if drifted else ""}" id="multivariate-card">\n'
        f"<header><h3>PCA reconstruction error</h3>{_badge(drifted)}</header>\n"
        f'<p class="meta muted">{_count(block.get("components"))} components explaining '
        f"{_pct(block.get('explained_variance'))} of the variance of {_count(len(names))} "
        "features</p>\n"
        '<dl class="kv">'
        f'<dt>Reference mean error</dt><dd id="multivariate-reference">'
        f"{_num(block.get('reference_mean_error'))}</dd>"
        f'<dt>Current mean error</dt><dd id="multivariate-current">'
        f"{_num(block.get('current_mean_error'))} over {_count(block.get('current_rows'))} "
        "rows</dd>"
        f"<dt>Band</dt><dd>{band}: "
        f"{'outside' if block.get('mean_drift_detected') else 'inside'}</dd>"
        f"<dt>Distribution</dt><dd>{_esc(score.get('method', '—'))} "
        f"{_num(score.get('score'))} (threshold {_num(score.get('threshold'))}){p_text}: "
        f"{'drift' if score.get('drift_detected') else 'no drift'}</dd>"
        f'<dt>Contributors</dt><dd id="multivariate-contributors">{named}</dd></dl>\n'
        f"{_stats_table(rows, corner='Mean squared residual')}"
        '<p class="muted">Drift when the current mean error leaves the band and the '
        "distribution score passes its threshold; contributors are the features whose "
        "residuals grew most. Not counted in the drift share.</p>\n</article>\n"
    )


# Timeline geometry, in SVG user units.
_TL_W, _TL_H = 600, 64
_TL_LEFT, _TL_RIGHT, _TL_TOP, _TL_BOTTOM = 4, 596, 6, 50
_MISS_W, _MISS_H = 160, 40
# -log10 of a p-value is drawn up to this (p = 1e-20): smaller p-values sit on the top edge.
_MAX_LOG_P = 20.0


def _timeline(report: Mapping[str, Any], features: Mapping[str, Mapping[str, Any]]) -> str:
    """Drift over time: each feature's score in every chunk against its threshold, drifted
    chunks marked, and its missing share per chunk; features that drifted come first."""
    chunks = report.get("chunks")
    if not isinstance(chunks, list) or not chunks or not features:
        return ""
    chunks = [c if isinstance(c, Mapping) else {} for c in chunks]
    names = list(features)
    series = {
        name: [_chunk_entry(chunk, name) for chunk in chunks]
        for name in names
        if isinstance(features[name], Mapping)
    }

    def drifted_chunks(name: str) -> int:
        return sum(bool(e.get("drift_detected")) for e in series[name])

    def rank(item: tuple[int, str]) -> tuple[bool, int]:
        index, name = item
        feature = features[name]
        drifted = drifted_chunks(name) > 0 or bool(feature.get("drift_detected"))
        return (not (drifted or _quality_drifted(feature)), index)

    ordered = sorted(((i, n) for i, n in enumerate(names) if n in series), key=rank)
    rows = []
    for index, name in ordered:
        entries = series[name]
        n_drifted = drifted_chunks(name)
        shares = [_number(e.get("missing_share")) for e in entries]
        finite = [x for x in shares if x is not None and math.isfinite(x)]
        worst = max(finite) if finite else None
        rows.append(
            f'<tr data-feature="{_esc(name)}" data-drifted-chunks="{n_drifted}"'
            f"{_DRIFTED_CLASS if n_drifted else ''}>"
            f'<td class="name"><a href="#feature-{index}">{_esc(name)}</a></td>'
            f'<td class="chart">{_timeline_svg(name, chunks, entries)}</td>'
            f'<td class="num">{n_drifted} of {len(chunks)}</td>'
            f'<td class="missing">{_missing_svg(name, chunks, entries)}'
            f'<span class="muted">max {_pct(worst)}</span></td></tr>\n'
        )
    chunking = report.get("chunking")
    chunking = chunking if isinstance(chunking, Mapping) else {}
    if chunking.get("by") == "time":
        how = (
            f"chunks of <code>{_esc(chunking.get('period', '—'))}</code> by "
            f"<code>{_esc(chunking.get('column', '—'))}</code>"
        )
        without = chunking.get("rows_without_timestamp")
        if isinstance(without, int) and without:
            how += f" ({_count(without)} rows without a timestamp are in none)"
    else:
        how = f"chunks of {_count(chunking.get('rows'))} rows"
    n_dataset = sum(bool(c.get("dataset_drift")) for c in chunks)
    return (
        '<h2 id="drift-over-time">Drift over time</h2>\n'
        f'<p class="muted" id="chunking">{_count(len(chunks))} {how}, from '
        f"{_esc(chunks[0].get('start', '—'))} to {_esc(chunks[-1].get('end', '—'))}; dataset "
        f"drift in {_count(n_dataset)} of them. Each chunk is scored against the reference as "
        "if it were the whole current data; a red dot is a chunk whose score passed the "
        "threshold (dashed line). Tests are drawn as -log10 of their p-value.</p>\n"
        '<div class="table"><table class="timeline" id="timeline">\n'
        '<thead><tr><th scope="col">Feature</th><th scope="col">Score per chunk</th>'
        '<th scope="col" class="num">Drifted chunks</th>'
        '<th scope="col">Missing per chunk</th></tr></thead>\n'
        f"<tbody>\n{''.join(rows)}</tbody>\n</table></div>\n"
    )


def _chunk_entry(chunk: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """The feature ``name`` in ``chunk`` (empty when it is not there)."""
    features = chunk.get("features")
    entry = features.get(name) if isinstance(features, Mapping) else None
    return entry if isinstance(entry, Mapping) else {}


def _decision_value(entry: Mapping[str, Any]) -> float | None:
    """What decides a chunk's verdict, drawn so that above the threshold is drift: a
    distance itself, or -log10 of a test's p-value."""
    p_value = _number(entry.get("p_value"))
    if p_value is not None:
        return _MAX_LOG_P if p_value <= 0 else min(-math.log10(p_value), _MAX_LOG_P)
    score = _number(entry.get("score"))
    return score if score is not None and math.isfinite(score) else None


def _timeline_svg(
    name: str, chunks: Sequence[Mapping[str, Any]], entries: Sequence[Mapping[str, Any]]
) -> str:
    n = len(entries)
    tests = any(_number(e.get("p_value")) is not None for e in entries)
    values = [_decision_value(e) for e in entries]
    limits = [_number(e.get("threshold")) for e in entries]
    limit = next((x for x in limits if x is not None and x > 0), None)
    line = None if limit is None else (-math.log10(limit) if tests else limit)
    top = max([*(v for v in values if v is not None), line or 0.0, 1e-12]) * 1.1
    span = _TL_RIGHT - _TL_LEFT
    step = span / n

    def x(i: int) -> float:
        return _TL_LEFT + step * (i + 0.5)

    def y(v: float) -> float:
        return _TL_BOTTOM - (_TL_BOTTOM - _TL_TOP) * v / top

    path, pen = [], "M"
    marks = []
    for i, (value, entry) in enumerate(zip(values, entries, strict=True)):
        chunk = chunks[i]
        when = f"{_esc(chunk.get('start', '—'))} to {_esc(chunk.get('end', '—'))}"
        if value is None:
            pen = "M"
            marks.append(
                f'<circle class="none" data-chunk="{i}" cx="{_c(x(i))}" cy="{_TL_BOTTOM}" r="2">'
                f"<title>{when}: no value</title></circle>"
            )
            continue
        path.append(f"{pen}{_c(x(i))} {_c(y(value))}")
        pen = "L"
        drifted = bool(entry.get("drift_detected"))
        p_value = entry.get("p_value")
        shown = _num(entry.get("score")) + (
            "" if p_value is None else f", p-value {_num(p_value, '.3g')}"
        )
        marks.append(
            f'<circle{_DRIFTED_CLASS if drifted else ""} data-chunk="{i}" '
            f'cx="{_c(x(i))}" cy="{_c(y(value))}" r="{3 if drifted else 2}">'
            f"<title>{when}: {_esc(entry.get('method', '—'))} {shown}"
            f"{' (drift)' if drifted else ''}</title></circle>"
        )
    threshold = (
        ""
        if line is None
        else f'<line class="threshold" x1="{_TL_LEFT}" x2="{_TL_RIGHT}" y1="{_c(y(line))}" '
        f'y2="{_c(y(line))}"/>'
    )
    return (
        f'<svg viewBox="0 0 {_TL_W} {_TL_H}" role="img" class="timeline">'
        f"<title>{_esc(name)}: score per chunk against the threshold</title>"
        f'<line class="axis" x1="{_TL_LEFT}" x2="{_TL_RIGHT}" y1="{_TL_BOTTOM}" '
        f'y2="{_TL_BOTTOM}"/>{threshold}<path class="series" d="{"".join(path)}"/>'
        f"{''.join(marks)}"
        f'<text x="{_TL_LEFT}" y="{_TL_H - 2}">{_esc(chunks[0].get("start", ""))}</text>'
        f'<text x="{_TL_RIGHT}" y="{_TL_H - 2}" class="end">{_esc(chunks[-1].get("end", ""))}'
        "</text></svg>"
    )


def _missing_svg(
    name: str, chunks: Sequence[Mapping[str, Any]], entries: Sequence[Mapping[str, Any]]
) -> str:
    """A bar per chunk, as high as its missing share (of the tallest); red where the chunk's
    data quality drifted."""
    n = len(entries)
    shares = [_number(e.get("missing_share")) or 0.0 for e in entries]
    top = max([*shares, 0.0])
    width = _MISS_W / n
    bars = []
    for i, (share, entry) in enumerate(zip(shares, entries, strict=True)):
        if share <= 0 and not entry.get("data_quality_drift"):
            continue
        height = max((_MISS_H - 2) * share / top if top > 0 else 0.0, 1.0)
        drifted = " drifted" if entry.get("data_quality_drift") else ""
        bars.append(
            f'<rect class="miss{drifted}" x="{_c(width * i)}" y="{_c(_MISS_H - height)}" '
            f'width="{_c(max(width - 0.5, 0.5))}" height="{_c(height)}">'
            f"<title>{_esc(chunks[i].get('start', '—'))}: {_pct(share)} missing</title></rect>"
        )
    return (
        f'<svg viewBox="0 0 {_MISS_W} {_MISS_H}" role="img" class="missing">'
        f"<title>{_esc(name)}: missing share per chunk</title>"
        f'<line class="axis" x1="0" x2="{_MISS_W}" y1="{_MISS_H}" y2="{_MISS_H}"/>'
        f"{''.join(bars)}</svg>"
    )


# (label, key, data type, first sort direction, numeric cell)
_COLUMNS = (
    ("Feature", "name", "text", "ascending", False),
    ("Kind", "kind", "text", "ascending", False),
    ("Method", "method", "text", "ascending", False),
    ("Score", "score", "number", "descending", True),
    ("Threshold", "threshold", "number", "ascending", True),
    ("p-value", "p_value", "number", "ascending", True),
    ("Verdict", "drift_detected", "number", "descending", False),
    ("Data quality", "data_quality", "number", "descending", False),
)


_LEGEND = (
    '<p class="legend">Rows per bin (numeric: density over the value axis; categorical: share)'
    '<span class="key ref"></span>reference<span class="key cur"></span>current</p>\n'
)
_NUM_CLASS = ' class="num"'
_DRIFTED_CLASS = ' class="drifted"'


def _feature_table(features: Mapping[str, Mapping[str, Any]]) -> str:
    heads = "".join(
        f'<th scope="col" aria-sort="none" data-key="{key}" data-type="{kind}" '
        f'data-first="{first}"{_NUM_CLASS if numeric else ""}>'
        f'<button type="button">{label}</button></th>'
        for label, key, kind, first, numeric in _COLUMNS
    )
    rows = []
    for index, (name, feature) in enumerate(features.items()):
        distribution = bool(feature.get("drift_detected"))
        quality = _quality_drifted(feature)
        drifted = distribution or quality
        rows.append(
            f'<tr{_DRIFTED_CLASS if drifted else ""} data-drifted="{_bool(drifted)}">'
            f'<td class="name"><a href="#feature-{index}">{_esc(name)}</a></td>'
            f"<td>{_esc(feature.get('kind', '—'))}</td>"
            f"<td>{_esc(feature.get('method', '—'))}</td>"
            f'<td class="num" data-value="{_sort_key(feature.get("score"))}">'
            f"{_num(feature.get('score'))}</td>"
            f'<td class="num" data-value="{_sort_key(feature.get("threshold"))}">'
            f"{_num(feature.get('threshold'))}</td>"
            f'<td class="num" data-value="{_sort_key(feature.get("p_value"))}">'
            f"{_num(feature.get('p_value'), '.3g')}</td>"
            f'<td data-value="{int(distribution)}">{_badge(distribution)}</td>'
            f"{_quality_cell(feature)}</tr>\n"
        )
    n_drifted = sum(
        bool(feature.get("drift_detected")) or _quality_drifted(feature)
        for feature in features.values()
    )
    return (
        '<h2 id="features">Features</h2>\n<div class="toolbar">'
        f'<p class="muted">Showing <span id="shown-count">{len(features)}</span> of '
        f"{len(features)} features; {n_drifted} drifted. Click a column header to sort.</p>"
        '<label hidden><input type="checkbox" id="only-drifted"> Only drifted features</label>'
        "</div>\n"
        '<div class="table"><table id="feature-table">\n'
        f"<thead><tr>{heads}</tr></thead>\n<tbody>\n{''.join(rows)}</tbody>\n</table></div>\n"
    )


def _quality_drifted(feature: Mapping[str, Any]) -> bool:
    quality = feature.get("data_quality")
    return isinstance(quality, Mapping) and bool(quality.get("drift_detected"))


def _quality_cell(feature: Mapping[str, Any]) -> str:
    """The table cell of a feature's data-quality verdict: the checks that drifted."""
    quality = feature.get("data_quality")
    if not isinstance(quality, Mapping):
        return '<td data-value="">—</td>'
    checks = quality.get("checks")
    failed = [
        _QUALITY_CHECKS.get(str(name), str(name))
        for name, check in (checks.items() if isinstance(checks, Mapping) else ())
        if isinstance(check, Mapping) and check.get("drift_detected")
    ]
    if not failed:
        return '<td data-value="0"><span class="badge ok">OK</span></td>'
    return f'<td data-value="1"><span class="badge drift">{_esc(", ".join(failed))}</span></td>'


_QUALITY_CHECKS = {
    "missing": "Missing",
    "infinite": "Infinite",
    "out_of_range": "Out of range",
    "unseen_category": "Unseen category",
}


def _quality_table(quality: object) -> str:
    """Each data-quality share on both sides, its p-value and verdict."""
    if not isinstance(quality, Mapping):
        return ""
    checks = quality.get("checks")
    if not isinstance(checks, Mapping):
        return ""
    body = "".join(
        f'<tr><th scope="row">{_esc(_QUALITY_CHECKS.get(str(name), name))}</th>'
        f'<td class="num">{_pct(check.get("reference_share"))}</td>'
        f'<td class="num">{_pct(check.get("current_share"))}</td>'
        f'<td class="num">{_num(check.get("p_value"), ".3g")}</td>'
        f"<td>{_badge(bool(check.get('drift_detected')))}</td></tr>"
        for name, check in checks.items()
        if isinstance(check, Mapping)
    )
    return (
        '<table class="stats quality"><thead><tr><th scope="col">Data quality</th>'
        '<th scope="col" class="num">Reference</th><th scope="col" class="num">Current</th>'
        '<th scope="col" class="num">p-value</th><th scope="col">Verdict</th></tr></thead>'
        f"<tbody>{body}</tbody></table>\n"
    )


def _feature_cards(features: Mapping[str, Mapping[str, Any]]) -> str:
    if not features:
        return ""
    cards = "".join(
        _feature_card(f"feature-{index}", name, feature)
        for index, (name, feature) in enumerate(features.items())
    )
    return (
        f'<h2 id="distributions">Distributions</h2>\n{_LEGEND}'
        f'<div class="features">\n{cards}</div>\n'
    )


def _feature_card(
    element_id: str, name: str, feature: Mapping[str, Any], *, filterable: bool = True
) -> str:
    distribution = bool(feature.get("drift_detected"))
    drifted = distribution or _quality_drifted(feature)
    kind = feature.get("kind")
    histogram = feature.get("histogram") or {}
    reference = feature.get("reference") or {}
    current = feature.get("current") or {}
    if kind == "categorical":
        chart = _categorical_svg(name, histogram)
        stats = _categorical_stats(reference, current)
    else:
        chart = _numeric_svg(name, histogram)
        stats = _numeric_stats(reference, current)
    filter_attr = f' data-drifted="{_bool(drifted)}"' if filterable else ""
    p_value = feature.get("p_value")
    p_text = "" if p_value is None else f" · p-value {_num(p_value, '.3g')}"
    return (
        f'<article class="card feature{" drifted" if drifted else ""}" id="{element_id}"'
        f"{filter_attr}>\n"
        f"<header><h3>{_esc(name)}</h3>{_badge(drifted)}</header>\n"
        f'<p class="meta muted">{_esc(kind if kind is not None else "—")} · '
        f"{_esc(feature.get('method', '—'))} {_num(feature.get('score'))} "
        f"(threshold {_num(feature.get('threshold'))}){p_text}</p>\n"
        f"{chart}{stats}{_quality_table(feature.get('data_quality'))}</article>\n"
    )


# --- charts ------------------------------------------------------------------------------


def _numeric_svg(name: str, histogram: Mapping[str, Any]) -> str:
    """Reference (filled) and current (outlined) step histograms over the bins."""
    reference = _shares(histogram.get("reference"))
    current = _shares(histogram.get("current"))
    n_bins = max(len(reference), len(current))
    if n_bins == 0:
        return '<p class="muted">No bins to plot.</p>\n'
    reference += [0.0] * (n_bins - len(reference))
    current += [0.0] * (n_bins - len(current))
    edges = _edges(histogram.get("edges"), n_bins)
    span = _PLOT_RIGHT - _PLOT_LEFT
    if edges is not None and _value_axis_fits(edges):
        lo, hi = edges[0], edges[-1]
        xs = [_PLOT_LEFT + span * (edge - lo) / (hi - lo) for edge in edges]
        widths = [b - a for a, b in pairwise(edges)]
        heights_ref = [share / width for share, width in zip(reference, widths, strict=True)]
        heights_cur = [share / width for share, width in zip(current, widths, strict=True)]
        ticks = [(_PLOT_LEFT + span * (t - lo) / (hi - lo), t) for t in _nice_ticks(lo, hi)]
        axis_note, plot_top = "", _NUM_TOP
    else:
        # Bins drawn at equal widths, labelled with their edges where those are known.
        xs = [_PLOT_LEFT + span * i / n_bins for i in range(n_bins + 1)]
        heights_ref, heights_cur = reference, current
        ticks = []
        if edges is not None:
            ticks = [(xs[i], edges[i]) for i in sorted({0, n_bins // 2, n_bins})]
        axis_note = f'<text x="{_PLOT_RIGHT}" y="10" class="end">bins drawn at equal width</text>'
        plot_top = _NUM_TOP + 14  # room for the note above the bars
    top = max([*heights_ref, *heights_cur, 0.0])
    scale = (_NUM_BOTTOM - plot_top) / top if top > 0 else 0.0
    tick_text = "".join(
        f'<text x="{_c(x)}" y="{_NUM_BOTTOM + 14}" class="mid">{_esc(_fmt(value, ".4g"))}</text>'
        f'<line class="axis" x1="{_c(x)}" x2="{_c(x)}" y1="{_NUM_BOTTOM}" '
        f'y2="{_NUM_BOTTOM + 3}"/>'
        for x, value in ticks
    )
    return (
        f'<svg viewBox="0 0 {_W} {_NUM_HEIGHT}" role="img">'
        f"<title>{_esc(name)}: distribution of the reference and current rows</title>"
        f'<path class="ref" d="{_step_path(xs, heights_ref, scale)}"/>'
        f'<path class="cur" d="{_step_path(xs, heights_cur, scale)}"/>'
        f'<line class="axis" x1="{_PLOT_LEFT}" x2="{_PLOT_RIGHT}" y1="{_NUM_BOTTOM}" '
        f'y2="{_NUM_BOTTOM}"/>{tick_text}{axis_note}</svg>\n'
    )


def _step_path(xs: Sequence[float], heights: Sequence[float], scale: float) -> str:
    """A closed step outline: up and across each bin, back down to the baseline."""
    commands = [f"M{_c(xs[0])} {_NUM_BOTTOM}"]
    for i, height in enumerate(heights):
        commands.append(f"V{_c(_NUM_BOTTOM - height * scale)}H{_c(xs[i + 1])}")
    commands.append(f"V{_NUM_BOTTOM}Z")
    return "".join(commands)


def _categorical_svg(name: str, histogram: Mapping[str, Any]) -> str:
    """Paired horizontal bars per category: reference above, current below."""
    categories = [str(c) for c in histogram.get("categories") or []]
    reference = _shares(histogram.get("reference"))
    current = _shares(histogram.get("current"))
    n = len(categories)
    if n == 0:
        return '<p class="muted">No categories to plot.</p>\n'
    reference += [0.0] * (n - len(reference))
    current += [0.0] * (n - len(current))
    rows = [(category, reference[i], current[i]) for i, category in enumerate(categories)]
    if n > _CAT_MAX_ROWS:
        # Keep the categories that weigh most on either side, in the report's order.
        keep = sorted(range(n), key=lambda i: -max(reference[i], current[i]))
        kept = set(keep[: _CAT_MAX_ROWS - 1])
        rest = [i for i in range(n) if i not in kept]
        rows = [rows[i] for i in range(n) if i in kept]
        other = f"{len(rest)} other categories"
        rows.append((other, sum(reference[i] for i in rest), sum(current[i] for i in rest)))
    top = max(max(ref, cur) for _, ref, cur in rows)
    scale = (_CAT_BAR_END - _CAT_LABEL_W) / top if top > 0 else 0.0
    body = []
    for row, (label, ref, cur) in enumerate(rows):
        y = 4 + row * _CAT_ROW
        short = label if len(label) <= _CAT_LABEL_CHARS else label[: _CAT_LABEL_CHARS - 1] + "…"
        body.append(
            f"<g><title>{_esc(label)}: reference {_pct(ref)}, current {_pct(cur)}</title>"
            f'<text x="{_CAT_LABEL_W - 6}" y="{y + 13}" class="end">{_esc(short)}</text>'
            f'<rect class="ref" x="{_CAT_LABEL_W}" y="{y + 1}" width="{_c(ref * scale)}" '
            f'height="9"/><rect class="cur" x="{_CAT_LABEL_W}" y="{y + 11}" '
            f'width="{_c(cur * scale)}" height="9"/>'
            f'<text x="{_c(_CAT_LABEL_W + ref * scale + 4)}" y="{y + 9}">{_pct(ref)}</text>'
            f'<text x="{_c(_CAT_LABEL_W + cur * scale + 4)}" y="{y + 19}">{_pct(cur)}</text></g>'
        )
    height = 8 + len(rows) * _CAT_ROW
    return (
        f'<svg viewBox="0 0 {_W} {height}" role="img">'
        f"<title>{_esc(name)}: share of each category in the reference and current rows"
        f"</title>{''.join(body)}"
        f'<line class="axis" x1="{_CAT_LABEL_W}" x2="{_CAT_LABEL_W}" y1="2" y2="{height - 2}"/>'
        "</svg>\n"
    )


def _value_axis_fits(edges: Sequence[float]) -> bool:
    if not math.isfinite(edges[-1] - edges[0]):  # a range beyond float64 cannot be scaled
        return False
    widths = sorted(b - a for a, b in pairwise(edges))
    median = widths[len(widths) // 2]
    return widths[0] > 0 and widths[-1] <= _MAX_WIDTH_RATIO * median


def _nice_ticks(lo: float, hi: float, target: int = 5) -> list[float]:
    """Round values (1, 2 or 5 times a power of ten apart) between ``lo`` and ``hi``."""
    raw = (hi - lo) / target
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(lo / step) * step
    count = math.floor((hi - first) / step + 1e-9) + 1
    # Snap to the step's precision so labels read 0.3, not 0.30000000000000004.
    digits = max(0, -math.floor(math.log10(step)) + 1)
    return [round(first + i * step, digits) + 0.0 for i in range(count)]  # + 0.0: no -0


# --- statistics tables -------------------------------------------------------------------

_NUMERIC_STATS = (
    ("count", "Count"),
    ("missing", "Missing"),
    ("mean", "Mean"),
    ("std", "Std"),
    ("min", "Min"),
    ("p05", "5%"),
    ("p50", "Median"),
    ("p95", "95%"),
    ("max", "Max"),
)


def _stats_table(rows: Iterable[tuple[str, str, str]], *, corner: str = "") -> str:
    body = "".join(
        f'<tr><th scope="row">{label}</th><td class="num">{ref}</td><td class="num">{cur}</td></tr>'
        for label, ref, cur in rows
    )
    return (
        f'<table class="stats"><thead><tr><th scope="col">{_esc(corner)}</th>'
        '<th scope="col" class="num">Reference</th>'
        '<th scope="col" class="num">Current</th></tr></thead>'
        f"<tbody>{body}</tbody></table>\n"
    )


def _numeric_stats(reference: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    def cell(summary: Mapping[str, Any], key: str) -> str:
        value = summary.get(key)
        return _count(value) if key in ("count", "missing") else _num(value)

    return _stats_table(
        (label, cell(reference, key), cell(current, key)) for key, label in _NUMERIC_STATS
    )


def _categorical_stats(reference: Mapping[str, Any], current: Mapping[str, Any]) -> str:
    def top(summary: Mapping[str, Any]) -> str:
        items = []
        for entry in (summary.get("top") or [])[:5]:
            value, share = (
                entry if isinstance(entry, list | tuple) and len(entry) == 2 else (entry, None)
            )
            items.append(f'<li>{_esc(value)} <span class="muted">{_pct(share)}</span></li>')
        return f"<ol>{''.join(items)}</ol>" if items else "—"

    rows = [
        ("Count", _count(reference.get("count")), _count(current.get("count"))),
        ("Missing", _count(reference.get("missing")), _count(current.get("missing"))),
        ("Distinct", _count(reference.get("n_distinct")), _count(current.get("n_distinct"))),
    ]
    table = _stats_table(rows)
    # The top categories read better left-aligned, under the counts.
    return table + (
        '<table class="stats"><thead><tr><th scope="col">Top in reference</th>'
        '<th scope="col">Top in current</th></tr></thead>'
        f"<tbody><tr><td>{top(reference)}</td><td>{top(current)}</td></tr></tbody></table>\n"
    )


# --- formatting: every function below returns markup-safe text --------------------------


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def _number(value: object) -> float | None:
    """``value`` as a float, or None when it is not a number (bools are not numbers here)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _fmt(value: float, spec: str) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "∞" if value > 0 else "-∞"
    return format(value, spec)


def _num(value: object, spec: str = ".4g") -> str:
    if value is None:
        return "—"
    number = _number(value)
    if number is None:
        return _esc(value)
    if isinstance(value, int) and abs(value) >= 10_000:
        return f"{value:,}"
    return _esc(_fmt(number, spec))


def _count(value: object) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return _num(value)


def _pct(value: object) -> str:
    number = _number(value)
    if number is None:
        return "—" if value is None else _esc(value)
    if not math.isfinite(number):
        return _esc(_fmt(number, ".1f"))
    return f"{number * 100:.1f}%"


def _sort_key(value: object) -> str:
    """A ``data-value`` that JavaScript's ``Number()`` reads back; empty when not a number."""
    number = _number(value)
    if number is None or math.isnan(number):
        return ""
    if math.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    return repr(number)


def _badge(drifted: bool) -> str:
    if drifted:
        return '<span class="badge drift">Drift</span>'
    return '<span class="badge ok">No drift</span>'


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _c(value: float) -> str:
    """An SVG coordinate with one decimal, without a trailing ``.0``."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _shares(values: object) -> list[float]:
    if not isinstance(values, list | tuple):
        return []
    shares = []
    for value in values:
        number = _number(value)
        shares.append(number if number is not None and math.isfinite(number) else 0.0)
    return [max(share, 0.0) for share in shares]


def _edges(values: object, n_bins: int) -> list[float] | None:
    """The bin edges as floats when there are ``n_bins + 1`` finite, non-decreasing ones."""
    if not isinstance(values, list | tuple) or len(values) != n_bins + 1:
        return None
    edges = [_number(value) for value in values]
    finite = [edge for edge in edges if edge is not None and math.isfinite(edge)]
    if len(finite) != len(edges) or any(b < a for a, b in pairwise(finite)):
        return None
    return finite
