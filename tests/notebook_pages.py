"""Run a report notebook's code in this process and keep what its page would show.

A kernel per notebook costs seconds before the first cell runs; the data-shape
matrix runs every notebook on a dozen data folders, so it executes the cells
here instead, with the parameters the report runner would give (same plan,
same config). It keeps everything a reader would see: Markdown and tables
that are displayed or end a cell, printed text, warnings that would print,
and every figure. The real runner is exercised on the full sample and on one
degraded folder by the report tests.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import IPython.display
import matplotlib.pyplot as plt
import nbformat
import pandas as pd

from analysis.core import paths
from analysis.report import plan
from analysis.report.run import _as_of

# What must never reach a reader where a name or a number belongs.
MISSING_MARKERS = re.compile(r"(?<![\w/.])(nan|NaN|<NA>|None|NaT|inf|-inf)(?![\w/])")


@dataclass
class Page:
    """What one notebook put on its page."""

    name: str
    texts: list[str] = field(default_factory=list)  # Markdown, HTML tables, printed text
    warnings: list[str] = field(default_factory=list)
    empty_charts: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Everything on the page a reader should never see."""
        found = [f"warning: {w}" for w in self.warnings]
        found += [f"empty chart without a note: {t}" for t in self.empty_charts]
        for text in self.texts:
            for match in MISSING_MARKERS.finditer(_visible(text)):
                start = max(match.start() - 60, 0)
                found.append(f"{match.group()!r} in: ...{_visible(text)[start : match.end() + 40]}")
        return found


def _visible(text: str) -> str:
    """Text without HTML tags, CSS and attribute values (which are not read)."""
    text = re.sub(r"<style.*?</style>", " ", text, flags=re.S)
    return re.sub(r"<[^>]+>", " ", text)


def _as_text(obj: object) -> str:
    if isinstance(obj, IPython.display.Markdown | IPython.display.HTML):
        return str(obj.data)
    if hasattr(obj, "to_html"):  # Styler, DataFrame
        return obj.to_html()
    return str(obj)


def _chart_is_empty(fig) -> bool:
    """A figure whose every axes has no data and no note written on it."""
    axes = fig.get_axes()
    return bool(axes) and all(not ax.has_data() and not ax.texts for ax in axes)


def _run_cell(source: str, namespace: dict, page: Page) -> None:
    tree = ast.parse(source)
    tail = None
    if tree.body and isinstance(tree.body[-1], ast.Expr) and not source.rstrip().endswith(";"):
        tail = ast.Expression(tree.body.pop().value)
    exec(compile(tree, page.name, "exec"), namespace)
    if tail is not None:
        value = eval(compile(tail, page.name, "eval"), namespace)
        if value is not None and not isinstance(value, matplotlib.axes.Axes | list):
            page.texts.append(_as_text(value))


def run_page(notebook: Path, parameters: dict) -> Page:
    """Execute ``notebook``'s code cells with ``parameters`` and return its page."""
    page = Page(notebook.stem)
    nb = nbformat.read(notebook, as_version=4)
    namespace: dict = {"__name__": "__main__"}
    shown: list = []
    printed = io.StringIO()
    original_display = IPython.display.display
    IPython.display.display = lambda *objs, **_: shown.extend(objs)
    try:
        with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(printed):
            warnings.simplefilter("default")
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                _run_cell(cell.source, namespace, page)
                if "parameters" in cell.metadata.get("tags", []):
                    namespace.update(parameters)
                page.texts += [_as_text(obj) for obj in shown]
                shown.clear()
                for number in plt.get_fignums():
                    fig = plt.figure(number)
                    if _chart_is_empty(fig):
                        page.empty_charts.append(fig.get_axes()[0].get_title() or "untitled")
                plt.close("all")
    finally:
        IPython.display.display = original_display
        plt.close("all")
    page.texts.append(printed.getvalue())
    page.warnings = [
        f"{w.category.__name__}: {w.message} ({Path(w.filename).name}:{w.lineno})"
        for w in caught
        # Python hides these by default, in kernels too; a ResourceWarning here is
        # another test's leftover collected mid-page, not something the page printed.
        if not issubclass(
            w.category, DeprecationWarning | PendingDeprecationWarning | ResourceWarning
        )
    ]
    return page


def report_pages(data_dir: Path, output_root: Path) -> dict[str, Page]:
    """Every notebook of the default report config on ``data_dir``, summary last."""
    config = plan.load_report_config()
    jobs = plan.plan_run(config, None, {}, paths.NOTEBOOKS_DIR, _as_of(config, data_dir))
    pages = {}
    for job in jobs:
        out = output_root / job.name
        out.mkdir(parents=True, exist_ok=True)
        params = job.with_paths(data_dir, out, output_root)
        pages[job.name] = run_page(job.path, params)
    return pages


def pages_by_case(tables: dict[str, pd.DataFrame], tmp_path_factory) -> Callable:
    """A function giving ``(pages, output folder)`` of a data shape, run once per shape."""
    from data_shapes import write_shape

    cache: dict[str, tuple[dict[str, Page], Path]] = {}

    def get(case: str) -> tuple[dict[str, Page], Path]:
        if case not in cache:
            root = tmp_path_factory.mktemp(case)
            folder = write_shape(case, tables, root / "processed")
            cache[case] = (report_pages(folder, root / "out"), root / "out")
        return cache[case]

    return get
