"""Tests of stream_monitor.batch.report_html: the self-contained HTML drift report.

The reports here come from ``make_report``, which computes realistic drift reports from seeded
samples (quantile bins, PSI, Jensen-Shannon, KS) in the shape the drift job writes. The browser
tests open the page in Debian's headless Chromium (``tests/browser.py``).
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import html
import math
import re
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from browser import Browser
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.typing import NDArray
from scipy import stats

from stream_monitor.batch.report_html import render_html

# --- realistic reports ----------------------------------------------------------------------

PSI_FLOOR = 1e-4
BINS = 30

# name: (distribution, drift), the drift being a shift in reference standard deviations, a
# scale factor ("x1.6") or, for categories, new shares.
NUMERIC = {
    "age": ("normal", 0.0),
    "income": ("lognormal", 0.6),
    "loan_amount": ("lognormal", 0.0),
    "loan_term_months": ("integers", 0.0),
    "interest_rate": ("normal", 0.8),
    "credit_score": ("normal", "x1.6"),
    "debt_to_income": ("normal", 0.05),
    "n_open_accounts": ("integers", 0.0),
    "n_late_payments_12m": ("integers", 0.0),
    "months_employed": ("normal", 0.0),
    "utilization": ("normal", 0.1),
    "savings_balance": ("lognormal", "missing"),
    "monthly_expenses": ("normal", 0.0),
    "n_dependents": ("integers", 0.0),
}
CATEGORICAL = {
    "home_ownership": (["rent", "mortgage", "own", "other"], None),
    "employment_type": (["salaried", "self-employed", "contract", "unemployed"], None),
    "purpose": (["debt_consolidation", "car", "home_improvement", "education", "other"], None),
    "region": ([f"region_{i:02d}" for i in range(18)], None),
    "channel": (["web", "branch", "broker", "partner_api"], [0.2, 0.1, 0.3, 0.4]),
    "education": (["secondary", "bachelor", "master", "doctorate"], None),
    "marital_status": (["single", "married", "divorced", "widowed"], None),
    "device_os": (["android", "ios", "windows", "macos", "linux"], "new"),
}
METHODS = ("psi", "jensenshannon", "ks")

HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = "</script><script>alert(2)</script>"
HOSTILE_CATEGORY = '"><svg onload=alert(3)>'
HOSTILE_SOURCE = "/data/<b>bold</b>/current.parquet"
HOSTILE_METHOD = "<i>psi</i>"
HOSTILE_QUOTES = 'it\'s "quoted" & <ok>\u2028done'


def _numeric_summary(values: NDArray[np.float64], missing: int) -> dict[str, Any]:
    if values.size == 0:
        return dict.fromkeys(("mean", "std", "min", "max", "p05", "p50", "p95")) | {
            "count": 0,
            "missing": missing,
        }
    p05, p50, p95 = np.quantile(values, [0.05, 0.5, 0.95])
    return {
        "count": int(values.size),
        "missing": missing,
        "mean": float(values.mean()),
        "std": float(values.std(ddof=1)),
        "min": float(values.min()),
        "max": float(values.max()),
        "p05": float(p05),
        "p50": float(p50),
        "p95": float(p95),
    }


def _distance(method: str, ref_shares: list[float], cur_shares: list[float]) -> float:
    """PSI or the Jensen-Shannon distance between two binned distributions."""
    ref = np.maximum(np.asarray(ref_shares), PSI_FLOOR)
    cur = np.maximum(np.asarray(cur_shares), PSI_FLOOR)
    if method == "psi":
        return float(np.sum((cur - ref) * np.log(cur / ref)))
    middle = (ref + cur) / 2
    divergence = (np.sum(ref * np.log(ref / middle)) + np.sum(cur * np.log(cur / middle))) / 2
    return math.sqrt(max(float(divergence), 0.0))


def _numeric_feature(
    rng: np.random.Generator, index: int, distribution: str, drift: object, sample_rows: int
) -> dict[str, Any]:
    n_ref, n_cur = sample_rows, sample_rows // 4
    loc, sd = rng.uniform(10, 100), rng.uniform(1, 20)
    if distribution == "lognormal":
        reference = rng.lognormal(math.log(loc), 0.9, n_ref)
    elif distribution == "integers":
        reference = rng.poisson(loc / 20, n_ref).astype(np.float64)
    else:
        reference = rng.normal(loc, sd, n_ref)
    spread = float(reference.std())
    current = rng.choice(reference, n_cur)
    if distribution != "integers":
        current = current + rng.normal(0, spread * 0.05, n_cur)
    if isinstance(drift, float):
        current = current + drift * spread
    elif drift == "x1.6":
        current = reference.mean() + (current - reference.mean()) * 1.6
    elif drift == "missing":
        current = np.array([], dtype=np.float64)
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, BINS + 1)))
    ref_counts = np.histogram(np.clip(reference, edges[0], edges[-1]), edges)[0]
    cur_counts = np.histogram(np.clip(current, edges[0], edges[-1]), edges)[0]
    ref_shares = (ref_counts / max(ref_counts.sum(), 1)).tolist()
    cur_shares = (cur_counts / max(cur_counts.sum(), 1)).tolist()
    method = METHODS[index % len(METHODS)]
    score: float | None = None
    p_value: float | None = None
    threshold = 0.05 if method == "ks" else 0.1
    drifted = False
    if current.size and method == "ks":
        result = stats.ks_2samp(reference, current)
        score, p_value = float(result.statistic), float(result.pvalue)
        drifted = p_value < threshold
    elif current.size:
        score = _distance(method, ref_shares, cur_shares)
        drifted = score >= threshold
    return {
        "kind": "numeric",
        "method": method,
        "score": score,
        "threshold": threshold,
        "p_value": p_value,
        "drift_detected": drifted,
        "reference": _numeric_summary(reference, int(n_ref * 0.01)),
        "current": _numeric_summary(current, n_cur if current.size == 0 else int(n_cur * 0.02)),
        "histogram": {"edges": edges.tolist(), "reference": ref_shares, "current": cur_shares},
    }


def _categorical_feature(
    rng: np.random.Generator, categories: list[str], drift: object, sample_rows: int
) -> dict[str, Any]:
    weights = rng.dirichlet(np.full(len(categories), 3.0))
    if drift == "new":
        categories = [*categories, "chromeos"]
        cur_weights = np.append(weights * 0.7, 0.3)
        weights = np.append(weights, 0.0)
    elif isinstance(drift, list):
        cur_weights = np.asarray(drift)
    else:
        cur_weights = weights
    ref_counts = rng.multinomial(sample_rows, weights)
    cur_counts = rng.multinomial(sample_rows // 4, cur_weights)
    ref_shares = (ref_counts / ref_counts.sum()).tolist()
    cur_shares = (cur_counts / cur_counts.sum()).tolist()
    score = _distance("jensenshannon", ref_shares, cur_shares)

    def summary(counts: NDArray[np.int64], shares: list[float]) -> dict[str, Any]:
        order = np.argsort(counts)[::-1][:5]
        return {
            "count": int(counts.sum()),
            "missing": 0,
            "n_distinct": int(np.count_nonzero(counts)),
            "top": [[categories[i], shares[i]] for i in order if counts[i] > 0],
        }

    return {
        "kind": "categorical",
        "method": "jensenshannon",
        "score": score,
        "threshold": 0.1,
        "p_value": None,
        "drift_detected": score >= 0.1,
        "reference": summary(ref_counts, ref_shares),
        "current": summary(cur_counts, cur_shares),
        "histogram": {"categories": categories, "reference": ref_shares, "current": cur_shares},
    }


def make_report(
    *,
    seed: int = 0,
    sample_rows: int = 4_000,
    rows: tuple[int, int] = (1_250_000, 310_000),
    scores_from: str = "sketch",
    targets: bool = True,
) -> dict[str, Any]:
    """A drift report over 22 credit-scoring features (14 numeric, 8 categorical), some drifted."""
    rng = np.random.default_rng(seed)
    features: dict[str, Any] = {}
    for index, (name, (distribution, drift)) in enumerate(NUMERIC.items()):
        features[name] = _numeric_feature(rng, index, distribution, drift, sample_rows)
    for name, (categories, drift) in CATEGORICAL.items():
        features[name] = _categorical_feature(rng, categories, drift, sample_rows)
    n_drifted = sum(feature["drift_detected"] for feature in features.values())
    concept = {
        "kind": "classification",
        "method": "ddm",
        "score": 3.4,
        "threshold": 3.0,
        "p_value": None,
        "drift_detected": True,
        "reference_error": 0.081,
        "current_error": 0.112,
    }
    return {
        "schema_version": 1,
        "generated_at": "2024-05-01T06:00:00Z",
        "scores_from": scores_from,
        "reference": {
            "source": "s3://models/credit/train-2024-03.profile.parquet",
            "kind": "profile" if scores_from == "sketch" else "data",
            "rows": rows[0],
        },
        "current": {"source": "/data/loan-applications/2024-04-30.parquet", "rows": rows[1]},
        "reference_rows": rows[0],
        "current_rows": rows[1],
        "dataset_drift": n_drifted / len(features) >= 0.2,
        "drift_share": n_drifted / len(features),
        "drift_share_threshold": 0.2,
        "n_features": len(features),
        "n_drifted_features": n_drifted,
        "features": features,
        "label_drift": _categorical_feature(rng, ["0", "1"], None, sample_rows)
        if targets
        else None,
        "prediction_drift": (
            _numeric_feature(rng, 0, "normal", 0.3, sample_rows) if targets else None
        ),
        "concept_drift": concept if targets else None,
    }


@functools.cache
def _cached_report() -> dict[str, Any]:
    return make_report()


def _default_report() -> dict[str, Any]:
    """A fresh copy of ``make_report()``, which is built once."""
    return copy.deepcopy(_cached_report())


def _renamed(report: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``report`` with the features in ``names`` renamed, in their places."""
    features = {names.get(name, name): feature for name, feature in report["features"].items()}
    return report | {"features": features}


def hostile_report(
    *,
    img: str = HOSTILE_IMG,
    script: str = HOSTILE_SCRIPT,
    category: str = HOSTILE_CATEGORY,
    source: str = HOSTILE_SOURCE,
    method: str = HOSTILE_METHOD,
    quotes: str = HOSTILE_QUOTES,
) -> dict[str, Any]:
    """The 22-feature report with user strings chosen to break out of HTML, attributes and JS."""
    report = _renamed(_default_report(), {"age": img, "income": script, "utilization": quotes})
    report["current"] = report["current"] | {"source": source}
    report["features"]["debt_to_income"]["method"] = method
    purpose = report["features"]["purpose"]
    purpose["histogram"]["categories"][0] = category
    for summary in (purpose["reference"], purpose["current"]):
        summary["top"] = [[category, 0.5], *summary["top"][1:]]
    return report


# --- markup inspection ----------------------------------------------------------------------


class _Markup(HTMLParser):
    """The tags, attributes and raw script and style texts of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: Counter[str] = Counter()
        self.attributes: list[tuple[str, str, str | None]] = []
        self.raw: dict[str, list[str]] = {"script": [], "style": []}
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attributes.extend((tag, name, value) for name, value in attrs)
        if tag in self.raw:
            self._in = tag
            self.raw[tag].append("")

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.raw[self._in][-1] += data


def _markup(page: str) -> _Markup:
    parser = _Markup()
    parser.feed(page)
    parser.close()
    return parser


def _csp(page: str) -> str:
    match = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">', page)
    assert match is not None
    return html.unescape(match.group(1))


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# --- pure-Python tests ----------------------------------------------------------------------


def test_hostile_strings_appear_only_escaped() -> None:
    """Column names, category values, sources and methods appear only in escaped form."""
    page = render_html(hostile_report())
    for raw in (
        HOSTILE_IMG,
        HOSTILE_SCRIPT,
        HOSTILE_CATEGORY,
        HOSTILE_SOURCE,
        HOSTILE_METHOD,
        HOSTILE_QUOTES,
    ):
        assert raw not in page
        assert html.escape(raw, quote=True) in page


def test_hostile_strings_add_no_markup() -> None:
    """A report full of hostile strings has exactly the tags and attribute names of a tame one."""
    tame = render_html(
        hostile_report(img="a", script="b", category="c", source="d", method="e", quotes="f")
    )
    hostile = render_html(hostile_report())
    assert _markup(hostile).tags == _markup(tame).tags
    names = Counter((tag, name) for tag, name, _ in _markup(hostile).attributes)
    assert names == Counter((tag, name) for tag, name, _ in _markup(tame).attributes)


@settings(max_examples=40, deadline=None)
@given(
    name=st.text(max_size=40).filter(lambda name: name not in {*NUMERIC, *CATEGORICAL}),
    category=st.text(max_size=40),
    source=st.text(max_size=40),
)
def test_any_user_string_adds_no_markup(name: str, category: str, source: str) -> None:
    """Whatever the text of a name, category or source, the page's tags are the same."""
    tame = _markup(render_html(hostile_report(img="a", category="c", source="d")))
    wild = _markup(render_html(hostile_report(img=name, category=category, source=source)))
    assert wild.tags == tame.tags
    assert not any(attribute.startswith("on") for _, attribute, _ in wild.attributes)


def test_page_is_self_contained() -> None:
    """The page loads nothing: no URL, no external script, style, font, image or frame."""
    page = render_html(hostile_report())
    assert "http://" not in page
    assert "https://" not in page
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?//""", page, re.I)
    assert not re.search(r"url\(", page, re.I)
    markup = _markup(page)
    assert markup.tags["script"] == 1
    assert not {"img", "iframe", "object", "embed", "audio", "video", "form"} & set(markup.tags)
    assert not [a for a in markup.attributes if a[1] == "src" or a[1].startswith("on")]
    assert [(tag, value) for tag, name, value in markup.attributes if name == "href"] == [
        ("link", "data:,"),
        *[("a", f"#feature-{i}") for i in range(22)],
    ]


def test_content_security_policy_admits_only_the_page_own_style_and_script() -> None:
    """The CSP forbids every fetch and allows exactly the inline style and script, by hash."""
    page = render_html(make_report())
    markup = _markup(page)
    directives = dict(d.strip().split(" ", 1) for d in _csp(page).split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == _sha256(markup.raw["style"][0])
    assert directives["script-src"] == _sha256(markup.raw["script"][0])
    assert directives["img-src"] == "data:"
    assert "unsafe" not in _csp(page)


def test_size_depends_on_bins_not_rows() -> None:
    """A 22-feature report is well under 1 MB, whatever the number of rows behind it."""
    small = render_html(make_report(sample_rows=400, rows=(400, 100)))
    large = render_html(make_report(sample_rows=40_000, rows=(4_000_000_000, 1_000_000_000)))
    assert len(large.encode()) < 1_000_000  # the contract is < 5 MB
    assert abs(len(large) - len(small)) < 0.03 * len(small)


def test_summary_states_verdict_share_rows_and_sources() -> None:
    """The summary shows the dataset verdict, drift share against threshold, rows and sources."""
    report = make_report()
    page = render_html(report)
    verdict = "Dataset drift detected" if report["dataset_drift"] else "No dataset drift"
    assert verdict in page
    share = f"{report['drift_share'] * 100:.1f}%"
    assert f"drift share <strong>{share}</strong> against a threshold of <strong>20.0%" in page
    assert f"{report['n_drifted_features']} of 22 features drifted" in page
    assert '<dd id="reference-rows">1,250,000</dd>' in page
    assert '<dd id="current-rows">310,000</dd>' in page
    assert html.escape(report["reference"]["source"]) in page
    assert html.escape(report["current"]["source"]) in page


@pytest.mark.parametrize(
    ("scores_from", "expected"),
    [
        ("exact", "computed from the reference rows and the current rows themselves"),
        ("sketch", "computed from the reference profile&#x27;s sketches"),
    ],
)
def test_scores_origin_is_explained(scores_from: str, expected: str) -> None:
    """The page says whether scores are exact or computed from the reference profile's sketches."""
    assert expected in render_html(make_report(scores_from=scores_from))


def test_label_prediction_and_concept_blocks_only_when_reported() -> None:
    """Label, prediction and concept drift get a block each when present, and none when null."""
    with_targets = render_html(make_report())
    without = render_html(make_report(targets=False))
    for element_id in ("targets", "label-drift", "prediction-drift", "concept-drift"):
        assert f'id="{element_id}"' in with_targets
        assert f'id="{element_id}"' not in without
    assert "<dt>Reference error</dt><dd>0.081</dd>" in with_targets


def test_every_feature_has_a_row_a_card_and_a_chart() -> None:
    """Each feature has a table row, a card with its chart, and its summary statistics."""
    report = make_report(targets=False)
    markup = _markup(render_html(report))
    assert markup.tags["tr"] - 1 == 22 + 14 * 10 + 8 * (4 + 2)  # table + stats rows
    assert markup.tags["article"] == 22
    assert markup.tags["svg"] == 22
    drifted = sum(f["drift_detected"] for f in report["features"].values())
    assert 4 <= drifted < 22
    assert ("tr", "class", "drifted") in markup.attributes


def test_degenerate_inputs_render() -> None:
    """Null, NaN and infinite numbers, empty or flat bins and odd edges still render."""
    report = make_report(targets=False)
    features = report["features"]
    features["age"] |= {"score": math.nan, "p_value": math.inf, "threshold": None}
    features["age"]["histogram"] = {"edges": [0, math.inf], "reference": [1.0], "current": [1.0]}
    features["income"]["histogram"] = {"edges": [], "reference": [], "current": []}
    features["loan_amount"]["histogram"] = {"edges": [1, 1, 1], "reference": [0, 0], "current": [0]}
    features["interest_rate"]["histogram"] |= {"edges": list(range(31, 0, -1))}
    features["credit_score"]["reference"] = {}
    features["purpose"]["histogram"] = {"categories": [], "reference": [], "current": []}
    features["region"]["histogram"]["current"] = [None] * 18
    page = render_html(report)
    assert "No bins to plot." in page
    assert "No categories to plot." in page
    assert "NaN" in page
    assert ">7 other categories</text>" in page  # 18 regions: 11 shown, the rest summed


def test_values_of_the_wrong_type_are_escaped() -> None:
    """A string where a number belongs is shown escaped, never copied into the markup."""
    report = make_report(targets=False)
    report["features"]["age"]["score"] = "<b>0.3</b>"
    report["reference_rows"] = "<b>many</b>"
    page = render_html(report)
    assert "<b>" not in page
    assert "&lt;b&gt;0.3&lt;/b&gt;" in page
    assert "&lt;b&gt;many&lt;/b&gt;" in page


def test_unknown_schema_version_is_refused() -> None:
    """A report of another schema version raises ValueError naming the versions."""
    match = "schema_version 4; this renderer reads versions 1, 2 and 3"
    with pytest.raises(ValueError, match=match):
        render_html(make_report() | {"schema_version": 4})
    with pytest.raises(ValueError, match="schema_version True"):
        render_html(make_report() | {"schema_version": True})


# --- in the browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The 22-feature report and its hostile twin, written to files."""
    folder = tmp_path_factory.mktemp("reports")
    paths = {}
    for name, report in (("report", make_report()), ("hostile", hostile_report())):
        paths[name] = folder / f"{name}.html"
        paths[name].write_text(render_html(report), encoding="utf-8")
    return paths


def _table_rows(browser: Browser) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = browser.js(
        """
        return Array.from(document.querySelectorAll("#feature-table tbody tr"), (row) => ({
          name: row.cells[0].textContent,
          score: row.cells[3].dataset.value,
          drifted: row.classList.contains("drifted"),
          verdict: row.cells[6].textContent,
          hidden: row.hidden,
        }));
        """
    )
    return rows


def _expected_by_score(report: dict[str, Any], *, descending: bool) -> list[str]:
    scored = [(n, f["score"]) for n, f in report["features"].items() if f["score"] is not None]
    unscored = [n for n, f in report["features"].items() if f["score"] is None]
    ordered = sorted(scored, key=lambda item: item[1], reverse=descending)
    return [name for name, _ in ordered] + unscored


@pytest.mark.browser
def test_page_loads_without_console_messages_or_requests(
    browser: Browser, pages: dict[str, Path]
) -> None:
    """The report loads with an empty console and makes no request besides its own file."""
    browser.open(pages["report"])
    assert browser.console() == []
    assert browser.requests() == [pages["report"].resolve().as_uri()]
    assert browser.js("return performance.getEntriesByType('resource').length;") == 0
    assert browser.js("return document.querySelectorAll('svg').length;") == 22 + 2
    assert browser.dialogs() == []


@pytest.mark.browser
def test_table_shows_every_feature_and_flags_drift(
    browser: Browser, pages: dict[str, Path]
) -> None:
    """The table has one row per feature, in report order, with drifted rows flagged."""
    report = make_report()
    browser.open(pages["report"])
    rows = _table_rows(browser)
    assert [row["name"] for row in rows] == list(report["features"])
    for row, feature in zip(rows, report["features"].values(), strict=True):
        assert row["drifted"] is feature["drift_detected"]
        assert row["verdict"] == ("Drift" if feature["drift_detected"] else "No drift")
    assert (
        browser.js(
            "return getComputedStyle(document.querySelector('tr.drifted td')).backgroundColor;"
        )
        == "rgb(255, 241, 241)"
    )


@pytest.mark.browser
def test_score_header_sorts_rows_by_score(browser: Browser, pages: dict[str, Path]) -> None:
    """Clicking Score sorts by score, highest first, then lowest first; missing scores last."""
    report = make_report()
    browser.open(pages["report"])
    header = "document.querySelector('th[data-key=\"score\"]')"
    browser.js(f"{header}.querySelector('button').click();")
    assert [row["name"] for row in _table_rows(browser)] == _expected_by_score(
        report, descending=True
    )
    assert browser.js(f"return {header}.getAttribute('aria-sort');") == "descending"
    browser.js(f"{header}.querySelector('button').click();")
    assert [row["name"] for row in _table_rows(browser)] == _expected_by_score(
        report, descending=False
    )
    assert browser.js(f"return {header}.getAttribute('aria-sort');") == "ascending"
    assert browser.console() == []


@pytest.mark.browser
def test_only_drifted_filter_hides_the_rest(browser: Browser, pages: dict[str, Path]) -> None:
    """The "only drifted" checkbox leaves only the drifted rows and cards visible."""
    report = make_report()
    drifted = [name for name, f in report["features"].items() if f["drift_detected"]]
    browser.open(pages["report"])
    assert browser.js("return !document.getElementById('only-drifted').closest('label').hidden;")
    browser.js("document.getElementById('only-drifted').click();")
    assert [row["name"] for row in _table_rows(browser) if not row["hidden"]] == drifted
    shown = browser.js(
        "return document.querySelectorAll('.feature[data-drifted]:not([hidden])').length;"
    )
    assert shown == len(drifted)
    assert browser.js("return document.getElementById('shown-count').textContent;") == str(
        len(drifted)
    )


@pytest.mark.browser
def test_hostile_strings_render_as_text(browser: Browser, pages: dict[str, Path]) -> None:
    """Hostile names, categories and sources show as literal text and inject nothing."""
    browser.open(pages["hostile"])
    texts = browser.js(
        "return Array.from(document.querySelectorAll('td, h3, li, code, title, text'),"
        " (e) => e.textContent);"
    )
    for raw in (HOSTILE_IMG, HOSTILE_SCRIPT, HOSTILE_METHOD, HOSTILE_QUOTES, HOSTILE_SOURCE):
        assert raw in texts
    assert any(text.startswith(HOSTILE_CATEGORY) for text in texts)  # "<value>: reference ..."
    assert browser.js("return document.getElementById('current-source').textContent;") == (
        HOSTILE_SOURCE
    )
    injected = browser.js(
        """
        return {
          img: document.querySelectorAll("img").length,
          bold: document.querySelectorAll("b, i").length,
          scripts: document.scripts.length,
          svgWithHandler: document.querySelectorAll("svg[onload]").length,
          handlers: Array.from(document.querySelectorAll("*")).filter(
            (e) => Array.from(e.attributes).some((a) => a.name.startsWith("on"))).length,
        };
        """
    )
    assert injected == {"img": 0, "bold": 0, "scripts": 1, "svgWithHandler": 0, "handlers": 0}
    assert browser.dialogs() == []
    assert browser.console() == []
    assert browser.requests() == [pages["hostile"].resolve().as_uri()]


@pytest.mark.browser
def test_harness_sees_an_injection(browser: Browser, tmp_path: Path) -> None:
    """The checks above are not vacuous: a naively built page is caught alerting and fetching."""
    naive = tmp_path / "naive.html"
    naive.write_text(f"<!DOCTYPE html><title>naive</title><table><td>{HOSTILE_IMG}</td></table>")
    browser.open(naive)
    assert browser.dialogs() == ["alert:1"]
    assert browser.requests() == [naive.as_uri(), naive.with_name("x").as_uri()]


def test_notes_are_listed_and_escaped() -> None:
    """The report's notes appear in a Notes section, escaped like every other string."""
    report = make_report(targets=False)
    report["notes"] = [
        "column <b>x</b> was left out: entirely null",
        "concept drift needs raw data",
    ]
    page = render_html(report)
    assert '<section class="card" id="notes">' in page
    assert "<li>column &lt;b&gt;x&lt;/b&gt; was left out: entirely null</li>" in page
    assert "<b>x</b>" not in page


def test_excluded_columns_are_listed_with_why_and_escaped() -> None:
    """A version 2 report's excluded columns appear, each with its reason, escaped."""
    report = make_report(targets=False) | {
        "schema_version": 2,
        "excluded": {"<b>id</b>": "identifier: 100.0% of its 2,000 values are distinct"},
    }
    page = render_html(report)
    assert '<section class="card" id="excluded">' in page
    assert (
        "<li><code>&lt;b&gt;id&lt;/b&gt;</code>: identifier: 100.0% of its 2,000 values are "
        "distinct</li>"
    ) in page
    assert "<b>id</b>" not in page
    assert 'id="excluded"' not in render_html(make_report(targets=False))
