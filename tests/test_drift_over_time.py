"""Drift over time: ``check-drift --chunk-by COL:PERIOD`` / ``--chunk-rows N``, the report's
chunks, and the HTML timeline, in Python, through the command line and in Chromium."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from browser import Browser
from jsonschema import Draft202012Validator

import stream_monitor as sm
from stream_monitor.batch.drift import Data, DriftResult, check_drift
from stream_monitor.batch.drift_report import build_report, report_schema, validate_report
from stream_monitor.batch.report_html import render_html
from stream_monitor.batch.settings import DriftSettings
from stream_monitor.cli import main
from stream_monitor.errors import ColumnError, ConfigError
from stream_monitor.profile import profile_frame
from stream_monitor.synthetic import Drift, traffic

ROWS = 20_000
SHIFT_AT = 10_000
HOSTILE = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def frames() -> tuple[pl.DataFrame, pl.DataFrame]:
    """Clean reference traffic, and current traffic whose income shifts by 1 sd half-way,
    with a timestamp a minute apart from 2024-01-01 and balance null from 2024-01-12 on."""
    reference = traffic(ROWS, seed=1).drop("id")
    current = traffic(ROWS, seed=2, drift=Drift("income", SHIFT_AT, 1.0)).drop("id")
    start = dt.datetime(2024, 1, 1)
    times = pl.datetime_range(start, start + dt.timedelta(minutes=ROWS - 1), "1m", eager=True)
    current = current.with_columns(times.alias("ts"))
    current = current.with_columns(
        pl.when(pl.col("ts") >= dt.datetime(2024, 1, 12))
        .then(None)
        .otherwise(pl.col("balance"))
        .alias("balance")
    )
    return reference, current


def _run(reference: pl.DataFrame, current: pl.DataFrame, **settings: Any) -> DriftResult:
    return check_drift(
        Data(reference.lazy(), "ref.parquet"),
        Data(current.lazy(), "cur.parquet"),
        DriftSettings(multivariate=False, **settings),
    )


def test_income_drifts_exactly_in_the_chunks_after_the_shift(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """Ten chunks of 2,000 rows: income drifts in the five after row 10,000 and nowhere else,
    and no other feature drifts in any chunk, in distribution or data quality."""
    reference = frames[0]
    current = traffic(ROWS, seed=2, drift=Drift("income", SHIFT_AT, 1.0)).drop("id")
    result = _run(reference, current, chunk_rows=2_000)
    assert len(result.chunks) == 10
    assert [(c.start, c.end, c.rows) for c in result.chunks] == [
        (i * 2_000, (i + 1) * 2_000, 2_000) for i in range(10)
    ]
    for chunk in result.chunks:
        assert chunk.drifted_features == (("income",) if chunk.start >= SHIFT_AT else ())
        assert not any(f.quality_drift_detected for f in chunk.features)
    income = [next(f for f in c.features if f.name == "income") for c in result.chunks]
    assert all(f.method == "wasserstein" for f in income)
    assert max(f.score for f in income[:5]) < 0.1 < min(f.score for f in income[5:])
    assert min(f.score for f in income[5:]) > 0.9  # a 1 sd shift, normed by the sd
    assert result.drifted_features == ("income",)


def _same(a: Any, b: Any) -> bool:
    return (a == b) or (
        isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)
    )


def _assert_chunks_score_as_their_rows_alone(
    reference: Data | sm.Profile, current: pl.DataFrame, result: DriftResult, order: list[int]
) -> None:
    rows = current[order] if order else current
    assert result.chunks
    for chunk in result.chunks:
        first = sum(c.rows for c in result.chunks[: chunk.index])
        alone = check_drift(
            reference,
            Data(rows.slice(first, chunk.rows).lazy(), "cur.parquet"),
            DriftSettings(multivariate=False),
        )
        assert [f.name for f in alone.features] == [f.name for f in chunk.features]
        for mine, theirs in zip(chunk.features, alone.features, strict=True):
            assert mine.method == theirs.method
            assert _same(mine.score, theirs.score), (chunk.index, mine.name)
            assert _same(mine.p_value, theirs.p_value)
            assert mine.threshold == theirs.threshold
            assert mine.drift_detected == theirs.drift_detected
            assert mine.data_quality == theirs.data_quality
        assert chunk.dataset_drift == alone.dataset_drift


@pytest.mark.parametrize("reference_kind", ["data", "profile"])
def test_each_chunk_scores_as_check_drift_on_its_rows_alone(
    frames: tuple[pl.DataFrame, pl.DataFrame], reference_kind: str
) -> None:
    """Every chunk's scores, p-values, thresholds, verdicts and data quality equal those of
    check_drift with the chunk's rows alone as the current data: by rows, and by time with the
    rows shuffled (raw reference data and a profile)."""
    reference_frame, current = frames
    current = current.head(6_000).with_columns(
        pl.Series(
            "region",
            ["<new>" if i % 97 == 0 else r for i, r in enumerate(current["region"][:6_000])],
        )
    )
    reference: Data | sm.Profile = Data(reference_frame.lazy(), "ref.parquet")
    if reference_kind == "profile":
        reference = profile_frame(reference_frame, source="ref.parquet")
    by_rows = check_drift(
        reference,
        Data(current.drop("ts").lazy(), "cur.parquet"),
        DriftSettings(multivariate=False, chunk_rows=1_500),
    )
    assert [c.rows for c in by_rows.chunks] == [1_500] * 4
    _assert_chunks_score_as_their_rows_alone(reference, current.drop("ts"), by_rows, [])
    shuffled = current.sample(fraction=1.0, shuffle=True, seed=3)
    by_time = check_drift(
        reference,
        Data(shuffled.lazy(), "cur.parquet"),
        DriftSettings(multivariate=False, chunk_by="ts:1h"),
    )
    assert len(by_time.chunks) == 100
    order = np.argsort(shuffled["ts"].to_numpy(), kind="stable").tolist()
    _assert_chunks_score_as_their_rows_alone(reference, shuffled.drop("ts"), by_time, order)


def test_chunk_by_a_datetime_column_cuts_at_calendar_boundaries() -> None:
    """Daily chunks start at midnight, monthly ones on the first, whatever the first row's
    time; a chunk holds exactly the rows of its period; null timestamps are in none."""
    rng = np.random.default_rng(4)
    n = 5_000
    start = dt.datetime(2024, 1, 30, 5, 30)
    times = [start + dt.timedelta(minutes=37 * i) for i in range(n)]
    times = [None if i % 250 == 7 else t for i, t in enumerate(times)]
    current = pl.DataFrame({"x": rng.normal(0, 1, n), "ts": times}).sample(
        fraction=1.0, shuffle=True, seed=1
    )
    reference = pl.DataFrame({"x": rng.normal(0, 1, n)})
    kept = [t for t in times if t is not None]
    for period, floor, step in (
        ("1d", lambda t: dt.datetime(t.year, t.month, t.day), lambda t: t + dt.timedelta(days=1)),
        (
            "1mo",
            lambda t: dt.datetime(t.year, t.month, 1),
            lambda t: dt.datetime(t.year + t.month // 12, t.month % 12 + 1, 1),
        ),
    ):
        result = _run(reference, current, chunk_by=f"ts:{period}")
        starts = sorted({floor(t) for t in kept})
        expected = [
            (s.isoformat(), step(s).isoformat(), sum(s <= t < step(s) for t in kept))
            for s in starts
        ]
        assert [(c.start, c.end, c.rows) for c in result.chunks] == expected
        assert result.chunking == {
            "by": "time",
            "column": "ts",
            "period": period,
            "rows_without_timestamp": 20,
        }
    assert result.chunks[0].start == "2024-01-01T00:00:00"  # before the first row, 01-30


def test_report_carries_the_chunks_and_validates(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """The JSON report (schema version 3) lists every chunk with each feature's score,
    threshold, verdicts and missing share, and validates in full against the schema."""
    reference, current = frames
    result = _run(reference, current, chunk_by="ts:1d")
    report = build_report(result)
    validate_report(report)
    assert not list(Draft202012Validator(report_schema()).iter_errors(report))
    assert report["schema_version"] == 3
    assert report["chunking"] == {
        "by": "time",
        "column": "ts",
        "period": "1d",
        "rows_without_timestamp": 0,
    }
    chunks = report["chunks"]
    assert len(chunks) == 14
    assert [c["rows"] for c in chunks] == [1_440] * 13 + [ROWS - 13 * 1_440]
    balance = [c["features"]["balance"] for c in chunks]
    assert [b["missing_share"] for b in balance[11:]] == [1.0, 1.0, 1.0]
    assert all(b["missing"] == 0 and not b["data_quality_drift"] for b in balance[:11])
    assert all(b["data_quality_drift"] for b in balance[11:])
    assert [b["score"] for b in balance[11:]] == [None, None, None]
    income = [c["features"]["income"] for c in chunks]
    assert [i["drift_detected"] for i in income] == [False] * 7 + [True] * 7
    assert set(income[0]) == {
        "method",
        "score",
        "threshold",
        "p_value",
        "drift_detected",
        "data_quality_drift",
        "missing",
        "missing_share",
    }
    unchunked = build_report(_run(reference, current.drop("ts")))
    assert unchunked["chunking"] is None
    assert unchunked["chunks"] == []
    assert set(unchunked) == set(report)


def test_report_check_catches_chunks_that_do_not_add_up(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """validate_report refuses a chunk whose drifted count, index or features are off."""
    reference, current = frames
    report = build_report(_run(reference, current.drop("ts"), chunk_rows=5_000))
    for change, message in (
        (lambda r: r["chunks"][2].update(n_drifted_features=9), "chunks/2: n_drifted"),
        (lambda r: r["chunks"][1].update(index=7), "chunks/1: index 7"),
        (lambda r: r["chunks"][1]["features"].pop("age"), "chunks/1: its features"),
        (lambda r: r.update(chunking=None), "chunks without a chunking"),
    ):
        broken = json.loads(json.dumps(report))
        change(broken)
        with pytest.raises(ValueError, match=message):
            validate_report(broken)


def test_python_api_takes_chunk_by_and_chunk_rows(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """check_drift(chunk_by=, chunk_rows=) chunks as the settings do, and replaces the
    chunking of a DriftSettings given as config."""
    reference, current = frames
    by_rows = sm.check_drift(reference, current.to_pandas(), chunk_rows=4_000)
    assert [c["rows"] for c in by_rows.to_dict()["chunks"]] == [4_000] * 5
    config = DriftSettings(chunk_rows=4_000, multivariate=False)
    by_time = sm.check_drift(reference, current, chunk_by="ts:7d", config=config)
    assert by_time.to_dict()["chunking"]["period"] == "7d"
    # 7d windows are aligned on the epoch, a Thursday: the first holds Monday 1 to Wednesday 3.
    assert [(c.start, c.rows) for c in by_time.chunks] == [
        ("2023-12-28T00:00:00", 3 * 1_440),
        ("2024-01-04T00:00:00", 7 * 1_440),
        ("2024-01-11T00:00:00", ROWS - 10 * 1_440),
    ]
    with pytest.raises(ColumnError, match=r"check_drift\(chunk_by=\): column 'nope'"):
        sm.check_drift(reference, current, chunk_by="nope:1d", config=config)


def test_config_section_sets_the_chunking_and_a_flag_replaces_it(
    frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """drift.chunk_rows in the config chunks the run; --chunk-by replaces it; a bad value
    names the file and the key."""
    reference, current = frames
    reference.write_parquet(tmp_path / "ref.parquet")
    current.write_parquet(tmp_path / "cur.parquet")
    config = tmp_path / "cfg.yaml"
    config.write_text("drift:\n  chunk_rows: 5000\n  multivariate: false\n")
    args = [
        "check-drift",
        "--reference_data_path",
        str(tmp_path / "ref.parquet"),
        "--current_data_path",
        str(tmp_path / "cur.parquet"),
        "--report_path",
        str(tmp_path / "r.html"),
        "--json_path",
        str(tmp_path / "r.json"),
        "--config",
        str(config),
    ]
    assert main(args) == 0
    assert json.loads((tmp_path / "r.json").read_text())["chunking"] == {"by": "rows", "rows": 5000}
    assert main([*args, "--chunk-by", "ts:1d"]) == 0
    assert len(json.loads((tmp_path / "r.json").read_text())["chunks"]) == 14
    config.write_text("drift:\n  chunk_by: ts:1 day\n")
    with pytest.raises(ConfigError, match=r"cfg.yaml: drift.chunk_by: '1 day' is not"):
        sm.check_drift(reference, current, config=config)


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference and a current file (with a timestamp ``ts`` and a text column)."""
    folder = tmp_path_factory.mktemp("chunks")
    reference = traffic(3_000, seed=1).drop("id")
    current = traffic(3_000, seed=2).drop("id")
    start = dt.datetime(2024, 1, 1)
    current = current.with_columns(
        pl.datetime_range(start, start + dt.timedelta(minutes=2_999), "1m", eager=True).alias("ts")
    )
    reference.write_parquet(folder / "ref.parquet")
    current.write_parquet(folder / "cur.parquet")
    return folder


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--chunk-by", "nope:1d"], r"--chunk-by: column 'nope' not found in .*cur.parquet"),
        (["--chunk-by", "ts:1 hour"], r"--chunk-by: '1 hour' is not a duration such as"),
        (["--chunk-by", "ts:0h"], r"--chunk-by: '0h' is an empty duration"),
        (["--chunk-by", "ts"], r"--chunk-by: 'ts' is not COLUMN:PERIOD"),
        (
            ["--chunk-by", "ts:1d", "--chunk-rows", "100"],
            r"--chunk-by and --chunk-rows: chunk by time or by rows, not both",
        ),
        (["--chunk-rows", "0"], r"--chunk-rows: must be a positive integer, got 0"),
        (["--chunk-rows", "ten"], r"argument --chunk-rows: invalid int value: 'ten'"),
        (
            ["--chunk-rows", "2"],
            r"--chunk-rows: cuts the 3,000 rows of .*cur.parquet into 1,500 chunks; at most 1,000",
        ),
        (["--chunk-by", "income:1d"], r"timestamp column 'income' has type Float64"),
    ],
)
def test_bad_chunk_flags_are_one_line_naming_the_flag_or_column(
    cli_files: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    message: str,
) -> None:
    """A bad chunking exits 2 with one line on stderr, no traceback, naming the flag or
    column."""
    args = [
        "check-drift",
        "--reference_data_path",
        str(cli_files / "ref.parquet"),
        "--current_data_path",
        str(cli_files / "cur.parquet"),
        "--report_path",
        str(tmp_path / "r.html"),
    ]
    try:
        code = main([*args, *flags])
    except SystemExit as exit_:  # argparse's own usage errors
        code = exit_.code
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    assert err[0].startswith("stream-monitor check-drift: error: ")
    assert re.search(message, err[0]), err[0]
    assert not (tmp_path / "r.html").exists()


# --- the HTML timeline ----------------------------------------------------------------------


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_timeline_is_self_contained_under_the_same_strict_csp(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """The page with a timeline has one inline style and one script, both allowed by hash
    alone, and fetches nothing."""
    reference, current = frames
    page = render_html(build_report(_run(reference, current, chunk_by="ts:1d")))
    assert 'id="timeline"' in page
    csp = html.unescape(re.search(r'Content-Security-Policy" content="([^"]*)"', page)[1])
    style = re.search(r"<style>(.*?)</style>", page, re.S)[1]
    script = re.search(r"<script>(.*?)</script>", page, re.S)[1]
    assert page.count("<script") == 1
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["style-src"] == _sha256(style)
    assert directives["script-src"] == _sha256(script)
    assert "unsafe" not in csp
    assert "http://" not in page
    assert "https://" not in page


def test_timeline_escapes_a_hostile_feature_name(
    frames: tuple[pl.DataFrame, pl.DataFrame],
) -> None:
    """A feature named like markup appears only escaped in the timeline."""
    reference, current = frames
    reference = reference.rename({"income": HOSTILE})
    current = current.rename({"income": HOSTILE})
    page = render_html(build_report(_run(reference, current, chunk_rows=5_000)))
    assert HOSTILE not in page
    assert f'data-feature="{html.escape(HOSTILE, quote=True)}"' in page
    assert page.count(html.escape(HOSTILE, quote=True)) >= 4


def test_one_million_rows_in_a_thousand_chunks_stay_under_5_mb(tmp_path: Path) -> None:
    """A million current rows of 14 features cut into the most chunks allowed (1,000) give an
    HTML report under 5 MB, with every chunk drawn."""
    reference = traffic(20_000, seed=1).drop("id")
    current = traffic(1_000_000, seed=2, drift=Drift("income", 500_000, 1.0)).drop("id")
    result = _run(reference, current, chunk_rows=1_000)
    assert len(result.chunks) == 1_000
    result.save_html(tmp_path / "r.html")
    size = (tmp_path / "r.html").stat().st_size
    print(f"HTML report of 1,000,000 rows in 1,000 chunks: {size:,} bytes")
    assert size < 5_000_000
    page = (tmp_path / "r.html").read_text()
    assert page.count("<circle") == 1_000 * len(result.features)
    drifted = [c.index for c in result.chunks if "income" in c.drifted_features]
    # Each chunk is judged as a whole current data set would be, with no correction for the
    # number of chunks: of 500 clean 1,000-row chunks of a lognormal, a few pass 0.1.
    assert set(range(500, 1_000)) <= set(drifted)
    assert len(drifted) - 500 <= 5


@pytest.mark.browser
def test_timeline_renders_every_chunk_and_marks_the_drifted_ones(
    browser: Browser, frames: tuple[pl.DataFrame, pl.DataFrame], tmp_path: Path
) -> None:
    """In Chromium the timeline has a row per feature, drifted features first, a dot per
    chunk, red dots exactly at the drifted chunks, a missing-share bar where values are
    missing, and the page logs nothing and fetches nothing."""
    reference, current = frames
    result = _run(reference, current, chunk_by="ts:1d")
    report = build_report(result)
    path = tmp_path / "report.html"
    path.write_text(render_html(report), encoding="utf-8")
    browser.open(path)
    assert browser.console() == []
    assert browser.requests() == [path.resolve().as_uri()]
    rows = browser.js(
        """
        return Array.from(document.querySelectorAll("#timeline tbody tr"), (row) => ({
          name: row.cells[0].textContent,
          dots: row.querySelectorAll("td.chart circle").length,
          drifted: Array.from(row.querySelectorAll("td.chart circle.drifted"),
                              (c) => Number(c.dataset.chunk)),
          red: Array.from(row.querySelectorAll("td.chart circle.drifted"),
                          (c) => getComputedStyle(c).fill),
          missing: row.querySelectorAll("td.missing rect").length,
          width: row.querySelector("td.chart svg").getBoundingClientRect().width,
          count: row.cells[2].textContent,
        }));
        """
    )
    names = [f.name for f in result.features]
    expected_drifted = {
        name: [c["index"] for c in report["chunks"] if c["features"][name]["drift_detected"]]
        for name in names
    }
    assert [row["name"] for row in rows] == ["income", "balance"] + [
        n for n in names if n not in ("income", "balance")
    ]
    for row in rows:
        assert row["dots"] == 14
        assert row["drifted"] == expected_drifted[row["name"]]
        assert row["count"] == f"{len(row['drifted'])} of 14"
        assert all(color == "rgb(201, 42, 42)" for color in row["red"])
        assert row["width"] > 300
        assert row["missing"] == (3 if row["name"] == "balance" else 0)
    assert expected_drifted["income"] == list(range(7, 14))
    assert sum(bool(v) for v in expected_drifted.values()) == 1
    assert browser.dialogs() == []
