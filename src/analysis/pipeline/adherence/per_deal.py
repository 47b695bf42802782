"""Per deal: stages skipped, stages re-entered and exit criteria met (engine work).

The engine reads each deal's stage history against the pipeline's stage
order: which stages a deal advanced past without entering, which it entered
more than once, and, for each exit criterion of ``config/stages.yaml``
(``exit_criteria: {stage: [field, ...]}``), whether the field was set for a
deal that advanced past that stage.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.engine.durations import seconds_between
from analysis.engine.journey import stage_position
from analysis.engine.needs import ADHERENCE
from analysis.engine.workspace import Workspace

__all__ = ["ADHERENCE", "criterion_column", "deal_adherence", "deal_frame", "usable_criteria"]

# --- result columns ---------------------------------------------------------------------
FURTHEST_STAGE = "furthest_stage"  # furthest stage entered (won counts past the open stages)
SKIPPED_STAGES = "skipped_stages"  # comma-separated, in pipeline order
REENTERED_STAGES = "reentered_stages"
N_SKIPPED_STAGES = "n_skipped"
N_REENTERED_STAGES = "n_reentered"
N_REENTRIES = "reentries"  # entries beyond the first, over all stages
CRITERIA_MISSED = "criteria_missed"  # "stage:field" of each criterion a deal missed
N_CRITERIA_CHECKED = "n_criteria_checked"
ADHERENT = "adherent"  # skipped nothing, met every criterion it was subject to
REACHED_FINAL = "reached_final_stage"  # entered the last open stage or won
ADHERENT_BEFORE_FINAL = "adherent_before_final"  # the overall comparison's grouping
CYCLE_DAYS = "cycle_days"  # created to close, won deals only

NOTE_NO_STAGE_EVENTS = "deals_without_stage_events"

REACH, START = "_reach", "_start"  # furthest position entered; first open one
_FALSE_WORDS = ("false", "no", "n", "f", "0")  # a flag exported as text
SEGMENT_STRATUM = "_segment"  # segment, or "all" without one


def _met(col: ibis.Value) -> ibis.BooleanValue:
    """A field counts as set when a flag is true, or any other value is present (non-blank).

    Text that reads as a false flag (false, no, 0) counts as not set.
    """
    dtype = col.type()
    if dtype.is_boolean():
        return col.fill_null(False)
    if dtype.is_string():
        word = col.strip().lower()
        return col.notnull() & (word.length() > 0) & ~word.isin(_FALSE_WORDS)
    return col.notnull()


def usable_criteria(
    ws: Workspace, criteria: Mapping[str, Sequence[str]]
) -> tuple[dict[str, tuple[str, ...]], list[str]]:
    """Keep the criteria whose stage is an open stage and whose field holds any value."""
    stages = ws.pipeline.stages
    deals = ws.deals
    kept: dict[str, tuple[str, ...]] = {}
    notes: list[str] = []
    present = [f for fs in criteria.values() for f in fs if f in deals.columns]
    counts = (
        ws.execute(deals.aggregate(**{f: deals[f].count() for f in dict.fromkeys(present)}))
        if present
        else pd.DataFrame()
    )
    for stage, fields in criteria.items():
        if isinstance(fields, str):
            fields = (fields,)
        if stage not in stages:
            notes.append(
                f"Exit criteria of {stage!r} are not checked: it is not an open stage of "
                f"the pipeline analysed ({', '.join(stages)})."
            )
            continue
        ok = []
        for field in fields:
            if field not in deals.columns:
                notes.append(
                    f"The exit criterion {field} before leaving {stage} is not checked: the "
                    f"deals have no {field} column."
                )
            elif int(counts[field].iloc[0]) == 0:
                notes.append(
                    f"The exit criterion {field} before leaving {stage} is not checked: no "
                    f"deal has a value in {field}."
                )
            else:
                ok.append(str(field))
        if ok:
            kept[str(stage)] = tuple(ok)
    return kept, notes


def criterion_column(stage: str, field: str) -> str:
    """Name of the per-deal column of one exit criterion: ``met_<field>_before_leaving_<stage>``."""
    return f"met_{field}_before_leaving_{stage}"


def deal_adherence(ws: Workspace, criteria: Mapping[str, tuple[str, ...]]) -> ibis.Table:
    """One row per deal with stage events: skips, re-entries, criteria met, adherence (engine).

    Parameters
    ----------
    ws : Workspace
        Needs ``stage_events`` and ``deals`` (:data:`ADHERENCE`).
    criteria : mapping of open stage to field names
        Exit criteria already checked against the data (:func:`process_adherence`).

    Returns
    -------
    ibis.Table
        ``deal_id``, ``_reach`` (furthest position entered, won = number of
        open stages), ``_start`` (first open position entered), ``_n<i>``
        (entries of open stage ``i``), ``_skip<i>``, the criterion columns,
        the per-deal counts and flags of :class:`ProcessAdherence`, and the
        deal columns used for the comparison (``_segment``, ``amount``,
        ``owner_id``, ``outcome``, ``cycle_days``).

    Notes
    -----
    With open stages at positions :math:`0..K-1` and won at :math:`K`, let
    :math:`r` be the furthest position a deal entered (lost entries do not
    count) and :math:`s_0` the first open position it entered. Stage
    :math:`i` is *skipped* when :math:`s_0 < i < r` and the deal has no
    entry of :math:`i` (a deal created at a later stage skipped nothing
    before it); *re-entered* when it has two or more entries. The deal
    *advanced past* stage :math:`i` when :math:`r > i`; an exit criterion of
    :math:`i` applies to exactly those deals and is met when its field is set.
    """
    pipeline = ws.pipeline
    K = len(pipeline.stages)
    ev = ws.stage_events
    pos = stage_position(ws, ev[c.STAGE])
    counted = (pos >= 0) & (ev[c.STAGE] != pipeline.lost)
    is_open = (pos >= 0) & (pos < K)
    metrics = {REACH: pos.max(where=counted), START: pos.min(where=is_open)}
    metrics |= {f"_n{i}": ev.count(where=pos == i) for i in range(K)}
    per_deal = ev.group_by(c.DEAL_ID).aggregate(**metrics)
    deals = ws.deals
    keep = [c.DEAL_ID, c.OUTCOME]
    keep += [col for col in (c.SEGMENT, c.AMOUNT, c.OWNER_ID) if col in deals.columns]
    fields = sorted({f for fs in criteria.values() for f in fs})
    derived = {f"_f_{f}": _met(deals[f]) for f in fields}
    if c.CREATED_AT in deals.columns and c.CLOSED_AT in deals.columns:
        seconds = seconds_between(ws, deals[c.CREATED_AT], deals[c.CLOSED_AT])
        days = (deals[c.OUTCOME] == c.WON).ifelse(seconds / 86_400.0, ibis.null("float64"))
        derived[CYCLE_DAYS] = days.cast("float64")
    d = deals.select(*keep, **derived)
    t = per_deal.join(d, c.DEAL_ID)
    reach, start = t[REACH].fill_null(-1), t[START]
    skips = {f"_skip{i}": (start < i) & (reach > i) & (t[f"_n{i}"] == 0) for i in range(K)}
    t = t.mutate(**skips)
    crit_cols: dict[str, ibis.Value] = {}
    for stage, fs in criteria.items():
        i = pipeline.order(stage)
        for f in fs:
            crit_cols[criterion_column(stage, f)] = (reach > i).ifelse(
                t[f"_f_{f}"], ibis.null("boolean")
            )
    t = t.mutate(**crit_cols)

    def _count(flags: list[ibis.BooleanValue]) -> ibis.IntegerValue:
        total = ibis.literal(0)
        for flag in flags:
            total = total + flag.fill_null(False).cast("int64")
        return total

    missed = [~t[col].fill_null(True) for col in crit_cols]
    before_final = [
        ~t[criterion_column(s, f)].fill_null(True)
        for s, fs in criteria.items()
        if pipeline.order(s) < K - 1
        for f in fs
    ]
    n_skipped = _count([t[f"_skip{i}"] for i in range(K)])
    return t.mutate(
        **{
            N_SKIPPED_STAGES: n_skipped,
            N_REENTERED_STAGES: _count([t[f"_n{i}"] > 1 for i in range(K)]),
            N_REENTRIES: sum(ibis.greatest(t[f"_n{i}"] - 1, 0) for i in range(K)),
            N_CRITERIA_CHECKED: _count([t[col].notnull() for col in crit_cols]),
            ADHERENT: (n_skipped == 0) & (_count(missed) == 0),
            REACHED_FINAL: reach >= K - 1,
            ADHERENT_BEFORE_FINAL: (_count([t[f"_skip{i}"] for i in range(K - 1)]) == 0)
            & (_count(before_final) == 0),
            SEGMENT_STRATUM: t[c.SEGMENT].cast("string")
            if c.SEGMENT in t.columns
            else ibis.literal("all"),
        }
    )


def deal_frame(
    ws: Workspace, t: ibis.Table, criteria: Mapping[str, tuple[str, ...]]
) -> pd.DataFrame:
    """The per-deal table of :func:`deal_adherence`, executed, with stage names for positions."""
    pipeline = ws.pipeline
    K = len(pipeline.stages)
    crit = [criterion_column(s, f) for s, fs in criteria.items() for f in fs]
    extra = [col for col in (c.SEGMENT, c.AMOUNT, c.OWNER_ID, CYCLE_DAYS) if col in t.columns]
    cols = [c.DEAL_ID, REACH, *[f"_skip{i}" for i in range(K)], *[f"_n{i}" for i in range(K)]]
    cols += [N_SKIPPED_STAGES, N_REENTERED_STAGES, N_REENTRIES, *crit, N_CRITERIA_CHECKED]
    cols += [ADHERENT, REACHED_FINAL, ADHERENT_BEFORE_FINAL, c.OUTCOME, *extra]
    df = ws.execute(t.select(*cols).order_by(c.DEAL_ID))
    names = np.array([*pipeline.stages, pipeline.won], dtype=object)
    reach = df[REACH].fillna(-1).astype(int)
    df.insert(1, FURTHEST_STAGE, np.where(reach >= 0, names[reach.clip(lower=0)], None))
    stages = list(pipeline.stages)

    def listed(flags: pd.DataFrame) -> pd.Series:
        return flags.apply(
            lambda r: ", ".join(s for s, f in zip(stages, r, strict=True) if f), axis=1
        )

    skip = df[[f"_skip{i}" for i in range(K)]].fillna(False).astype(bool)
    again = df[[f"_n{i}" for i in range(K)]].to_numpy() > 1
    df.insert(2, SKIPPED_STAGES, listed(skip) if len(df) else pd.Series(dtype=str))
    df.insert(3, REENTERED_STAGES, listed(pd.DataFrame(again)) if len(df) else pd.Series(dtype=str))
    missed = pd.DataFrame({col: df[col].eq(False) for col in crit}, index=df.index)
    labels = [f"{s}:{f}" for s, fs in criteria.items() for f in fs]
    df[CRITERIA_MISSED] = (
        missed.apply(
            lambda r: ", ".join(lab for lab, m in zip(labels, r, strict=True) if m), axis=1
        )
        if crit and len(df)
        else ""
    )
    drop = [REACH, *[f"_skip{i}" for i in range(K)], *[f"_n{i}" for i in range(K)]]
    return df.drop(columns=drop)
