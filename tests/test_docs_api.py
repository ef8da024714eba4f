"""docs/python-api.md runs as written: its Python blocks, in order, in one namespace."""

from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path

import pytest

DOC = Path(__file__).parent.parent / "docs" / "python-api.md"
BLOCK = re.compile(r"^```python\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def run_blocks(text: str) -> list[str]:
    """Run each ```python block of ``text`` in order in one namespace; return what each
    printed."""
    namespace: dict[str, object] = {"__name__": "__doc__"}
    printed = []
    for number, block in enumerate(BLOCK.findall(text), start=1):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(block, f"{DOC.name} block {number}", "exec"), namespace)
        printed.append(out.getvalue())
    return printed


def test_the_walkthrough_runs_and_prints_real_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every block runs (its own asserts hold) in a fresh directory, writes the files it
    names, and prints the values the prose describes."""
    monkeypatch.chdir(tmp_path)
    printed = run_blocks(DOC.read_text(encoding="utf-8"))
    assert len(printed) == 8
    assert printed[0] == "['age', 'income', 'debt_ratio', 'credit_lines'] 20000 10000\n"
    assert printed[1] == "False ('income',)\nwasserstein True\n"
    assert printed[2] == "14 1 wasserstein\n"
    assert printed[3] == "reference.parquet\n"
    assert printed[4] == str([()] * 5 + [("income",)] * 5) + "\n"
    assert printed[5].splitlines()[0] == "16 default predicted_default"
    assert printed[5].splitlines()[1] == "sketch ('income',)"
    windows, degradation, validation = printed[6].splitlines()
    assert windows == "4 psi False"
    task, degraded, _, _ = degradation.split()
    assert (task, degraded) == ("classification", "False")
    assert validation == "True 10000"
    first, counts = printed[7].splitlines()
    assert first.startswith("feature_drift income adwin 100")
    assert counts.startswith("30000 rows scored,")
    assert sorted(os.listdir(tmp_path)) == [
        "drift.html",
        "drift.json",
        "profile.parquet",
        "reference.parquet",
    ]
