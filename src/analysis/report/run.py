"""Execute report notebooks with papermill and publish a run atomically.

A run is built in ``reports/.<run-id>.partial`` and renamed to
``reports/<run-id>`` when every notebook has been executed and rendered;
``reports/latest`` is repointed only when every notebook succeeded, so a
failed or killed run never replaces the last good report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import html
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

import analysis
from analysis.core import paths
from analysis.core.errors import ConfigError, InputError, writing
from analysis.core.fileio import sha256_file
from analysis.core.stages import load_stages
from analysis.present.outputs import read_summary
from analysis.report.data_checks import check_has_deals, check_parameters_against_data
from analysis.report.html import notebook_to_html, page
from analysis.report.index import COVERS, DATA_LINE, NotebookResult, index_html, notebook_title
from analysis.report.plan import (
    PIPELINE_PARAM,
    NotebookJob,
    ReportConfig,
    load_report_config,
    parse_cli_value,
    per_pipeline,
    plan_run,
    report_title,
)
from analysis.report.provenance import data_line, run_line
from analysis.report.runs import FINISHED_OK, INDEX, LATEST, RUN_LOG, finished, finished_ok

COMPARE_TO_PARAM = "compare_to"  # declared by the executive summary
PARTIAL_SUFFIX = ".partial"


class RunInterrupted(BaseException):
    """The run was stopped by a signal; nothing was published."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


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


def _code_version() -> str:
    """``git describe`` of the project when it is a checkout, else the package version."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=paths.PROJ_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
        return f"{analysis.__version__} ({out.stdout.strip()})"
    except (OSError, subprocess.SubprocessError):
        return analysis.__version__


def _manifest_hash(data_dir: Path) -> str:
    path = data_dir / paths.MANIFEST_FILENAME
    return sha256_file(path)[:16] if path.exists() else "none"


class _RunLog:
    """Append-only ``run.log``; safe to call from the worker threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(f"{stamp} {message}\n")


def _kernels_logging_to(log_path: Path) -> type:
    """A kernel manager whose kernels write their stderr to ``log_path``.

    Kernels print start-up and shutdown chatter ("running over TCP without
    encryption", "KeyboardInterrupt caught in kernel") that nobody must act
    on; in the run log it stays findable, and the command's stderr (cron's
    mail) carries only what an operator must fix.
    """
    from jupyter_client.manager import KernelManager

    class _RunLogKernelManager(KernelManager):
        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: object) -> None:
            with log_path.open("ab") as stderr:  # the kernel keeps its own copy
                await super()._async_launch_kernel(kernel_cmd, **{**kw, "stderr": stderr})

    return _RunLogKernelManager


def _execute(
    job: NotebookJob, executed: Path, params: dict, progress: object, log_path: Path
) -> str:
    """Run one notebook with papermill; the error text, or "" when it succeeded."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    try:
        papermill.execute_notebook(
            str(job.path),
            str(executed),
            parameters=params,
            kernel_name="python3",
            progress_bar=progress,
            cwd=str(job.path.parent),
            kernel_manager_class=_kernels_logging_to(log_path),
        )
    except PapermillExecutionError as exc:
        return f"{exc.ename}: {exc.evalue}"
    except Exception as exc:  # a kernel that dies or never starts fails this notebook only
        return f"{type(exc).__name__}: {exc}"
    return ""


def redact_executed_notebook(path: Path) -> None:
    """Redact contacts in the outputs of an executed notebook kept with the run.

    The run folder is what gets shared; the pages redact e-mail addresses and
    phone numbers, so the executed ``.ipynb`` beside them must too (its
    outputs hold the same tables, comments included).
    """
    import nbformat

    from analysis.present.redaction import redact

    def clean(value):
        if isinstance(value, str):
            return redact(value)
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output["text"] = clean(output["text"])
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/") or mime == "application/json":
                    output["data"][mime] = clean(value)
            for key in ("evalue", "traceback"):
                if key in output:
                    output[key] = clean(output[key])
    nbformat.write(nb, path)


def _run_one(
    job: NotebookJob,
    position: int,
    partial: Path,
    final: Path,
    data_dir: Path,
    meta: Mapping[str, str],
    log: _RunLog,
    progress: bool,
    redact: bool,
) -> NotebookResult:
    """Execute, render and summarise one notebook inside the partial run folder."""
    out_dir = partial / job.name
    out_dir.mkdir(exist_ok=True)
    executed = out_dir / f"{job.name}{job.path.suffix}"
    params = job.with_paths(data_dir, out_dir, partial)
    bar = {"desc": job.name, "position": position, "leave": True} if progress else False
    start = time.perf_counter()
    log(f"{job.name}: started")
    error = _execute(job, executed, params, bar, log.path)
    if redact and executed.exists():
        redact_executed_notebook(executed)
    seconds = time.perf_counter() - start
    title = report_title(notebook_title(job.path), job.name)
    html_path = out_dir / f"{job.name}.html"
    footer = (
        f'<a href="../{INDEX}">All reports of this run</a> · Run '
        f"{html.escape(meta['run id'])} · code {html.escape(meta['code version'])}"
    )
    try:
        document = notebook_to_html(
            executed, title, meta=html.escape(meta[COVERS]), footer=footer, redact=redact
        )
    except Exception as exc:
        error = error or f"HTML rendering failed: {type(exc).__name__}: {exc}"
        document = page(title, f"<p>{html.escape(error)}</p>", meta=html.escape(meta["run id"]))
    html_path.write_text(document, encoding="utf-8")
    log(f"{job.name}: {'ok' if not error else 'FAILED ' + error} ({seconds:.1f}s)")
    return NotebookResult(
        name=job.name,
        title=title,
        ok=not error,
        seconds=seconds,
        html=final / job.name / html_path.name,
        executed=final / job.name / executed.name,
        error=error,
        summary=read_summary(out_dir),
        parameters=dict(job.parameters),
    )


def _run_all(jobs: list[NotebookJob], workers: int, run_one) -> list[NotebookResult]:
    """Run notebooks up to ``workers`` at a time; summary notebooks after the others."""
    results: dict[str, NotebookResult] = {}
    phases = [[j for j in jobs if not j.summarises_run], [j for j in jobs if j.summarises_run]]
    pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="notebook")
    try:
        for phase in phases:
            futures = {pool.submit(run_one, job, i): job for i, job in enumerate(phase)}
            for future in as_completed(futures):
                results[futures[future].name] = future.result()
    finally:
        # After a signal, do not wait for running kernels; they exit with us.
        pool.shutdown(wait=False, cancel_futures=True)
    return [results[j.name] for j in jobs]


LOCK_FILE = ".report.lock"


@contextlib.contextmanager
def _run_lock(reports_dir: Path, wait: bool):
    """Hold the reports folder's lock for a whole run (POSIX ``flock``; released on exit).

    Two runs writing at once could pick the same id, delete each other's
    partial folder, or leave ``latest`` on the older run. The lock dies with
    its process, so a killed run never blocks the next.
    """
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: no lock
        yield
        return
    path = reports_dir / LOCK_FILE
    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise InputError(
                f"another report run ({holder}) is writing to this reports folder; wait for it "
                "to finish, or pass --wait to start when it does.",
                file=reports_dir,
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_killed_partials(reports_dir: Path) -> None:
    """Delete the partial folders of killed runs, now that this run holds the lock.

    Every run holds the lock while it writes, so with the lock held no other
    run is going, and any ``.<run-id>.partial`` left is a killed one's.
    Without ``flock`` (not POSIX) only partials idle for six hours are
    removed, by :func:`prune_runs`.
    """
    try:
        import fcntl  # noqa: F401
    except ImportError:  # pragma: no cover - not POSIX
        return
    for partial in reports_dir.glob(f".*{PARTIAL_SUFFIX}"):
        if partial.is_dir() and not partial.is_symlink():
            shutil.rmtree(partial, ignore_errors=True)


def _check_run_id(run_id: str) -> None:
    if not run_id or run_id.startswith(".") or Path(run_id).name != run_id or run_id == LATEST:
        raise InputError(f"run id {run_id!r} must be a plain folder name.", column="--run-id")


def _new_run_folder(reports_dir: Path, run_id: str | None, started) -> tuple[str, Path, Path]:
    """The run id, its final folder and its partial folder (created, empty).

    A default id is the start time; a second run in the same second gets
    ``-2``, ``-3``. A given id that exists, finished or in progress, is refused.
    """
    given = run_id is not None
    base = run_id or started.strftime("%Y%m%dT%H%M%SZ")
    _check_run_id(base)
    for n in range(1, 1000):
        run_id = base if n == 1 else f"{base}-{n}"
        final = reports_dir / run_id
        partial = reports_dir / f".{run_id}{PARTIAL_SUFFIX}"
        if partial.exists() and time.time() - _last_change(partial) > STALE_PARTIAL_SECONDS:
            shutil.rmtree(partial, ignore_errors=True)  # left by a run killed long ago
        if not final.exists() and not partial.exists():
            partial.mkdir(parents=True)
            return run_id, final, partial
        if given:
            raise InputError(
                "a run with this id already exists; choose another --run-id.", file=final
            )
    raise InputError("too many runs started in the same second.", file=reports_dir)


def _point_latest(reports_dir: Path, run_dir: Path) -> None:
    link = reports_dir / LATEST
    tmp = reports_dir / f".{LATEST}.tmp"
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    tmp.symlink_to(run_dir.name, target_is_directory=True)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(tmp, link)


STALE_PARTIAL_SECONDS = 6 * 3600


def _last_change(folder: Path) -> float:
    log = folder / RUN_LOG
    return (log if log.exists() else folder).stat().st_mtime


def prune_runs(reports_dir: str | Path, keep: int) -> list[Path]:
    """Delete all but the ``keep`` newest runs; never the one ``latest`` points to.

    Only folders holding a run's ``run.log`` and ``index.html`` count as runs.
    Leftover ``.<run-id>.partial`` folders of killed runs are deleted too once
    their log has not changed for six hours (a younger one may be running).

    Returns
    -------
    list of Path
        The folders removed.
    """
    if keep < 1:
        raise InputError("--keep must be at least 1.", column="--keep")
    # Absolute: papermill changes the working directory while a notebook runs.
    reports_dir = Path(reports_dir).resolve()
    link = reports_dir / LATEST
    current = link.resolve() if link.is_symlink() else None
    runs = sorted(
        (p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink()),
        key=lambda p: (p / RUN_LOG).stat().st_mtime if (p / RUN_LOG).exists() else 0.0,
        reverse=True,
    )
    # A run folder has both its log and its index; anything else is not ours.
    finished_runs = [p for p in runs if not p.name.startswith(".") and finished(p)]
    # A partial run is stale (killed) when its log has not moved for hours;
    # a younger one may be a run still in progress (overlapping schedules).
    now = time.time()
    stale = [
        p
        for p in runs
        if p.name.startswith(".")
        and p.name.endswith(PARTIAL_SUFFIX)
        and now - _last_change(p) > STALE_PARTIAL_SECONDS
    ]
    removed = [p for p in finished_runs[keep:] if p.resolve() != current] + stale
    for path in removed:
        shutil.rmtree(path)
    return removed


def _pipelines(data_dir: Path) -> tuple[str, ...]:
    """The data's pipelines, its default first (from the stage config ingest kept)."""
    copied = data_dir / paths.STAGES_COPY_FILENAME
    if not copied.exists():
        return ()
    try:
        config = load_stages(copied)
    except ConfigError:
        return ()  # the notebooks report the broken file themselves
    return (config.default, *(p for p in config.pipelines if p != config.default))


def _as_of(report_config: ReportConfig | None, data_dir: Path):
    """A function giving the moment relative periods count back from.

    The plan calls it only for notebooks with relative periods, and only once.
    It gives None for data without any date.
    """

    @functools.cache
    def moment() -> pd.Timestamp | None:
        if report_config is None:
            return None
        if report_config.as_of == "today":
            return pd.Timestamp.now(tz="UTC")
        from analysis.engine.journey import data_cutoff

        # The day the data ends counts as complete (exports are taken during
        # it), as in the notebooks' own default windows (periods.last_full_quarter).
        cutoff = data_cutoff(analysis.connect(data_dir))
        if pd.isna(cutoff):
            # No dates at all: the notebooks keep their own (empty) windows and
            # say on their pages which time-based sections they skipped.
            return None
        return (cutoff + pd.Timedelta(days=1)).normalize()

    return moment


@contextlib.contextmanager
def _signals_interrupt_run():
    """Turn SIGTERM into RunInterrupted while the run is in progress (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise RunInterrupted(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_report(
    notebooks: Sequence[str] | None = None,
    parameters: Mapping[str, object] | None = None,
    run_id: str | None = None,
    reports_dir: str | Path = paths.REPORTS_DIR,
    data_dir: str | Path | None = None,
    notebooks_dir: str | Path = paths.NOTEBOOKS_DIR,
    config_path: str | Path | None = paths.REPORTS_FILE,
    workers: int = 1,
    keep: int | None = None,
    progress: bool = False,
    wait: bool = False,
    compare_to: str | None = None,
) -> ReportRun:
    """Execute report notebooks and publish HTML, CSV tables and summaries.

    Parameters
    ----------
    notebooks : sequence of str, optional
        Notebook names (stems) to run; default every notebook of the config.
    parameters : mapping, optional
        Parameter overrides, passed to every notebook that declares them.
        Strings are read as Python literals where they parse as one.
    run_id : str, optional
        Folder name of the run; default the UTC time ``YYYYmmddTHHMMSSZ``.
    reports_dir, data_dir, notebooks_dir : path
        Where runs are written, which processed data the notebooks read
        (default ``data/processed``), and where notebooks are found.
    config_path : path or None
        The report config (default ``config/reports.yaml``); None runs every
        notebook in ``notebooks_dir`` with its own defaults.
    workers : int
        Notebooks executed at the same time (each in its own kernel).
    keep : int, optional
        After the run, keep only this many newest runs.
    progress : bool
        Show a progress bar per notebook on stderr.
    wait : bool
        When another run is writing to ``reports_dir``, wait for it to end
        instead of stopping (one run at a time holds the folder's lock, so
        runs never collide and ``latest`` only moves forward).
    compare_to : str, optional
        Run id whose findings the executive summary compares with (default:
        the previous successful run); it must be a successful run in
        ``reports_dir``.

    Returns
    -------
    ReportRun
        ``ok`` is False when any notebook failed; its executed notebook is
        kept for debugging and ``reports/latest`` is left unchanged.

    Raises
    ------
    InputError
        Before anything runs: unknown notebook or parameter, a value of the
        wrong type, a bad report config.
    RunInterrupted
        On SIGTERM; the partial run is deleted and ``latest`` is unchanged.
    """
    # Absolute: papermill changes the working directory while a notebook runs.
    reports_dir = Path(reports_dir).resolve()
    # Absolute: notebooks run with their own folder as working directory.
    data_dir = (Path(data_dir) if data_dir is not None else paths.PROCESSED_DIR).resolve()
    if workers < 1:
        raise InputError("--workers must be at least 1.", column="--workers")
    if keep is not None and keep < 1:
        raise InputError("--keep must be at least 1.", column="--keep")
    report_config = load_report_config(config_path) if config_path is not None else None
    overrides = {
        k: parse_cli_value(v) if isinstance(v, str) else v for k, v in (parameters or {}).items()
    }
    if compare_to is not None:
        _check_compare_to(reports_dir, compare_to)
        overrides[COMPARE_TO_PARAM] = compare_to
    jobs = plan_run(
        report_config, notebooks, overrides, Path(notebooks_dir), _as_of(report_config, data_dir)
    )
    if PIPELINE_PARAM not in overrides:
        jobs = per_pipeline(jobs, _pipelines(data_dir))
    check_has_deals(data_dir)
    check_parameters_against_data(jobs, data_dir)
    redact = report_config.redact_contacts if report_config else True
    if run_id is not None:
        _check_run_id(run_id)
    # A full disk or an unwritable folder stops the run with one sentence (exit 1).
    with writing(reports_dir, "no run was published and reports/latest is unchanged"):
        reports_dir.mkdir(parents=True, exist_ok=True)
        with _run_lock(reports_dir, wait):
            return _locked_run(
                jobs, run_id, reports_dir, data_dir, report_config, overrides, workers, keep,
                progress, redact,
            )  # fmt: skip


def _check_compare_to(reports_dir: Path, run_id: str) -> None:
    """Refuse (exit 2) a ``--compare-to`` that names no successful run of this reports folder."""
    folder = reports_dir / run_id
    if Path(run_id).name != run_id or not finished_ok(folder):
        good = sorted(
            p.name for p in reports_dir.glob("*") if finished_ok(p) and not p.is_symlink()
        ) if reports_dir.is_dir() else []  # fmt: skip
        raise InputError(
            f"there is no successful run {run_id!r} in {reports_dir} to compare with; "
            f"successful runs: {', '.join(good) or 'none'}.",
            column="--compare-to",
        )


def _locked_run(
    jobs, run_id, reports_dir, data_dir, report_config, overrides, workers, keep, progress, redact
) -> ReportRun:
    """The run itself, once this process holds the reports folder's lock."""
    _remove_killed_partials(reports_dir)
    started = dt.datetime.now(dt.UTC)
    run_id, final, partial = _new_run_folder(reports_dir, run_id, started)
    log = _RunLog(partial / RUN_LOG)
    meta = {
        "run id": run_id,
        "started (UTC)": started.isoformat(timespec="seconds"),
        "parameters": json.dumps(overrides, sort_keys=True, default=str)
        if overrides
        else "defaults",
        "report config": str(report_config.path) if report_config else "none (notebook defaults)",
        "data": str(data_dir),
        "data manifest sha256": _manifest_hash(data_dir),
        "code version": _code_version(),
    }
    covered = data_line(data_dir)
    meta = {
        COVERS: run_line(covered, started, run_id),
        **({DATA_LINE: covered} if covered else {}),
        **meta,
    }
    log(
        f"run {run_id} started: {len(jobs)} notebook(s), {workers} worker(s), parameters "
        f"{overrides or 'defaults'}"
    )
    if workers > 1 and "OPENBLAS_NUM_THREADS" not in os.environ:
        # Kernels run side by side; each multithreaded BLAS would fight the others
        # for the same cores (many times slower on a small machine).
        os.environ["OPENBLAS_NUM_THREADS"] = "1"
        log("OPENBLAS_NUM_THREADS=1 for the kernels (parallel workers)")
    if os.environ.pop("MPLBACKEND", None) is not None:
        # Under papermill a forced Agg backend silently drops every figure; the
        # kernel's inline backend is already headless.
        log("MPLBACKEND was set; unset it so figures reach the report")

    def run_one(job: NotebookJob, position: int) -> NotebookResult:
        return _run_one(job, position, partial, final, data_dir, meta, log, progress, redact)

    with _signals_interrupt_run():
        try:
            results = _run_all(jobs, workers, run_one)
            meta["finished (UTC)"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
            (partial / INDEX).write_text(index_html(run_id, results, meta), encoding="utf-8")
            log(f"run {run_id} {FINISHED_OK if all(r.ok for r in results) else 'finished: FAILED'}")
            os.replace(partial, final)
        except RunInterrupted as exc:
            log(f"run {run_id} {exc}; nothing published, reports/latest unchanged")
            shutil.rmtree(partial, ignore_errors=True)
            raise
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)  # frees what the failed run took
            raise
        run = ReportRun(run_id, final, tuple(results), overrides)
        if run.ok:
            _point_latest(reports_dir, final)
    if keep is not None:
        prune_runs(reports_dir, keep)
    return run
