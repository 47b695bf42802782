"""The package layout: arrows point down only.

src/analysis is organised by question. A question package (overview, pipeline,
experiments, winloss, team, segments) may use engine, stats, core and present;
stats uses only core; engine never uses a question package; core uses no other
analysis package; nothing below report imports report. Notebooks use the
package root, present, reference and their own question package only.

Every check reads import statements with ``ast`` (nothing is imported), counts
imports anywhere in a module (inside functions and ``if TYPE_CHECKING:`` too)
and names each offending file, line and statement in its failure message.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import nbformat

from analysis.core import paths

PACKAGE_DIR = paths.PROJ_ROOT / "src" / "analysis"
NOTEBOOK_DIR = paths.PROJ_ROOT / "notebooks"

QUESTION_PACKAGES = (
    "overview", "pipeline", "experiments", "winloss", "team", "segments", "scorecard", "forecast",
    "marketing", "after_close",
)  # fmt: skip
# What the engine must never reach up to: the question packages and everything above.
ABOVE_ENGINE = (*QUESTION_PACKAGES, "reference", "report", "present")
STATS_THIRD_PARTY = frozenset({"numpy", "scipy", "pandas", "statsmodels"})
TOP_LEVEL_FILES = frozenset({"__init__.py", "__main__.py", "cli.py", "py.typed"})

# Each notebook and the one question package it belongs to.
NOTEBOOK_PACKAGE = {
    "00_data_overview": "overview",
    "01_pipeline_bottlenecks": "pipeline",
    "02_ab_tests": "experiments",
    "03_win_loss": "winloss",
    "04_team_performance": "team",
    "05_b2b_vs_b2c": "segments",
    "06_forecast": "forecast",
    "07_marketing_alignment": "marketing",
    "08_after_the_close": "after_close",
    "00_executive_summary": "report",
}


def _is_submodule(name: str) -> bool:
    """Whether ``analysis.<name>`` is a module or sub-package (not an attribute such as connect)."""
    return (PACKAGE_DIR / name / "__init__.py").is_file() or (PACKAGE_DIR / f"{name}.py").is_file()


def _module_of(path: Path) -> str:
    """Dotted module name of a file under src/analysis (a package for __init__.py)."""
    parts = list(path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool) -> list[str]:
    """The absolute module names an import statement brings in.

    Relative imports are resolved against ``module``; ``from analysis import x``
    counts as importing ``analysis.x`` when x is a sub-package or module, and
    as the package root otherwise (``from analysis import connect``).
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        package = module.split(".") if is_package else module.split(".")[:-1]
        anchor = package[: len(package) - (node.level - 1)]
        base = ".".join([*anchor, base] if base else anchor)
    if base == "analysis":
        return [
            f"analysis.{alias.name}" if _is_submodule(alias.name) else "analysis"
            for alias in node.names
        ]
    return [base]


def _imports(tree: ast.AST, module: str = "", is_package: bool = False) -> Iterator[tuple]:
    """(line, statement text, absolute target) for every import in a parsed module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for target in _targets(node, module, is_package):
                yield node.lineno, ast.unparse(node), target


def _package_files(package: str) -> list[Path]:
    files = sorted((PACKAGE_DIR / package).rglob("*.py"))
    assert files, f"no modules found under {PACKAGE_DIR / package}; has the package moved?"
    return files


def _source_imports(package: str) -> Iterator[tuple[str, int, str, str]]:
    """(file, line, statement, target) for every import in every module of a sub-package."""
    for path in _package_files(package):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        module = _module_of(path)
        rel = path.relative_to(paths.PROJ_ROOT).as_posix()
        for line, statement, target in _imports(tree, module, path.name == "__init__.py"):
            yield rel, line, statement, target


def _subpackage(target: str) -> str | None:
    """``pipeline`` for analysis.pipeline.funnel; "" for the root; None outside analysis."""
    parts = target.split(".")
    if parts[0] != "analysis":
        return None
    return parts[1] if len(parts) > 1 else ""


def _report(rule: str, offences: list[str]) -> str:
    return rule + ":\n  " + "\n  ".join(offences)


def test_stats_uses_only_the_standard_library_scientific_stack_and_core():
    """Rule: stats uses only core. analysis/stats imports nothing but the standard
    library, numpy, scipy, pandas, statsmodels, analysis.core and analysis.stats
    (no ibis, no engine, no question package, not the package root)."""
    offences = []
    for file, line, statement, target in _source_imports("stats"):
        sub = _subpackage(target)
        if sub is None:
            top = target.split(".")[0]
            allowed = top in sys.stdlib_module_names or top in STATS_THIRD_PARTY
        else:
            allowed = sub in ("core", "stats")
        if not allowed:
            offences.append(f"{file}:{line}: {statement}  (imports {target})")
    assert not offences, _report(
        "analysis/stats may import only the standard library, numpy, scipy, pandas, "
        "statsmodels, analysis.core and analysis.stats",
        offences,
    )


def test_engine_never_uses_a_question_package():
    """Rule: engine never uses a question package. analysis/engine imports none of
    overview, pipeline, experiments, winloss, team, segments, reference, report, present."""
    offences = [
        f"{file}:{line}: {statement}  (imports {target})"
        for file, line, statement, target in _source_imports("engine")
        if _subpackage(target) in ABOVE_ENGINE
    ]
    assert not offences, _report(
        "analysis/engine must not import " + ", ".join(f"analysis.{p}" for p in ABOVE_ENGINE),
        offences,
    )


def test_nothing_below_report_imports_report():
    """Rule: arrows point down only. report sits on top; no question package
    (overview, pipeline, experiments, winloss, team, segments) nor reference or
    present imports analysis.report."""
    offences = [
        f"{file}:{line}: {statement}  (imports {target})"
        for package in (*QUESTION_PACKAGES, "reference", "present")
        for file, line, statement, target in _source_imports(package)
        if _subpackage(target) == "report"
    ]
    assert not offences, _report(
        "question packages, reference and present must not import analysis.report", offences
    )


def test_core_uses_no_other_analysis_package():
    """Rule: core is the bottom layer. analysis/core imports no other analysis
    sub-package (nor the package root, which reaches the engine)."""
    offences = [
        f"{file}:{line}: {statement}  (imports {target})"
        for file, line, statement, target in _source_imports("core")
        if _subpackage(target) not in (None, "core")
    ]
    assert not offences, _report(
        "analysis/core must not import any other analysis package", offences
    )


def test_package_top_level_holds_only_entry_points_and_sub_packages():
    """Rule: the package is organised by question. The top level of src/analysis
    holds only __init__.py, __main__.py, cli.py, py.typed and sub-package folders."""
    offences = []
    for entry in sorted(PACKAGE_DIR.iterdir()):
        rel = entry.relative_to(paths.PROJ_ROOT).as_posix()
        if entry.is_dir():
            if entry.name == "__pycache__":
                continue
            if not (entry / "__init__.py").is_file():
                offences.append(f"{rel}/  (a folder without __init__.py, not a sub-package)")
        elif entry.name not in TOP_LEVEL_FILES:
            offences.append(f"{rel}  (move it into the sub-package it belongs to)")
    assert not offences, _report(
        "src/analysis may hold only " + ", ".join(sorted(TOP_LEVEL_FILES)) + " and sub-packages",
        offences,
    )


def _code_cells_source(cell_source: str) -> str:
    """Cell source with IPython magics and shell escapes blanked so ``ast`` can read it."""
    return "\n".join(
        "" if line.lstrip().startswith(("%", "!")) else line for line in cell_source.splitlines()
    )


# NOTE: written while the notebooks' imports were being rewritten to the new
# layout; it failed then (notebooks imported analysis.core, analysis.engine and
# analysis.report directly). If it fails, fix the notebook, not this rule.
def test_notebooks_import_only_root_present_reference_and_their_question_package():
    """Rule: a notebook is a question's page. Each notebooks/*.ipynb imports from
    analysis only the package root (analysis.connect), analysis.present,
    analysis.reference and the one question package it belongs to
    (00_executive_summary belongs to report)."""
    notebooks = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    assert notebooks, f"no notebooks found in {NOTEBOOK_DIR}"
    offences = []
    for path in notebooks:
        rel = path.relative_to(paths.PROJ_ROOT).as_posix()
        own = NOTEBOOK_PACKAGE.get(path.stem)
        if own is None:
            offences.append(f"{rel}: not in NOTEBOOK_PACKAGE; say which question package it uses")
            continue
        allowed = {"", "present", "reference", own}
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(_code_cells_source(cell.source))
            except SyntaxError as exc:
                offences.append(f"{rel} cell {index}: cannot parse ({exc.msg}, line {exc.lineno})")
                continue
            for line, statement, target in _imports(tree):
                sub = _subpackage(target)
                if sub is not None and sub not in allowed:
                    offences.append(
                        f"{rel} cell {index} line {line}: {statement}  (imports {target})"
                    )
    assert not offences, _report(
        "a notebook may import only analysis, analysis.present, analysis.reference "
        "and its own question package",
        offences,
    )
