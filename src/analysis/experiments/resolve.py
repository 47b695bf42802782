"""From the canonical tables to one row per deal in an experiment, in the engine.

``assignments`` says which unit (deal, rep or account) got which variant and
at which stage the treatment applies. A deal is in the test when it is the
assigned deal, or when it belongs to the assigned rep (``owner_id``) or
account and entered the treated stage at or after the assignment. It
*converts* when it reaches the conversion stage (or any later open stage, or
won) after entering the test; it is *decided* when it converted or was lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.core.errors import InputError
from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.grouping import series_to_utc
from analysis.engine.journey import stage_position
from analysis.engine.workspace import Workspace
from analysis.experiments import columns as c

_UNIT_COLUMN = {c.UNIT_DEAL: c.DEAL_ID, c.UNIT_REP: c.OWNER_ID, c.UNIT_ACCOUNT: c.ACCOUNT_ID}


@dataclass(frozen=True)
class ExperimentUnits:
    """The deals of one experiment with their variant and outcome.

    Attributes
    ----------
    experiment_id : str
    unit_type : str
        What was randomised: ``deal``, ``rep`` or ``account``.
    stage : str or None
        Stage the treatment applies at.
    conversion_stage : str
        Reaching this stage (or a later one, or won) counts as conversion.
    variants : tuple of str
        Variants in ``assignments`` (sorted), including any without deals.
    units : pandas.DataFrame
        One row per deal: ``deal_id, variant, cluster, started_at, outcome,
        amount, converted_at, converted`` (1, 0, or missing when undecided),
        ``decided, days`` (to conversion, or to the cutoff: censored).
    cutoff : pandas.Timestamp
        Latest stage entry in the data (the end of follow-up).
    n_assigned : dict
        Assigned randomisation units per variant (for the sample ratio check).
    """

    experiment_id: str
    unit_type: str
    stage: str | None
    conversion_stage: str
    variants: tuple[str, ...]
    units: pd.DataFrame
    cutoff: pd.Timestamp
    n_assigned: dict

    def to_frame(self) -> pd.DataFrame:
        """The per-deal table."""
        return self.units.copy()


def list_experiments(ws: Workspace) -> list[str]:
    """Experiment ids present in ``assignments`` (sorted)."""
    if not ws.has(c.ASSIGNMENTS):
        return []
    ids = ws.execute(ws.assignments.select(c.EXPERIMENT_ID).distinct())[c.EXPERIMENT_ID]
    return sorted(str(v) for v in ids.dropna())


def _design(ws: Workspace, experiment_id: str) -> pd.DataFrame:
    if not ws.has(c.ASSIGNMENTS):
        raise InputError(f"the workspace ({ws.source}) has no assignments table.")
    a = ws.assignments.filter(ws.assignments[c.EXPERIMENT_ID] == experiment_id)
    stage = a[c.STAGE] if c.STAGE in a.columns else ibis.null().cast("string")
    design = ws.execute(
        a.mutate(_stage=stage)
        .group_by([c.UNIT_TYPE, "_stage", c.VARIANT])
        .aggregate(units=a[c.UNIT_ID].nunique())
    )
    if design.empty:
        known = ", ".join(list_experiments(ws)) or "none"
        raise InputError(
            f"no experiment {experiment_id!r} in assignments; experiments there: {known}.",
            column=c.EXPERIMENT_ID,
        )
    if design[c.UNIT_TYPE].nunique() != 1 or design["_stage"].nunique(dropna=False) != 1:
        raise InputError(
            f"experiment {experiment_id!r} mixes unit types or stages in assignments; "
            "give each design its own experiment_id.",
            column=c.UNIT_TYPE,
        )
    return design


def _default_conversion_stage(ws: Workspace, stage: str | None) -> str:
    """The stage after ``stage`` (won after the last open stage, or with no stage)."""
    pipeline = ws.pipeline
    if stage is None or stage not in pipeline.stages:
        return pipeline.won
    i = pipeline.stages.index(stage)
    return pipeline.stages[i + 1] if i + 1 < len(pipeline.stages) else pipeline.won


def experiment_units(
    ws: Workspace, experiment_id: str, conversion_stage: str | None = None
) -> ExperimentUnits:
    """The deals of one experiment, each with variant, cluster and outcome.

    Parameters
    ----------
    ws : Workspace
        Needs ``assignments``, ``deals`` and ``stage_events``.
    experiment_id : str
        An ``experiment_id`` of ``assignments``.
    conversion_stage : str, optional
        Stage whose reach counts as conversion; default the stage after the
        treated one. ``lost`` is not a conversion stage.

    Returns
    -------
    ExperimentUnits

    Notes
    -----
    Row-level work (joining assignments to deals, finding each deal's entry
    into the test and its first later entry into a stage at or beyond the
    conversion stage) is one ibis expression; only one row per deal comes
    back. Lost deals that never converted are *decided, not converted*; open
    deals that have not converted are *undecided* (``converted`` missing): a
    conversion comparison leaves them out, time-to-conversion censors them at
    the cutoff. Lost deals stay in the time-to-conversion risk set as never
    converting, so one minus the Kaplan-Meier curve is the share converted.
    """
    design = _design(ws, experiment_id)
    unit_type = str(design[c.UNIT_TYPE].iloc[0])
    if unit_type not in _UNIT_COLUMN:
        raise InputError(
            f"unit_type {unit_type!r} of experiment {experiment_id!r} is not one of "
            f"{', '.join(c.UNIT_TYPES)}.",
            column=c.UNIT_TYPE,
        )
    stage = design["_stage"].iloc[0]
    stage = None if pd.isna(stage) else str(stage)
    pipeline = ws.pipeline
    target = conversion_stage or _default_conversion_stage(ws, stage)
    if target == pipeline.lost:
        raise ValueError("conversion_stage cannot be the lost stage.")
    target_order = pipeline.order(target)  # raises ValueError naming the stages
    assigned = ws.assignments.filter(ws.assignments[c.EXPERIMENT_ID] == experiment_id)
    deals, events = ws.deals, ws.stage_events
    ev = events.mutate(_order=stage_position(ws, events[c.STAGE]))
    unit_col = _UNIT_COLUMN[unit_type]
    if unit_col not in deals.columns:
        raise InputError(f"deals have no {unit_col!r} column to find the {unit_type}s' deals.")
    joined = assigned.join(deals, assigned[c.UNIT_ID] == deals[unit_col])
    if unit_type == c.UNIT_DEAL:
        start = joined.select(
            c.DEAL_ID, c.VARIANT, _cluster=joined[c.DEAL_ID], started_at=joined[c.ASSIGNED_AT]
        )
    else:
        entry = ev.filter(ev[c.STAGE] == stage) if stage else ev
        entry = entry.select(c.DEAL_ID, _entered=entry[c.ENTERED_AT])
        start = (
            joined.join(entry, c.DEAL_ID)
            .filter(lambda t: t._entered >= t[c.ASSIGNED_AT])
            .group_by([c.DEAL_ID, c.VARIANT, c.UNIT_ID])
            .aggregate(started_at=lambda t: t._entered.min())
            .rename(_cluster=c.UNIT_ID)
        )
    reached = ev.filter((ev._order >= target_order) & (ev[c.STAGE] != pipeline.lost))
    conv = (
        start.join(reached.select(c.DEAL_ID, _at=reached[c.ENTERED_AT]), c.DEAL_ID)
        .filter(lambda t: t._at >= t.started_at)
        .group_by(c.DEAL_ID)
        .aggregate(converted_at=lambda t: t._at.min())
    )
    amount = deals[c.AMOUNT] if c.AMOUNT in deals.columns else ibis.null().cast("float64")
    expr = (
        start.left_join(conv, c.DEAL_ID)
        .select(
            start[c.DEAL_ID], start[c.VARIANT], start._cluster, start.started_at, "converted_at"
        )
        .join(deals.select(c.DEAL_ID, c.OUTCOME, _amount=amount), c.DEAL_ID)
    )
    frame = ws.execute(expr)
    cutoff = ws.execute(events[c.ENTERED_AT].max().name("cutoff").as_table())["cutoff"]
    cutoff = series_to_utc(cutoff).iloc[0]
    units = _finish(frame, cutoff)
    n_assigned = design.groupby(c.VARIANT)["units"].sum().astype(int).to_dict()
    return ExperimentUnits(
        experiment_id=experiment_id,
        unit_type=unit_type,
        stage=stage,
        conversion_stage=target,
        variants=tuple(sorted(str(v) for v in design[c.VARIANT])),
        units=units,
        cutoff=cutoff,
        n_assigned={str(k): int(v) for k, v in n_assigned.items()},
    )


def _finish(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    frame = frame.rename(columns={"_cluster": c.CLUSTER, "_amount": c.AMOUNT})
    started = series_to_utc(frame[c.STARTED_AT])
    conv_at = series_to_utc(frame[c.CONVERTED_AT])
    has = conv_at.notna()
    converted = pd.Series(pd.NA, index=frame.index, dtype="Float64")
    converted[has] = 1.0
    converted[~has & (frame[c.OUTCOME].astype(str) == c.LOST)] = 0.0
    end = conv_at.where(has, cutoff)
    out = pd.DataFrame(
        {
            c.DEAL_ID: frame[c.DEAL_ID].astype(str),
            c.VARIANT: frame[c.VARIANT].astype(str),
            c.CLUSTER: frame[c.CLUSTER].astype(str),
            c.STARTED_AT: started,
            c.OUTCOME: frame[c.OUTCOME].astype(str),
            c.AMOUNT: frame[c.AMOUNT].astype(float),
            c.CONVERTED_AT: conv_at,
            c.CONVERTED: converted,
            c.DECIDED: converted.notna().to_numpy(bool),
            c.DAYS: ((end - started).dt.total_seconds() / SECONDS_PER_DAY).clip(lower=0),
        }
    )
    return out.sort_values([c.VARIANT, c.DEAL_ID], ignore_index=True)
