"""What a report run will execute: notebooks, their parameters, resolved periods.

A run is planned completely before anything executes, so a typo in a
parameter name, a value of the wrong type or an unknown period name stops
the run with exit code 2 and no half-written report. Parameters come from
three places, later ones winning: the notebook's own defaults, the report
config (``config/reports.yaml``) and ``-p KEY=VALUE`` on the command line.

Command-line values are read as Python literals when they parse as one
(``0.1``, ``["B2B"]``, ``None``) and as plain strings otherwise; they are
never executed. papermill writes every value into the notebook as its
``repr``, so a string stays a string.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from analysis.core import paths
from analysis.core.errors import ConfigError, InputError
from analysis.core.types import CORRECTIONS
from analysis.core.yamlconfig import check_keys, load_yaml_strict

# Parameters the runner fills in for every notebook that declares them.
DATA_DIR_PARAM = "data_dir"
OUTPUT_DIR_PARAM = "output_dir"
RUN_DIR_PARAM = "run_dir"  # declared by summary notebooks, which run after the others
RUNNER_PARAMS = (DATA_DIR_PARAM, OUTPUT_DIR_PARAM, RUN_DIR_PARAM)
PIPELINE_PARAM = "pipeline_name"  # the pipeline a report covers, when the CRM has several
PIPELINE_SEPARATOR = "--"  # report folder of another pipeline: <notebook>--<pipeline>

RELATIVE_PERIODS = (
    "current_quarter",
    "last_full_month",
    "last_full_quarter",
    "previous_quarter",
    "same_quarter_last_year",
)
AS_OF_CHOICES = ("data", "today")


def relative_window(name: str, as_of: pd.Timestamp) -> tuple[str, str]:
    """Start and end (exclusive) dates of a named period counted back from ``as_of``.

    Parameters
    ----------
    name : str
        One of ``RELATIVE_PERIODS``.
    as_of : Timestamp
        The moment the period is counted back from (run date or data cut-off).

    Returns
    -------
    tuple of str
        ISO dates ``(start, end)``; the window is ``start <= t < end``.

    Notes
    -----
    With ``Q`` the last quarter that ended on or before ``as_of``:
    ``last_full_quarter = Q``, ``previous_quarter = Q - 1 quarter`` and
    ``same_quarter_last_year = Q - 4 quarters``; ``current_quarter`` is
    ``Q + 1``, the quarter in progress (the one to forecast).
    ``last_full_month`` is the last calendar month that ended on or before
    ``as_of``.
    """
    day = pd.Timestamp(as_of)
    day = (day.tz_convert(None) if day.tzinfo else day).normalize()
    if name == "last_full_month":
        end = day.to_period("M").start_time
        start = end - pd.DateOffset(months=1)
    else:
        shift = {
            "current_quarter": -1,
            "last_full_quarter": 0,
            "previous_quarter": 1,
            "same_quarter_last_year": 4,
        }
        if name not in shift:
            raise ConfigError(
                f"unknown period {name!r}; use one of {', '.join(RELATIVE_PERIODS)}.",
                file=paths.REPORTS_FILE,
                column="periods",
            )
        end = day.to_period("Q").start_time - pd.DateOffset(months=3 * shift[name])
        start = end - pd.DateOffset(months=3)
    return start.date().isoformat(), end.date().isoformat()


@dataclass(frozen=True)
class NotebookEntry:
    """One notebook as the report config lists it."""

    name: str
    parameters: Mapping[str, object] = field(default_factory=dict)
    periods: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReportConfig:
    """The parsed report config: notebooks in run order and shared parameters."""

    notebooks: tuple[NotebookEntry, ...]
    parameters: Mapping[str, object] = field(default_factory=dict)
    as_of: str = "data"
    path: Path | None = None
    redact_contacts: bool = True  # e-mail addresses and phone numbers in the HTML


def load_report_config(path: str | Path | None = None) -> ReportConfig:
    """Read ``config/reports.yaml`` (or ``path``), rejecting unknown keys and periods.

    Raises
    ------
    ConfigError
        Naming the file and the key at fault.
    """
    path = Path(path) if path is not None else paths.REPORTS_FILE
    if not path.exists():
        raise ConfigError("report config not found.", file=path)
    doc = load_yaml_strict(path) or {}
    if not isinstance(doc, Mapping):
        raise ConfigError("the report config must be a mapping.", file=path)
    check_keys(doc, ("as_of", "parameters", "notebooks", "redact_contacts"), "", path)
    redact = doc.get("redact_contacts", True)
    if not isinstance(redact, bool):
        raise ConfigError(
            f"redact_contacts must be true or false, got {redact!r}.",
            file=path,
            column="redact_contacts",
        )
    as_of = doc.get("as_of", "data")
    if as_of not in AS_OF_CHOICES:
        raise ConfigError(
            f"as_of must be one of {', '.join(AS_OF_CHOICES)}, got {as_of!r}.",
            file=path,
            column="as_of",
        )
    entries = []
    for i, item in enumerate(doc.get("notebooks") or []):
        where = f"notebooks[{i}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, Mapping) or "name" not in item:
            raise ConfigError("each notebook needs a name.", file=path, column=where)
        check_keys(item, ("name", "parameters", "periods"), where, path)
        periods = dict(item.get("periods") or {})
        for prefix, period in periods.items():
            if period not in RELATIVE_PERIODS:
                raise ConfigError(
                    f"unknown period {period!r}; use one of {', '.join(RELATIVE_PERIODS)}.",
                    file=path,
                    column=f"{where}.periods.{prefix}",
                )
        entries.append(
            NotebookEntry(str(item["name"]), dict(item.get("parameters") or {}), periods)
        )
    if not entries:
        raise ConfigError("the report config lists no notebooks.", file=path, column="notebooks")
    return ReportConfig(tuple(entries), dict(doc.get("parameters") or {}), as_of, path, redact)


@dataclass(frozen=True)
class NotebookJob:
    """A notebook ready to run: where it is and the parameters it will get."""

    name: str
    path: Path
    parameters: Mapping[str, object]
    declared_runner_params: frozenset[str] = frozenset()

    @property
    def summarises_run(self) -> bool:
        """Declares ``run_dir``: reads the other reports, so runs after them."""
        return RUN_DIR_PARAM in self.declared_runner_params

    def with_paths(self, data_dir: Path, output_dir: Path, run_dir: Path) -> dict[str, object]:
        """The parameters plus the runner's paths, for those the notebook declares."""
        params = dict(self.parameters)
        runner_paths = {
            DATA_DIR_PARAM: data_dir,
            OUTPUT_DIR_PARAM: output_dir,
            RUN_DIR_PARAM: run_dir,
        }
        for key, value in runner_paths.items():
            if key in self.declared_runner_params:
                params[key] = str(value)
        return params


def parse_cli_value(text: str) -> object:
    """A command-line value as a Python literal when it is one, else the plain string."""
    try:
        return ast.literal_eval(text.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return text


def _declared(path: Path) -> dict[str, object]:
    """Each declared parameter of a notebook with its default value."""
    import papermill

    found = {}
    for name, info in papermill.inspect_notebook(str(path)).items():
        try:
            found[name] = ast.literal_eval(str(info.get("default")))
        except (ValueError, SyntaxError):
            found[name] = None  # not a literal: accept any value
    return found


DATE_SUFFIXES = ("_start", "_end")


def _checked_date(notebook: str, name: str, value: object) -> object:
    """A period bound must be a date string (``2026-04-01``), not a number."""
    try:
        ok = isinstance(value, str) and not pd.isna(pd.Timestamp(value))
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise InputError(
            f"notebook {notebook}: parameter {name!r} expects a date like '2026-04-01', "
            f"got {value!r}.",
            column="-p",
        )
    return value


def _check_windows(notebook: str, params: Mapping[str, object]) -> None:
    """Each ``<prefix>_start`` must come before its ``<prefix>_end``."""
    for key, start in params.items():
        if not key.endswith("_start") or start is None:
            continue
        end = params.get(key[: -len("_start")] + "_end")
        if end is not None and pd.Timestamp(start) >= pd.Timestamp(end):
            raise InputError(
                f"notebook {notebook}: {key} {start!r} is not before its end {end!r}.",
                column="-p",
            )


# Parameters that are proportions: outside (0, 1) every notebook would fail later.
OPEN_UNIT_INTERVAL = ("alpha", "minimum_effect")


def _in_range(notebook: str, name: str, value: object) -> object:
    """Values every notebook would refuse later, refused before anything runs."""
    if name in OPEN_UNIT_INTERVAL and value is not None and not 0 < value < 1:
        raise InputError(
            f"notebook {notebook}: parameter {name!r} must lie between 0 and 1 "
            f"(e.g. 0.05), got {value!r}.",
            column="-p",
        )
    if name == "correction" and value not in CORRECTIONS:
        raise InputError(
            f"notebook {notebook}: parameter 'correction' must be one of "
            f"{', '.join(CORRECTIONS)}, got {value!r}.",
            column="-p",
        )
    return value


def _checked(notebook: str, name: str, value: object, default: object) -> object:
    """``value`` converted to the type of the notebook's default and range-checked, or InputError."""
    return _in_range(notebook, name, _typed(notebook, name, value, default))


def _typed(notebook: str, name: str, value: object, default: object) -> object:
    """``value`` converted to the type of the notebook's default, or InputError."""
    if name.endswith(DATE_SUFFIXES) and default is None and value is not None:
        return _checked_date(notebook, name, value)
    if isinstance(value, str) and isinstance(default, bool):
        lowered = value.strip().lower()
        if lowered in {"true", "false"}:
            return lowered == "true"
    if default is None or value is None:
        return value
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int | float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and isinstance(default, float):
            value = float(value)
        elif ok and isinstance(value, float) and not value.is_integer():
            ok = False
        elif ok:
            value = int(value)
    else:
        ok = isinstance(value, type(default))
    if not ok:
        raise InputError(
            f"notebook {notebook}: parameter {name!r} expects {type(default).__name__} "
            f"(default {default!r}), got {value!r}.",
            column="-p",
        )
    return value


def _discover_notebooks(notebooks_dir: Path = paths.NOTEBOOKS_DIR) -> list[Path]:
    """Report notebooks in file-name order."""
    return sorted(p for p in notebooks_dir.glob("*.ipynb") if not p.name.startswith("."))


def plan_run(
    report_config: ReportConfig | None,
    only: Sequence[str] | None,
    overrides: Mapping[str, object],
    notebooks_dir: Path,
    as_of: pd.Timestamp | Callable[[], pd.Timestamp] | None,
) -> list[NotebookJob]:
    """Resolve notebooks and parameters for a run, checking every name and type.

    Parameters
    ----------
    report_config : ReportConfig or None
        The report config; None runs every notebook in ``notebooks_dir`` with
        its defaults.
    only : sequence of str, optional
        Restrict the run to these notebook names.
    overrides : mapping
        Command-line parameters; each must be declared by at least one
        selected notebook and goes to every notebook that declares it.
    notebooks_dir : Path
        Where the notebooks are.
    as_of : Timestamp, callable or None
        The moment relative periods count back from, or a function giving it
        (called only when a selected notebook has relative periods, so that
        names are checked before any data is opened). None (data without any
        date) leaves those periods at the notebook's defaults.

    Returns
    -------
    list of NotebookJob
        Summary notebooks (declaring ``run_dir``) last.

    Raises
    ------
    InputError
        Unknown notebook or parameter, or a value of the wrong type.
    """
    reserved = sorted(set(overrides) & set(RUNNER_PARAMS))
    if reserved:
        raise InputError(
            f"{reserved[0]!r} is set by the runner; use --data-dir or --reports-dir instead.",
            column="-p",
        )
    available = {p.stem: p for p in _discover_notebooks(notebooks_dir)}
    if report_config is None:
        entries = [NotebookEntry(name) for name in available]
        shared: Mapping[str, object] = {}
    else:
        entries = list(report_config.notebooks)
        shared = report_config.parameters
    if only:
        wanted = [Path(n).stem for n in only]
        unknown = [n for n in wanted if n not in {e.name for e in entries}]
        if unknown:
            raise InputError(
                f"no notebook named {unknown[0]!r} in the run; available: "
                f"{', '.join(e.name for e in entries) or 'none'}.",
                file=notebooks_dir,
            )
        entries = [e for e in entries if e.name in wanted]
    jobs, known = [], set()
    for entry in entries:
        if entry.name not in available:
            raise InputError(f"no notebook named {entry.name!r}.", file=notebooks_dir)
        path = available[entry.name]
        declared = _declared(path)
        known.update(declared)
        params: dict[str, object] = {}
        for key, value in shared.items():
            if key in declared:
                params[key] = value
        for prefix, period in entry.periods.items():
            for part in ("start", "end"):
                if f"{prefix}_{part}" not in declared:
                    raise InputError(
                        f"notebook {entry.name} declares no parameter {prefix}_{part} "
                        f"for the period {prefix!r}.",
                        file=report_config.path if report_config else None,
                        column="periods",
                    )
            moment = as_of() if callable(as_of) else as_of
            if moment is None or pd.isna(moment):
                continue  # data without dates: the notebook's own windows, which it reports empty
            params[f"{prefix}_start"], params[f"{prefix}_end"] = relative_window(period, moment)
        for key, value in entry.parameters.items():
            if key not in declared:
                raise InputError(
                    f"notebook {entry.name} declares no parameter {key!r}; "
                    f"it declares: {', '.join(declared)}.",
                    file=report_config.path if report_config else None,
                    column=key,
                )
            params[key] = value
        for key, value in overrides.items():
            if key in declared:
                params[key] = value
        checked = {k: _checked(entry.name, k, v, declared[k]) for k, v in params.items()}
        _check_windows(entry.name, checked)
        runner = frozenset(k for k in RUNNER_PARAMS if k in declared)
        jobs.append(NotebookJob(entry.name, path, checked, runner))
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise InputError(
            f"no selected notebook declares a parameter {unknown[0]!r}; "
            f"declared parameters: {', '.join(sorted(known))}.",
            column="-p",
        )
    if not jobs:
        raise InputError("no notebooks to run.", file=notebooks_dir)
    return sorted(jobs, key=lambda j: j.summarises_run)


def per_pipeline(jobs: Sequence[NotebookJob], pipelines: Sequence[str]) -> list[NotebookJob]:
    """Each report once per pipeline, when the data has several.

    Stages, conversion and even win rates differ between pipelines (new
    business, renewals), so a report covers one. The first pipeline (the
    default) keeps the notebook's name; each other runs as
    ``<notebook>--<pipeline>`` with ``pipeline_name`` set. Notebooks that do
    not declare ``pipeline_name`` (the executive summary) run once.
    """
    if len(pipelines) < 2:
        return list(jobs)
    out: list[NotebookJob] = []
    for job in jobs:
        if job.summarises_run or PIPELINE_PARAM not in _declared(job.path):
            out.append(job)
            continue
        for i, name in enumerate(pipelines):
            params = {**job.parameters, PIPELINE_PARAM: name}
            label = job.name if i == 0 else f"{job.name}{PIPELINE_SEPARATOR}{name}"
            out.append(replace(job, name=label, parameters=params))
    return out


def report_title(title: str, name: str) -> str:
    """A report's title, naming its pipeline when it is one of several."""
    _, sep, pipeline = name.partition(PIPELINE_SEPARATOR)
    return f"{title} — pipeline {pipeline}" if sep else title
