"""Since the last review: what changed between this run and an earlier one.

Each report leaves its headline figures in ``summary.json``; a run compares
them with the previous successful run in the same reports folder (or the
one named by ``--compare-to``) and says what changed: bottlenecks that
appeared or cleared, experiments whose verdict changed, reps newly flagged
or no longer flagged, and the scorecard's reviewed period. Whether a figure
moved beyond noise is judged where the figure is computed (the scorecard
compares this period with the last; the pages test their own changes); this
module only sets two runs' conclusions side by side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.core import paths
from analysis.core.errors import InputError
from analysis.present.formatting import format_money
from analysis.present.outputs import read_summary
from analysis.present.redaction import escape_markdown
from analysis.report.outlook import FORECAST_KEY, FORECAST_REPORT
from analysis.report.runs import LATEST, RUN_LOG, finished_ok

BOTTLENECKS, EXPERIMENTS, TEAM = "01_pipeline_bottlenecks", "02_ab_tests", "04_team_performance"
SUMMARY_NOTEBOOK = "00_executive_summary"
MOVED = 0.01  # a forecast that changed by this share or more has moved
SCORECARD_KEY, PERIOD_KEY = "scorecard", "period"
WHAT, BEFORE, NOW = "what", "before", "now"


def previous_run(run_dir: str | Path | None, compare_to: str | None = None) -> Path | None:
    """The run to compare ``run_dir`` with: ``compare_to``, else the last successful one before it.

    Parameters
    ----------
    run_dir : path or None
        This run's folder (while a run is in progress, its partial folder);
        None: ``reports/latest``.
    compare_to : str, optional
        A run id (a folder beside ``run_dir``) or a path to a run folder.

    Returns
    -------
    Path or None
        None when no earlier run finished successfully.

    Raises
    ------
    InputError
        When ``compare_to`` names no finished run.
    """
    here = Path(run_dir or paths.REPORTS_DIR / LATEST).resolve()
    reports = here.parent
    if compare_to:
        named = Path(compare_to)
        folder = named if named.is_absolute() else reports / str(compare_to)
        if not finished_ok(folder):
            raise InputError(
                f"there is no successful run {compare_to!r} in {reports} to compare with.",
                column="--compare-to",
            )
        return folder.resolve()
    if not reports.is_dir():
        return None  # no reports folder yet: nothing ran before
    mine = (here / RUN_LOG).stat().st_mtime if (here / RUN_LOG).exists() else float("inf")
    earlier = [
        p
        for p in reports.iterdir()
        if p.is_dir()
        and not p.is_symlink()
        and not p.name.startswith(".")
        and p.resolve() != here
        and finished_ok(p)
        and (p / RUN_LOG).stat().st_mtime < mine
    ]
    return max(earlier, key=lambda p: (p / RUN_LOG).stat().st_mtime, default=None)


@dataclass(frozen=True)
class ReviewChanges:
    """What changed since an earlier run.

    Attributes
    ----------
    previous : Path or None
        The run compared with; None on a first run.
    table : pandas.DataFrame
        ``what, before, now``: one row per change found.
    sentences : tuple of str
        The changes in words, most important first.
    """

    previous: Path | None
    table: pd.DataFrame
    sentences: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The changes (a copy)."""
        return self.table.copy()

    def as_markdown(self) -> str:
        """The sentences as bullets, escaped: names in them come from the CRM."""
        return "\n".join(f"- {escape_markdown(s)}" for s in self.sentences)


def _summaries(run: Path, stem: str) -> dict[str, dict]:
    """``summary.json`` of a report and its per-pipeline copies (``stem--pipeline``)."""
    found = {}
    for folder in sorted(run.glob(f"{stem}*")):
        if folder.is_dir() and (folder.name == stem or folder.name.startswith(f"{stem}--")):
            summary = read_summary(folder)
            if summary is not None:
                pipeline = folder.name[len(stem) + 2 :]
                found[pipeline] = summary
    return found


def _where(pipeline: str) -> str:
    return f" (pipeline {pipeline})" if pipeline else ""


def _keyed(
    run: Path, stem: str, key: str, pick: Callable[[dict], tuple | None]
) -> dict[tuple, dict]:
    """Records of ``summary[key]`` in every pipeline's report, keyed by ``pick`` (None: skip)."""
    out = {}
    for pipeline, summary in _summaries(run, stem).items():
        for record in summary.get(key) or []:
            k = pick(record)
            if k is not None:
                out[(pipeline, *k)] = record
    return out


def _percent(value: object) -> str:
    return "n/a" if value is None else f"{100 * float(value):.0f}%"


def _bottlenecks(before: Path, now: Path) -> list[tuple[str, str, str, str]]:
    def drop(r: dict) -> tuple | None:
        return (
            (r.get("segment"), r.get("stage"), r.get("next_stage"))
            if r.get("significant_drop")
            else None
        )

    old, new = (
        _keyed(before, BOTTLENECKS, "bottlenecks", drop),
        _keyed(now, BOTTLENECKS, "bottlenecks", drop),
    )
    rows = []
    for key in sorted(set(new) - set(old), key=str):
        (pipeline, segment, stage, nxt), r = key, new[key]
        name = f"{segment} {stage} → {nxt}{_where(pipeline)}"
        rows.append((
            "New bottleneck", "none", f"{name}: {_percent(r.get('conversion_current'))}",
            f"New bottleneck: {name} converts {_percent(r.get('conversion_current'))} against "
            f"{_percent(r.get('conversion_baseline'))} before.",
        ))  # fmt: skip
    for key in sorted(set(old) - set(new), key=str):
        pipeline, segment, stage, nxt = key
        name = f"{segment} {stage} → {nxt}{_where(pipeline)}"
        rows.append((
            "Bottleneck cleared", name, "no significant drop",
            f"No longer a bottleneck: {name} (a significant drop at the last review).",
        ))  # fmt: skip
    return rows


def _verdicts(before: Path, now: Path) -> list[tuple[str, str, str, str]]:
    def experiment(r: dict) -> tuple | None:
        return (r.get("experiment_id"),) if r.get("experiment_id") else None

    old = _keyed(before, EXPERIMENTS, "verdicts", experiment)
    new = _keyed(now, EXPERIMENTS, "verdicts", experiment)
    rows = []
    for key in sorted(new, key=str):
        pipeline, name = key[0], key[1]
        was = old.get(key, {}).get("decision") if key in old else None
        is_now = new[key].get("decision")
        if was == is_now:
            continue
        label = f"{name}{_where(pipeline)}"
        if was is None:
            text = f"New experiment {label}: {is_now}."
        else:
            text = f"Experiment {label} changed its verdict from '{was}' to '{is_now}'."
        rows.append(("Experiment verdict", was or "not running", f"{label}: {is_now}", text))
    return rows


def _reps(before: Path, now: Path) -> list[tuple[str, str, str, str]]:
    def flag(r: dict) -> tuple | None:
        return (str(r.get("owner_id")), r.get("stage"))

    old, new = _keyed(before, TEAM, "flagged", flag), _keyed(now, TEAM, "flagged", flag)
    rows = []
    for key in sorted(set(new) - set(old), key=str):
        pipeline, rep, stage = key
        rows.append((
            "Rep flagged", "within limits", f"{rep} at {stage}",
            f"Rep {rep} is newly flagged at {stage}{_where(pipeline)}: below the team's limits.",
        ))  # fmt: skip
    for key in sorted(set(old) - set(new), key=str):
        pipeline, rep, stage = key
        rows.append((
            "Rep back within limits", f"{rep} at {stage}", "within limits",
            f"Rep {rep} is no longer flagged at {stage}{_where(pipeline)}.",
        ))  # fmt: skip
    return rows


def _forecasts(before: Path, now: Path) -> list[tuple[str, str, str, str]]:
    """The forecast of the same window when it moved by 1% or more (or a new window)."""
    old, new = _summaries(before, FORECAST_REPORT), _summaries(now, FORECAST_REPORT)
    rows = []
    for pipeline, summary in sorted(new.items()):
        was = (old.get(pipeline) or {}).get(FORECAST_KEY) or {}
        is_now = summary.get(FORECAST_KEY) or {}
        if is_now.get("mean") is None or was.get("mean") is None:
            continue
        window = " to ".join(is_now.get("window") or [])
        if was.get("window") != is_now.get("window"):
            text = f"The forecast now covers {window}{_where(pipeline)}."
            rows.append(("Forecast window", " to ".join(was.get("window") or []), window, text))
            continue
        a, b = float(was["mean"]), float(is_now["mean"])
        if abs(b - a) <= MOVED * abs(a):  # also: nothing moved from nothing
            continue
        change = f" ({(b - a) / abs(a):+.0%})" if a else ""
        text = (
            f"The forecast for {window}{_where(pipeline)} moved from {format_money(a)} to "
            f"{format_money(b)}{change} since the last review."
        )
        rows.append(("Forecast", format_money(a), format_money(b), text))
    return rows


def since_last_review(
    run_dir: str | Path | None, previous: str | Path | None, period: str | None = None
) -> ReviewChanges:
    """What changed between the run in ``run_dir`` and ``previous``.

    Parameters
    ----------
    run_dir : path or None
        This run (its reports must have written their ``summary.json``);
        None: ``reports/latest``.
    previous : path or None
        The earlier run (:func:`previous_run`); None says there is nothing to compare.
    period : str, optional
        The period this run reviews ("Q2 2026"), compared with the period
        the earlier run's executive summary recorded.

    Returns
    -------
    ReviewChanges
    """
    columns = [WHAT, BEFORE, NOW]
    if previous is None:
        sentence = "This is the first run here: there is no earlier review to compare with."
        return ReviewChanges(None, pd.DataFrame(columns=columns), (sentence,))
    before, now = Path(previous), Path(run_dir or paths.REPORTS_DIR / LATEST)
    rows: list[tuple[str, str, str, str]] = []
    old_period = (read_summary(before / SUMMARY_NOTEBOOK) or {}).get(PERIOD_KEY)
    if period and old_period and old_period != period:
        rows.append(("Period reviewed", old_period, period,
                     f"The last review ({before.name}) covered {old_period}; this one covers "
                     f"{period}."))  # fmt: skip
    for compare in (_bottlenecks, _verdicts, _reps, _forecasts):
        rows += compare(before, now)
    table = pd.DataFrame([r[:3] for r in rows], columns=columns)
    sentences = [r[3] for r in rows]
    if len(sentences) == (1 if rows and rows[0][0] == "Period reviewed" else 0):
        sentences.append(
            f"Since the last review ({before.name}) no bottleneck appeared or cleared, no "
            "experiment changed its verdict, no rep crossed the team's limits and the forecast "
            "did not move."
        )
    return ReviewChanges(before, table, tuple(sentences))
