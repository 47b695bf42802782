"""Execute report notebooks with papermill and publish a run atomically.

A run is built in ``reports/.<run-id>.partial`` and renamed to
``reports/<run-id>`` when every notebook has been executed and rendered;
``reports/latest`` is repointed only when every notebook succeeded, so a
failed or killed run never replaces the last good report.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import analysis
from analysis import config
from analysis.errors import InputError
from analysis.fileio import sha256_file
from analysis.report.html import notebook_to_html, page
from analysis.report.outputs import read_summary

LATEST = "latest"
INDEX = "index.html"
RUN_LOG = "run.log"
# Parameters the runner fills in for every notebook that declares them.
DATA_DIR_PARAM = "data_dir"
OUTPUT_DIR_PARAM = "output_dir"


@dataclass(frozen=True)
class NotebookResult:
    """Outcome of one notebook in a run."""

    name: str
    title: str
    ok: bool
    seconds: float
    html: Path
    executed: Path
    error: str = ""
    summary: dict | None = None


@dataclass(frozen=True)
class ReportRun:
    """A finished report run."""

    run_id: str
    path: Path
    notebooks: tuple[NotebookResult, ...]
    parameters: Mapping[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when every notebook of the run succeeded."""
        return all(nb.ok for nb in self.notebooks)

    def to_frame(self) -> pd.DataFrame:
        """One row per notebook: ``notebook, ok, seconds, error``."""
        return pd.DataFrame(
            [
                {"notebook": n.name, "ok": n.ok, "seconds": round(n.seconds, 2), "error": n.error}
                for n in self.notebooks
            ]
        )

    def summary(self) -> str:
        """A few lines for the console: each notebook's status and time."""
        lines = [f"Report run {self.run_id}: {self.path}"]
        for nb in self.notebooks:
            state = "ok" if nb.ok else f"FAILED ({nb.error})"
            lines.append(f"  {nb.name}: {state} in {nb.seconds:.1f}s")
        lines.append("reports/latest updated." if self.ok else "reports/latest left unchanged.")
        return "\n".join(lines)


def discover_notebooks(notebooks_dir: Path = config.NOTEBOOKS_DIR) -> list[Path]:
    """Report notebooks in run order (file name order)."""
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))


def _select(names: Sequence[str] | None, notebooks_dir: Path) -> list[Path]:
    available = discover_notebooks(notebooks_dir)
    if not names:
        return available
    by_name = {p.stem: p for p in available}
    chosen = []
    for name in names:
        stem = Path(name).stem
        if stem not in by_name:
            raise InputError(
                f"no notebook named {name!r}; available: {', '.join(by_name) or 'none'}.",
                file=notebooks_dir,
            )
        chosen.append(by_name[stem])
    return chosen


def _coerce(value: object, declared: Mapping[str, object]) -> object:
    """Give a command-line string the type of the notebook's declared default."""
    if not isinstance(value, str):
        return value
    kind = str(declared.get("inferred_type_name", "")).lower()
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            return float(value)
        if kind == "bool":
            return {"true": True, "false": False}[value.strip().lower()]
    except (ValueError, KeyError):
        raise InputError(
            f"parameter {declared.get('name')!r} expects {kind}, got {value!r}.", column="-p"
        ) from None
    if value.strip().lower() in {"none", "null"}:
        return None
    return value


def _notebook_parameters(
    path: Path, overrides: Mapping[str, object], data_dir: Path, output_dir: Path
) -> dict[str, object]:
    import papermill

    declared = papermill.inspect_notebook(str(path))
    params: dict[str, object] = {}
    if DATA_DIR_PARAM in declared:
        params[DATA_DIR_PARAM] = str(data_dir)
    if OUTPUT_DIR_PARAM in declared:
        params[OUTPUT_DIR_PARAM] = str(output_dir)
    for key, value in overrides.items():
        if key in declared:
            params[key] = _coerce(value, declared[key])
    return params


def _check_overrides(paths: list[Path], overrides: Mapping[str, object]) -> None:
    import papermill

    known: set[str] = set()
    for path in paths:
        known.update(papermill.inspect_notebook(str(path)))
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(
            f"no selected notebook declares a parameter {unknown[0]!r}; "
            f"declared parameters: {', '.join(sorted(known))}.",
            column="-p",
        )


def _title(path: Path) -> str:
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "markdown":
            for line in "".join(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return path.stem.replace("_", " ").title()


def code_version() -> str:
    """``git describe`` of the project when it is a checkout, else the package version."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=config.PROJ_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return f"{analysis.__version__} ({out.stdout.strip()})"
    except (OSError, subprocess.SubprocessError):
        return analysis.__version__


def _manifest_hash(data_dir: Path) -> str:
    path = data_dir / config.MANIFEST_FILENAME
    return sha256_file(path)[:16] if path.exists() else "none"


def _execute(path: Path, out_dir: Path, params: dict, log) -> tuple[bool, str, float]:
    import papermill
    from papermill.exceptions import PapermillExecutionError

    executed = out_dir / path.name
    start = dt.datetime.now(dt.UTC)
    try:
        papermill.execute_notebook(
            str(path),
            str(executed),
            parameters=params,
            kernel_name="python3",
            progress_bar=False,
            cwd=str(path.parent),
        )
        ok, error = True, ""
    except PapermillExecutionError as exc:
        ok, error = False, f"{exc.ename}: {exc.evalue}"
    except Exception as exc:
        ok, error = False, f"{type(exc).__name__}: {exc}"
    seconds = (dt.datetime.now(dt.UTC) - start).total_seconds()
    log(f"{path.stem}: {'ok' if ok else 'FAILED ' + error} ({seconds:.1f}s)")
    return ok, error, seconds


def _index_html(run_id: str, results: list[NotebookResult], meta: Mapping[str, str]) -> str:
    items = []
    for nb in results:
        state = (
            '<span class="status-ok">ok</span>'
            if nb.ok
            else (f'<span class="status-failed">failed</span> — {html.escape(nb.error)}')
        )
        headline = (nb.summary or {}).get("headline") or []
        bullets = "".join(f"<li>{html.escape(str(s))}</li>" for s in headline)
        link = f"{nb.name}/{nb.html.name}"
        items.append(
            f'<h2><a href="{html.escape(link)}">{html.escape(nb.title)}</a></h2>'
            f"<p>Status: {state}</p><ul>{bullets}</ul>"
        )
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{html.escape(str(v))}</td></tr>" for k, v in meta.items()
    )
    body = "".join(items) + f"<h2>About this run</h2><table>{rows}</table>"
    return page(f"Sales process report — {run_id}", body, meta=f"Run {html.escape(run_id)}")


def _point_latest(reports_dir: Path, run_dir: Path) -> None:
    link = reports_dir / LATEST
    tmp = reports_dir / f".{LATEST}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_dir.name, target_is_directory=True)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(tmp, link)


def run_report(
    notebooks: Sequence[str] | None = None,
    parameters: Mapping[str, object] | None = None,
    run_id: str | None = None,
    reports_dir: str | Path = config.REPORTS_DIR,
    data_dir: str | Path | None = None,
    notebooks_dir: str | Path = config.NOTEBOOKS_DIR,
) -> ReportRun:
    """Execute report notebooks and publish HTML, CSV tables and summaries.

    Parameters
    ----------
    notebooks : sequence of str, optional
        Notebook names (stems) to run; default all in ``notebooks/``.
    parameters : mapping, optional
        Parameter overrides, passed to every notebook that declares them;
        a name no selected notebook declares is an ``InputError``.
    run_id : str, optional
        Folder name of the run; default the UTC time ``YYYYmmddTHHMMSSZ``.
    reports_dir, data_dir, notebooks_dir : path
        Where runs are written, which processed data the notebooks read
        (default ``data/processed``), and where notebooks are found.

    Returns
    -------
    ReportRun
        ``ok`` is False when any notebook failed; its executed notebook is
        kept for debugging and ``reports/latest`` is left unchanged.
    """
    reports_dir = Path(reports_dir)
    data_dir = Path(data_dir) if data_dir is not None else config.PROCESSED_DIR
    overrides = dict(parameters or {})
    paths = _select(notebooks, Path(notebooks_dir))
    if not paths:
        raise InputError("no notebooks to run.", file=notebooks_dir)
    _check_overrides(paths, overrides)
    started = dt.datetime.now(dt.UTC)
    run_id = run_id or started.strftime("%Y%m%dT%H%M%SZ")
    final = reports_dir / run_id
    if final.exists():
        raise InputError("a run with this id already exists; choose another --run-id.", file=final)
    partial = reports_dir / f".{run_id}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    log_path = partial / RUN_LOG

    def log(message: str) -> None:
        with log_path.open("a", encoding="utf-8") as fh:
            fh.write(f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {message}\n")

    meta = {
        "run id": run_id,
        "started (UTC)": started.isoformat(timespec="seconds"),
        "parameters": json.dumps(overrides, sort_keys=True) if overrides else "defaults",
        "data": str(data_dir),
        "data manifest sha256": _manifest_hash(data_dir),
        "code version": code_version(),
    }
    log(f"run {run_id} started: {len(paths)} notebook(s), parameters {overrides or 'defaults'}")
    if os.environ.pop("MPLBACKEND", None) is not None:
        # Under papermill a forced Agg backend silently drops every figure; the
        # kernel's inline backend is already headless.
        log("MPLBACKEND was set; unset it so figures reach the report")
    results = []
    for path in paths:
        out_dir = partial / path.stem
        out_dir.mkdir()
        params = _notebook_parameters(path, overrides, data_dir, out_dir)
        ok, error, seconds = _execute(path, out_dir, params, log)
        title = _title(path)
        html_path = out_dir / f"{path.stem}.html"
        footer = f"Run {html.escape(run_id)} · code {html.escape(meta['code version'])}"
        try:
            document = notebook_to_html(
                out_dir / path.name, title, meta=html.escape(meta["started (UTC)"]), footer=footer
            )
        except Exception as exc:
            ok, error = False, error or f"HTML rendering failed: {type(exc).__name__}: {exc}"
            document = page(title, f"<p>{html.escape(error)}</p>", meta=html.escape(run_id))
            log(f"{path.stem}: {error}")
        html_path.write_text(document, encoding="utf-8")
        results.append(
            NotebookResult(
                name=path.stem,
                title=title,
                ok=ok,
                seconds=seconds,
                html=final / path.stem / html_path.name,
                executed=final / path.stem / path.name,
                error=error,
                summary=read_summary(out_dir),
            )
        )
    (partial / INDEX).write_text(_index_html(run_id, results, meta), encoding="utf-8")
    log(f"run {run_id} finished: {'ok' if all(r.ok for r in results) else 'FAILED'}")
    os.replace(partial, final)
    run = ReportRun(run_id, final, tuple(results), overrides)
    if run.ok:
        _point_latest(reports_dir, final)
    return run
