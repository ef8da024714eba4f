"""The wheel holds what an installed stream-monitor needs, and depends on nothing else."""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel built from a copy of the sources (so the tree gets no build/ or egg-info) by
    the PEP 517 backend pyproject names, called as pip would call it but with the test
    extra's setuptools rather than an isolated, downloaded one (and without pip's start-up
    cost)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "stream_monitor",
        source / "stream_monitor",
        ignore=shutil.ignore_patterns("__pycache__", "*.nbi", "*.nbc"),
    )
    out = tmp_path_factory.mktemp("dist")
    build = f"from setuptools import build_meta; build_meta.build_wheel({str(out)!r})"
    subprocess.run([sys.executable, "-c", build], cwd=source, check=True, capture_output=True)
    (path,) = out.glob("stream_monitor-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_holds_package_data_and_license(wheel: zipfile.ZipFile) -> None:
    """Every JSON Schema, the py.typed marker and the Apache-2.0 licence are in the wheel."""
    names = set(wheel.namelist())
    schemas = {p.relative_to(ROOT).as_posix() for p in (ROOT / "stream_monitor/schemas").glob("*")}
    schemas = {name for name in schemas if name.endswith(".json")}
    assert schemas
    assert schemas <= names
    assert "stream_monitor/py.typed" in names
    (license_file,) = [n for n in names if n.endswith(".dist-info/licenses/LICENSE")]
    assert "Apache License" in wheel.read(license_file).decode()
    assert not [n for n in names if n.startswith("tests/")]


def test_wheel_requires_only_the_runtime_dependencies(wheel: zipfile.ZipFile) -> None:
    """The unconditional Requires-Dist are exactly pyproject's dependencies; every test
    tool sits behind an extra marker."""
    (metadata_file,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    metadata = email.parser.Parser().parsestr(wheel.read(metadata_file).decode())
    requires = metadata.get_all("Requires-Dist") or []
    unconditional = {r for r in requires if ";" not in r}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert unconditional == set(project["dependencies"])
    # Compared as requirements: the wheel may list a specifier's clauses in another order.
    behind_test = {
        (r.name, r.specifier)
        for r in map(Requirement, requires)
        if r.marker is not None and r.marker.evaluate({"extra": "test"})
    }
    for tool in project["optional-dependencies"]["test"]:
        assert tool not in unconditional
        wanted = Requirement(tool)
        assert (wanted.name, wanted.specifier) in behind_test, tool
    assert metadata["License-Expression"] == "Apache-2.0"
