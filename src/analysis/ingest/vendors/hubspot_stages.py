"""HubSpot pipelines and stage entries: the pipelines file and the "Date entered" columns.

A HubSpot portal can have several deal pipelines, each with its own stages;
a stage has an internal id (``appointmentscheduled``, ``98765101``), a label
in the portal's language, a display order and metadata ``isClosed`` and
``probability`` (a closed stage with probability 1 is closed won). The CRM
Pipelines API returns them; ``pipelines.json`` is that response as it
comes, ``pipelines.csv`` the same flattened to one row per stage.

Deals exports carry one "Date entered" property per stage: internal name
``hs_v2_date_entered_<stage id>`` (label ``Date entered "<stage> (<pipeline>)"``)
and, in older portals, ``hs_date_entered_<stage id>`` (label
``Date entered '<stage> (<pipeline>)'``). Each holds when the deal last
entered that stage, so a stage a deal skipped has no date, and a stage
entered twice keeps only the later entry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import Pipeline, normalise_label
from analysis.ingest.vendors.adapted import (
    ExportFiles,
    column,
    json_file,
    read_json,
    require,
    truthy,
)
from analysis.ingest.vendors.stages import (
    StageRow,
    pipeline_from_stages,
    stage_rows_from_history,
    stage_slug,
)

PIPELINES = "pipelines"
PIPELINE_COLUMNS = (
    "pipeline_id",
    "pipeline_label",
    "pipeline_display_order",
    "stage_id",
    "stage_label",
    "stage_display_order",
    "is_closed",
    "probability",
    "archived",
)
"""Columns of ``pipelines.csv`` (one row per stage); ids, orders and archived are optional."""

_NAME = re.compile(r"^hs_(v2_)?date_entered_(.+)$", re.IGNORECASE)
_LABEL = re.compile(r"^date entered\s+([\"'])(.+)\1$", re.IGNORECASE)


@dataclass(frozen=True)
class EnteredColumn:
    """One "Date entered" column of a deals export.

    Attributes
    ----------
    header : str
        The column as exported.
    stage : str
        The stage it dates: its id (API names) or its label (UI labels).
    pipeline : str or None
        The pipeline label the UI label names; None for API names.
    v2 : bool
        ``hs_v2_date_entered_*`` (double quotes in the label), the current
        property; the older ``hs_date_entered_*`` is used only where no v2
        column dates the same stage.
    """

    header: str
    stage: str
    pipeline: str | None
    v2: bool


def split_stage_label(text: str, pipeline_labels: list[str]) -> tuple[str, str | None]:
    """``"Angebot (Geschäftskunden)"`` as (stage label, pipeline label).

    A known pipeline label at the end wins (stage labels may hold brackets
    themselves); else the last bracketed part is the pipeline.
    """
    for label in sorted(pipeline_labels, key=len, reverse=True):
        tail = f" ({label})"
        if normalise_label(text).endswith(normalise_label(tail)) and len(text) > len(tail):
            return text[: -len(tail)].strip(), label
    found = re.fullmatch(r"(.+)\s+\(([^()]+)\)", text.strip())
    return (found.group(1).strip(), found.group(2).strip()) if found else (text.strip(), None)


def entered_columns(headers, pipeline_labels: list[str]) -> list[EnteredColumn]:
    """The "Date entered" columns among ``headers``, one per stage (v2 preferred)."""
    found: dict[tuple[str, str | None], EnteredColumn] = {}
    for header in map(str, headers):
        name, label = _NAME.match(header.strip()), _LABEL.match(header.strip())
        if name and name.group(2).lower() != "current_stage":
            col = EnteredColumn(header, name.group(2), None, bool(name.group(1)))
        elif label:
            stage, pipeline = split_stage_label(label.group(2), pipeline_labels)
            col = EnteredColumn(header, stage, pipeline, label.group(1) == '"')
        else:
            continue
        key = (normalise_label(col.stage), col.pipeline and normalise_label(col.pipeline))
        if key not in found or (col.v2 and not found[key].v2):
            found[key] = col
    return list(found.values())


# --- the pipelines file -------------------------------------------------------------


def read_pipelines(files: ExportFiles) -> pd.DataFrame | None:
    """The pipelines file as one row per stage in :data:`PIPELINE_COLUMNS`, or None.

    ``closed`` and ``won`` columns are added: won is closed with probability 1.

    Raises
    ------
    InputError
        When the file cannot be read or lacks a pipeline label, stage label,
        ``is_closed`` or ``probability``.
    """
    path = json_file(files.folder, ("pipelines", "dealpipelines"))
    if path is not None:
        frame = _flatten(path)
        files.used[PIPELINES] = path
    else:
        frame = files.read(PIPELINES, "dealpipelines")
        if frame is None:
            return None
        path = files.used[PIPELINES]
    require(
        frame,
        ("pipeline_label", "stage_label", "is_closed", "probability"),
        file=path,
        what="the HubSpot pipelines file",
        advice="Save the CRM Pipelines API response as pipelines.json, or give one row per "
        f"stage with the columns {', '.join(PIPELINE_COLUMNS)}.",
        find=_pipeline_column,
    )
    cols = {name: _pipeline_column(frame, name) for name in PIPELINE_COLUMNS}
    out = pd.DataFrame(index=frame.index)
    for name, found in cols.items():
        out[name] = frame[found] if found else pd.NA
    out["pipeline_id"] = out["pipeline_id"].fillna(out["pipeline_label"])
    for order in ("pipeline_display_order", "stage_display_order"):
        out[order] = pd.to_numeric(out[order], errors="coerce").fillna(
            pd.Series(np.arange(len(out), dtype=float), index=out.index)
        )
    out["closed"] = truthy(out["is_closed"]).fillna(False).astype(bool)
    probability = pd.to_numeric(out["probability"], errors="coerce")
    out["won"] = out["closed"] & (probability >= 1.0).fillna(False)
    out["archived"] = truthy(out["archived"]).fillna(False).astype(bool)
    return out.astype({"pipeline_id": "str", "pipeline_label": "str", "stage_label": "str"})


def _pipeline_column(frame: pd.DataFrame, name: str) -> str | None:
    return column(frame, name, name.replace("_", " "))


def _flatten(path: Path) -> pd.DataFrame:
    """The pipelines API response (``{"results": [...]}`` or a list) as one row per stage."""
    data = read_json(path, "pipelines file")
    pipelines = data.get("results", []) if isinstance(data, dict) else data
    rows = []
    for p in pipelines if isinstance(pipelines, list) else []:
        stages = p.get("stages", []) if isinstance(p, dict) else []
        for s in stages if isinstance(stages, list) else []:
            if not isinstance(s, dict):
                continue
            meta = s.get("metadata") if isinstance(s.get("metadata"), dict) else {}
            rows.append(
                {
                    "pipeline_id": p.get("id", p.get("pipelineId")),
                    "pipeline_label": p.get("label"),
                    "pipeline_display_order": p.get("displayOrder"),
                    "stage_id": s.get("id", s.get("stageId")),
                    "stage_label": s.get("label"),
                    "stage_display_order": s.get("displayOrder"),
                    "is_closed": meta.get("isClosed"),
                    "probability": meta.get("probability"),
                    "archived": s.get("archived", not s.get("active", True)),
                }
            )
    if not rows:
        raise InputError(
            "the pipelines file holds no pipeline with stages; save the response of the CRM "
            "Pipelines API for deals (its results, each with stages) as it comes.",
            file=path,
        )
    return pd.DataFrame(rows).astype("str").replace({"None": pd.NA})


# --- pipelines ----------------------------------------------------------------------


@dataclass(frozen=True)
class Pipelines:
    """The export's pipelines and how to find a deal's or a stage's.

    Attributes
    ----------
    pipelines : tuple of Pipeline
        One per HubSpot pipeline, the first (lowest display order, or most
        deals) the default.
    names : dict of str to str
        Normalised pipeline id or label to the canonical pipeline name.
    flags : dict of (str, str) to (bool, bool)
        (canonical pipeline name, normalised stage id or label) to (closed,
        won), from the metadata: a label may be closed in one pipeline and
        open in another.
    """

    pipelines: tuple[Pipeline, ...]
    names: dict[str, str]
    flags: dict[tuple[str, str], tuple[bool, bool]]


def _unique_name(label: str, taken: dict[str, str], key: str) -> str:
    name = stage_slug(label)
    return name if name not in taken.values() else f"{name}_{stage_slug(key)}"


def from_metadata(meta: pd.DataFrame, used: set[str]) -> Pipelines:
    """Pipelines from the pipelines file; archived stages no deal uses are left out.

    ``used`` holds the normalised stage ids and labels the deals and their
    Date-entered columns use.
    """
    meta = meta.sort_values(["pipeline_display_order", "stage_display_order"], kind="stable")
    pipelines, names, flags = [], {}, {}
    for pid, group in meta.groupby("pipeline_id", sort=False):
        label = str(group["pipeline_label"].iloc[0])
        name = _unique_name(label, names, str(pid))
        rows, extra = [], {}
        for row in group.itertuples(index=False):
            keys = {normalise_label(row.stage_label)}
            keys |= {normalise_label(str(row.stage_id))} if pd.notna(row.stage_id) else set()
            flags.update({(name, k): (bool(row.closed), bool(row.won)) for k in keys})
            if pd.notna(row.stage_id):
                extra[str(row.stage_id)] = str(row.stage_label)
            if not row.archived or keys & used:
                order = float(row.stage_display_order)
                rows.append(StageRow(str(row.stage_label), order, bool(row.closed), bool(row.won)))
        pipelines.append(pipeline_from_stages(name, rows, extra))
        names.update({normalise_label(str(pid)): name, normalise_label(label): name})
    return Pipelines(tuple(pipelines), names, flags)


def from_history(events: pd.DataFrame, current: pd.DataFrame, outcomes: dict) -> Pipelines:
    """Pipelines learnt from the stage entries when the export has no pipelines file.

    Parameters
    ----------
    events : pandas.DataFrame
        ``d`` (deal), ``s`` (stage id or label), ``t`` (UTC time), ``p``
        (pipeline id or label) of every dated stage entry.
    current : pandas.DataFrame
        ``d``, ``s``, ``p`` of every deal: its current stage and pipeline.
    outcomes : dict
        Deal to won / lost / open.

    Notes
    -----
    Open stages are ordered by the median rank of their entry among the
    deals of the pipeline (:func:`stage_rows_from_history`); a current stage
    that no column dates comes last, closed (and won) when every deal in it
    is.
    """
    keys = current["p"].fillna("default").astype("str")
    order = keys.map(normalise_label).value_counts(sort=True)
    display = dict(zip(keys.map(normalise_label), keys, strict=True))
    ev_keys = events["p"].fillna("default").astype("str").map(normalise_label)
    pipelines, names = [], {}
    for key in sorted(order.index, key=lambda k: (-order[k], k)):
        ev = events[(ev_keys == key).to_numpy()]
        rows = stage_rows_from_history(ev, "d", "s", "t", outcomes) if len(ev) else []
        seen = {normalise_label(r.label) for r in rows}
        here = current[(keys.map(normalise_label) == key).to_numpy()].dropna(subset=["s"])
        for label, deals in here.groupby(here["s"].astype("str"), sort=True):
            if normalise_label(label) in seen:
                continue
            result = {outcomes.get(d, c.OPEN) for d in deals["d"]}
            closed = c.OPEN not in result
            rows.append(StageRow(label, 1e9 + len(rows), closed, closed and result == {c.WON}))
        name = _unique_name(display[key], names, key)
        pipelines.append(pipeline_from_stages(name, rows))
        names[key] = name
    return Pipelines(tuple(pipelines), names, {})
