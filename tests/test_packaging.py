"""Packaging contracts: environment.yml agrees with pyproject.toml; entry points exist."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

import yaml

from analysis.core import paths

# conda-forge names packages differently in a few places (documented in environment.yml).
CONDA_NAMES = {"ibis-framework[duckdb]": "ibis-duckdb"}


def _split(requirement: str) -> tuple[str, str]:
    """'duckdb>=1.1,<2' -> ('duckdb', '>=1.1,<2'); names keep their extras."""
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+(?:\[[^\]]+\])?)\s*(.*)$", requirement)
    assert match, requirement
    return match.group(1).lower(), match.group(2).replace(" ", "")


def _pyproject_requirements() -> dict[str, str]:
    project = tomllib.loads((paths.PROJ_ROOT / "pyproject.toml").read_text())["project"]
    reqs = project["dependencies"] + project["optional-dependencies"]["dev"]
    pairs = (_split(r) for r in reqs)
    return {CONDA_NAMES.get(name, name): spec for name, spec in pairs}


def _conda_requirements() -> dict[str, str]:
    env = yaml.safe_load((paths.PROJ_ROOT / "environment.yml").read_text())
    deps = [d for d in env["dependencies"] if isinstance(d, str)]
    pairs = (_split(d) for d in deps)
    return {name: spec for name, spec in pairs if name not in {"python", "pip"}}


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    # Source of truth: pyproject.toml; environment.yml must mirror names and version specs.
    assert _conda_requirements() == _pyproject_requirements()


def test_environment_yml_installs_the_package_through_pip():
    env = yaml.safe_load((paths.PROJ_ROOT / "environment.yml").read_text())
    pip_sections = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    assert pip_sections and "-e ." in pip_sections[0]
    assert "python=3.11" in env["dependencies"]


def test_sqlglot_and_duckdb_pins_guard_known_ibis_breakage():
    # DESIGN.md pitfall: ibis 12.0 breaks with sqlglot >= 30.18; duckdb 2.0 removed an API ibis 12 uses.
    reqs = _pyproject_requirements()
    assert reqs["sqlglot"] == "<30.18"
    assert "<2" in reqs["duckdb"]


def test_console_script_and_module_entry_point_show_help():
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "--help"], capture_output=True, text=True, check=True
    )
    for command in ("sample", "ingest", "report", "lab"):
        assert command in out.stdout
    for command in ("sample", "ingest", "report", "lab"):
        sub = subprocess.run(
            [sys.executable, "-m", "analysis", command, "--help"], capture_output=True, text=True
        )
        assert sub.returncode == 0 and "usage" in sub.stdout


def test_makefile_has_the_documented_targets():
    makefile = (paths.PROJ_ROOT / "Makefile").read_text()
    for target in ("help", "setup", "sample", "ingest", "report", "test", "lab", "lint"):
        assert re.search(rf"^{target}:", makefile, re.M), target


def test_ci_runs_make_test():
    assert "make test" in (paths.PROJ_ROOT / ".ci" / "run").read_text()
