"""Pipedrive's pipelines and the stage events of its deals.

Pipedrive lists stages per pipeline (order_nr) and logs a deal's moves in
its updates flow (``stage_id`` changes, by stage id). Won and lost are
statuses there, not stages: every pipeline gets the terminal stages ``won``
and ``lost``, entered at won_time or lost_time. Neither that entry nor the
entry into the first stage at add_time is a row of the flow, so they are
added after the flow's rows (column :data:`FROM` names the deals row and
field each comes from); the rows stay accounted for
(``rows_in == rows_clean + rows_quarantined``) and the quarantine shows
where each came from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError, stop_at_first_row
from analysis.core.stages import Pipeline, normalise_label
from analysis.ingest import reasons as r
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    as_timestamps,
    table_map,
    truthy,
    values_text,
)
from analysis.ingest.vendors.pipedrive_fields import (
    PIPELINES,
    STAGES,
    field,
    ids_text,
    iso_utc,
    lower_text,
    need,
)
from analysis.ingest.vendors.stages import (
    StageRow,
    pipeline_from_stages,
    stage_changes,
    stage_slug,
)

STAGE_KEYS = frozenset({"stage_id", "stage"})  # field_key of a change of stage
STAGE = COMPUTED + "stage"
DEAL = COMPUTED + "deal"
AT = COMPUTED + "at"
FROM = COMPUTED + "from"

# --- stages and pipelines ---------------------------------------------------------------


@dataclass(frozen=True)
class StageList:
    """The stages file, read: id to label and pipeline, and each pipeline's canonical name."""

    table: pd.DataFrame  # id, label, pipeline, order, active
    label_of: dict[str, str]
    pipeline_of: dict[str, str]  # pipeline id or its name, normalised -> canonical name
    pipeline_order: tuple[str, ...]
    pipeline_by_stage: dict[str, str]  # stage id -> canonical pipeline name
    file: Path

    def labels(self, values: pd.Series) -> pd.Series:
        """Stage ids as their labels; names (the web export's) pass through."""
        ids = ids_text(values)
        return ids.map(self.label_of).fillna(ids)

    def pipelines(self, values: pd.Series) -> pd.Series:
        """Pipeline ids or names as canonical pipeline names (unknown ones slugged)."""
        ids = ids_text(values)
        known = ids.map(lambda v: self.pipeline_of.get(normalise_label(v)) if pd.notna(v) else None)
        return known.fillna(ids.map(lambda v: stage_slug(v) if pd.notna(v) else None))


def _pipeline_titles(files: ExportFiles, stages: pd.DataFrame, pid: str) -> dict[str, str]:
    """Pipeline id to its name, in the pipelines' order (the pipelines file's order_nr)."""
    titles: dict[str, str | None] = dict.fromkeys(ids_text(stages[pid]).dropna())
    named = field(stages, "pipeline_name")
    if named is not None:
        for p, title in zip(ids_text(stages[pid]), values_text(stages[named]), strict=True):
            if p in titles and pd.notna(title):
                titles[p] = title
    pipelines = files.read(PIPELINES)
    if pipelines is not None:
        p_id, p_name = need(pipelines, PIPELINES, files.used[PIPELINES], "id", "name")
        rank = field(pipelines, "order_nr")
        listed = pd.DataFrame(
            {
                "id": ids_text(pipelines[p_id]),
                "name": values_text(pipelines[p_name]),
                "rank": pd.to_numeric(pipelines[rank], errors="coerce") if rank else 0.0,
                "number": pd.to_numeric(ids_text(pipelines[p_id]), errors="coerce"),
            }
        ).sort_values(["rank", "number"], kind="stable")
        listed = listed[listed["id"].isin(list(titles))]
        first = dict(zip(listed["id"], listed["name"], strict=True))
        titles = {**first, **{p: t for p, t in titles.items() if p not in first}}
    return {p: t if t else f"pipeline {p}" for p, t in titles.items()}


def read_stage_list(files: ExportFiles) -> StageList:
    """Read the stages file (required) and the pipelines file (for names and order).

    Raises
    ------
    InputError
        When there is no stages file, it lacks id, name, pipeline_id or
        order_nr (without the order a funnel cannot be drawn), or an order is
        not a number.
    """
    stages = files.read(STAGES, "stage", required=True)
    assert stages is not None
    path = files.used[STAGES]
    sid, name, pid, order = need(stages, STAGES, path, "id", "name", "pipeline_id", "order_nr")
    active = field(stages, "active_flag")
    position = pd.to_numeric(stages[order], errors="coerce")
    stop_at_first_row(
        position.isna(), "a stage's order_nr is not a number.", file=path, column=order
    )
    titles = _pipeline_titles(files, stages, pid)
    canonical = {p: stage_slug(title) for p, title in titles.items()}
    pipeline_of = {normalise_label(p): canonical[p] for p in titles}
    pipeline_of |= {normalise_label(title): canonical[p] for p, title in titles.items()}
    table = pd.DataFrame(
        {
            "id": ids_text(stages[sid]),
            "label": values_text(stages[name]),
            "pipeline": ids_text(stages[pid]).map(canonical),
            "order": position,
            "active": truthy(stages[active]).fillna(True) if active else True,
        }
    )
    return StageList(
        table=table,
        label_of=dict(zip(table["id"], table["label"], strict=True)),
        pipeline_of=pipeline_of,
        pipeline_order=tuple(dict.fromkeys(canonical.values())),
        pipeline_by_stage=dict(zip(table["id"], table["pipeline"], strict=True)),
        file=files.used[STAGES],
    )


def pipelines_in_use(stage_list: StageList, used: set[str], notes: list[str]) -> list[Pipeline]:
    """One pipeline per Pipedrive pipeline: its stages by order_nr, deleted ones only if used.

    ``used`` holds the stage ids and names that deals or the flow refer to.
    Every stage is open (won and lost are statuses, added to each pipeline
    as its terminal stages).
    """
    table = stage_list.table
    keep = table["active"].astype(bool) | table["id"].isin(used) | table["label"].isin(used)
    out = []
    for name in stage_list.pipeline_order:
        rows = table[keep & (table["pipeline"] == name)]
        if len(rows) == 0:
            notes.append(f"pipeline {name!r} has only deleted stages in the stages file; left out.")
            continue
        stage_rows = [
            StageRow(label, float(order), closed=False, won=False)
            for label, order in zip(rows["label"], rows["order"], strict=True)
        ]
        out.append(pipeline_from_stages(name, stage_rows))
    if not out:
        raise InputError("the stages file lists no stage in use.", file=stage_list.file)
    return out


@dataclass(frozen=True)
class DealFacts:
    """What the stage events need from the deals file, one entry per deals row."""

    file: Path
    ids: pd.Series
    deleted: np.ndarray
    outcome: pd.Series
    current: pd.Series  # the open stage the deal is (or was last) in, as a label
    created: pd.Series  # UTC
    closed: pd.Series  # UTC: won_time, lost_time, else close_time
    close_field: pd.Series  # which field gave ``closed``
    updated: pd.Series | None  # UTC


# --- stage events -------------------------------------------------------------------------


def _entries(facts: DealFacts, first_old: pd.Series, stage_list: StageList) -> pd.DataFrame:
    """Entries the flow does not log: the first stage at add_time, won or lost at its time.

    A deal's first stage is the old value of its first stage change, else its
    current stage; a first change whose old value is blank logs the creation
    itself, so no entry is added.
    """
    live = ~facts.deleted & facts.ids.notna().to_numpy()
    rows = pd.Series(np.arange(len(facts.ids)), index=facts.ids.index)
    known = facts.ids.isin(first_old.index)
    logged = known & facts.ids.map(first_old).isna()
    start = stage_list.labels(facts.ids.map(first_old)).where(known, facts.current)
    first = live & ~logged.to_numpy() & start.notna().to_numpy() & facts.created.notna().to_numpy()
    closing = (
        live & facts.outcome.isin([c.WON, c.LOST]).to_numpy() & facts.closed.notna().to_numpy()
    )
    name = facts.file.name
    parts = [
        pd.DataFrame(
            {
                DEAL: facts.ids[first],
                STAGE: start[first],
                AT: iso_utc(facts.created[first]),
                FROM: [f"{name} row {i + 1}: add_time" for i in rows[first]],
                "order": 0,
            }
        ),
        pd.DataFrame(
            {
                DEAL: facts.ids[closing],
                STAGE: facts.outcome[closing],
                AT: iso_utc(facts.closed[closing]),
                FROM: [
                    f"{name} row {i + 1}: {f}"
                    for i, f in zip(rows[closing], facts.close_field[closing], strict=True)
                ],
                "order": 2,
            }
        ),
    ]
    return pd.concat(parts, ignore_index=True)


def read_events(
    found: tuple[pd.DataFrame, Path] | None,
    facts: DealFacts,
    stage_list: StageList,
    notes: list[str],
) -> tuple[AdaptedTable | None, set[str]]:
    """The stage events: the flow's rows, then the entries it does not log (:func:`_entries`).

    ``found`` is the flow and its path (``pipedrive_flow.read_flow``), or None.
    Flow rows that change another field (value, expected close date, status)
    are flagged ``not_a_stage_change``, as are stage changes into the stage
    the deal is already in; rows of deleted deals ``deleted_in_source``.
    Returns the table (None without a flow file) and the stage ids it uses.
    """
    if found is None:
        notes.append(
            "no deal flow file (deal_flow, deal_updates or deal_changelog): no stage events; "
            "export the deals' updates for stage conversion and time in stage."
        )
        return None, set()
    flow, path = found
    deal, key, old, new, at = need(
        flow, "deal flow", path, "item_id", "field_key", "old_value", "new_value", "log_time"
    )
    n = len(flow)
    is_stage = lower_text(flow[key]).isin(STAGE_KEYS).fillna(False).to_numpy(dtype=bool)
    deal_ids, stamps = ids_text(flow[deal]), as_timestamps(flow[at], "UTC")
    moves = pd.DataFrame({"d": deal_ids, "old": ids_text(flow[old]), "t": stamps})[is_stage]
    first_old = moves.sort_values("t", kind="stable").drop_duplicates("d").set_index("d")["old"]
    extra = _entries(facts, first_old, stage_list)
    events = flow.reindex(pd.RangeIndex(n + len(extra)))
    events.attrs = dict(flow.attrs)
    events[DEAL] = pd.concat([deal_ids, extra[DEAL]], ignore_index=True)
    own = stage_list.labels(flow[new]).where(is_stage)
    events[STAGE] = pd.concat([own, extra[STAGE]], ignore_index=True)
    events[AT] = pd.concat([values_text(flow[at]), extra[AT]], ignore_index=True)
    events[FROM] = pd.concat(
        [pd.Series(pd.NA, index=range(n), dtype="str"), extra[FROM]], ignore_index=True
    )
    deleted = events[DEAL].isin(facts.ids[facts.deleted].unique()).to_numpy(dtype=bool)
    stage_rows = np.concatenate([is_stage, np.ones(len(extra), dtype=bool)])
    times = as_timestamps(events[AT], "UTC")
    judge = stage_rows & ~deleted & events[STAGE].notna().to_numpy() & times.notna().to_numpy()
    order = np.concatenate([np.ones(n), extra["order"].to_numpy(dtype=float)])
    change = stage_changes(events[DEAL], events[STAGE], times, judge, order)
    flags = {
        r.DELETED_IN_SOURCE: deleted,
        r.NOT_A_STAGE_CHANGE: (~stage_rows | (judge & ~change)) & ~deleted,
    }
    notes.append(
        f"{len(extra):,} stage events added after the {path.name} rows: each deal's entry into "
        "its first stage at add_time and into won or lost at won_time or lost_time "
        f"(column {FROM!r} names the deals row)."
    )
    spec = {c.DEAL_ID: DEAL, c.STAGE: STAGE, c.ENTERED_AT: AT}
    used = set(ids_text(flow[new])[is_stage].dropna().unique()) | set(
        ids_text(flow[old])[is_stage].dropna().unique()
    )
    tmap = table_map(c.STAGE_EVENTS, path, spec, "UTC")
    return AdaptedTable(c.STAGE_EVENTS, events, tmap, path, flags), used
