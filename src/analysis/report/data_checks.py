"""Checks of a run against its data, before any notebook runs.

:mod:`analysis.report.plan` checks parameter names, types and ranges without
opening the data. These need it: an empty deals table, a segment no deal
carries, or a stage the pipeline does not have would fail, or silently empty,
every notebook that reads it, so the run stops first with one sentence.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import analysis
from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.engine.workspace import Workspace
from analysis.report.plan import PIPELINE_PARAM, NotebookJob

SEGMENTS_PARAM = "segments"
OPEN_STAGE_PARAMS = ("qualified_stage",)  # an open stage: deals move on from it
ANY_STAGE_PARAMS = ("conversion_stage",)  # any stage, won included


def check_has_deals(data_dir: Path) -> None:
    """Stop before any notebook runs when the deals table is there but empty.

    A folder without processed data is left to the notebooks, which say so.
    """
    try:
        ws = analysis.connect(data_dir)
    except InputError:
        return
    n_deals = int(ws.execute(ws.deals.count()))
    if n_deals == 0:
        raise InputError(
            "the deals table has no rows, so there is nothing to report on; check the "
            "export and the ingest quarantine (manifest.json lists what was set aside).",
            file=data_dir,
        )


def check_parameters_against_data(jobs: Sequence[NotebookJob], data_dir: Path) -> None:
    """Refuse a pipeline, segment or stage parameter the data does not have.

    Raises
    ------
    InputError
        Naming the notebook, the parameter, the value and the values the data
        has; ``column`` is ``-p``.
    """
    workspaces: dict[object, Workspace | None] = {}
    segments: dict[object, list[str]] = {}
    for job in jobs:
        params = job.parameters
        pipeline = params.get(PIPELINE_PARAM)
        if pipeline not in workspaces:
            workspaces[pipeline] = _open(data_dir, pipeline, job.name)
        ws = workspaces[pipeline]
        if ws is None:
            return  # no processed data: the notebooks say so themselves
        wanted = params.get(SEGMENTS_PARAM)
        if wanted:
            if pipeline not in segments:
                segments[pipeline] = _distinct(ws, c.SEGMENT)
            _check_values(job.name, SEGMENTS_PARAM, wanted, segments[pipeline], "segment")
        for name in (*OPEN_STAGE_PARAMS, *ANY_STAGE_PARAMS):
            value = params.get(name)
            if value is not None:
                allowed = (
                    ws.pipeline.stages if name in OPEN_STAGE_PARAMS else ws.pipeline.all_stages
                )
                _check_stage(job.name, name, value, allowed, ws)


def _open(data_dir: Path, pipeline: object, notebook: str) -> Workspace | None:
    try:
        ws = analysis.connect(data_dir)
    except InputError:
        return None
    try:
        return ws.for_pipeline(None if pipeline is None else str(pipeline))
    except InputError as exc:
        raise InputError(f"notebook {notebook}: {exc.message}", column="-p") from None


def _distinct(ws: Workspace, column: str) -> list[str]:
    deals = ws.deals
    if column not in deals.columns:
        return []
    values = ws.execute(deals.select(column).distinct())[column]
    return sorted(str(v) for v in values.dropna())


def _check_values(notebook: str, name: str, wanted: object, present: list[str], what: str) -> None:
    if isinstance(wanted, str):
        values = [wanted]
    elif isinstance(wanted, list | tuple):
        values = list(wanted)
    else:
        raise InputError(
            f"notebook {notebook}: parameter {name!r} expects a list of {what}s such as "
            f"{present[:1] or ['B2B']!r}, got {wanted!r}.",
            column="-p",
        )
    missing = [v for v in values if str(v) not in present]
    if missing:
        raise InputError(
            f"notebook {notebook}: parameter {name!r} names {what} {missing[0]!r}, which no "
            f"deal has; the data's {what}s are {', '.join(present) or 'none'}.",
            column="-p",
        )


def _check_stage(
    notebook: str, name: str, value: object, allowed: Sequence[str], ws: Workspace
) -> None:
    if value in allowed:
        return
    canonical = ws.pipeline.normalise(value)
    hint = f" (did you mean {canonical!r}?)" if canonical in allowed else ""
    raise InputError(
        f"notebook {notebook}: parameter {name!r} is {value!r}, not a stage of pipeline "
        f"{ws.pipeline.name!r}{hint}; choose from {', '.join(allowed)}.",
        column="-p",
    )
