"""The fixed setting of one sample: plan, pipeline, calendar and time windows.

Everything here is decided before the random number generator is first used,
so it depends only on the number of deals and the cutoff: the planted
parameters, the stage pipeline and its stage-resolved parameters, the
history's calendar (origin, cutoff, month starts, weekday of every day), the
experiment and bottleneck windows in float days since the origin, and the deal
ids. The generator's modules receive it as one :class:`SampleContext`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis.core.stages import Pipeline, load_stages
from analysis.sample import frames
from analysis.sample.params import Plan, logit, stage_index, stage_profile

# The export is taken at the very start of 1 July, so the second quarter of 2026
# is complete: reports analysing "the last full quarter" then see the planted drop.
DEFAULT_CUTOFF = "2026-07-01"


@dataclass(frozen=True)
class Timeline:
    """Dates of the history in float days since its start (the origin)."""

    cutoff: float
    email_window: tuple[float, float]
    call_window: tuple[float, float]
    bottleneck_start: float


@dataclass(frozen=True)
class StagePlan:
    """Stage-resolved parameters for a pipeline of ``n_stages`` open stages."""

    n_stages: int
    base_logit: np.ndarray  # (segments, n_stages)
    median_days: np.ndarray  # (segments, n_stages)
    sigma: np.ndarray  # (segments,)
    dm_reference: np.ndarray  # (segments,)
    weakness_stage: int
    competitor_from: int
    competitor_known_from: int
    bottleneck_segment: int
    bottleneck_stage: int
    email_stage: int
    call_stage: int


def stage_plan(plan: Plan, n_stages: int) -> StagePlan:
    """Resolve the plan's six-stage profiles and stage positions for ``n_stages``."""
    if n_stages < 4:
        raise ValueError(
            "The sample generator needs a pipeline with at least 4 open stages; "
            f"this one has {n_stages}."
        )
    segs = list(plan.segments.values())
    return StagePlan(
        n_stages=n_stages,
        base_logit=np.array([logit(stage_profile(s.conversion, n_stages)) for s in segs]),
        median_days=np.array([stage_profile(s.stage_median_days, n_stages) for s in segs]),
        sigma=np.array([s.duration_sigma for s in segs]),
        dm_reference=np.array([s.dm_reference for s in segs]),
        weakness_stage=stage_index(plan.weakness_stage_index, n_stages),
        competitor_from=stage_index(plan.competitor_from_stage, n_stages),
        competitor_known_from=stage_index(plan.competitor_known_from_stage, n_stages),
        bottleneck_segment=list(plan.segments).index(plan.bottleneck_segment),
        bottleneck_stage=stage_index(plan.bottleneck_stage_index, n_stages),
        email_stage=stage_index(plan.email_stage_index, n_stages),
        call_stage=stage_index(plan.call_stage_index, n_stages),
    )


@dataclass(frozen=True)
class SampleContext:
    """The draw-independent setting of one sample.

    Attributes
    ----------
    plan : Plan
        The planted parameters.
    pipeline : Pipeline
        The stage pipeline the sample is written for.
    stage_plan : StagePlan
        The plan resolved to the pipeline's open stages.
    timeline : Timeline
        Cutoff, experiment windows and bottleneck start in days since ``origin``.
    origin, cutoff_at : pandas.Timestamp
        Start of the history and the export moment (UTC, microseconds).
    n_deals : int
        Number of deals.
    deal_ids : pyarrow.Array
        Deal ids ``D000001`` ... in creation order.
    history_weekday, history_month : numpy arrays of int
        Weekday (Monday = 0) and calendar month of each day of the history.
    month_starts : pandas.DatetimeIndex
        Month starts (UTC) covering the history.
    history_month_index : numpy array of int
        Position in ``month_starts`` of each day of the history.
    """

    plan: Plan
    pipeline: Pipeline
    stage_plan: StagePlan
    timeline: Timeline
    origin: pd.Timestamp
    cutoff_at: pd.Timestamp
    n_deals: int
    deal_ids: pa.Array
    history_weekday: np.ndarray
    history_month: np.ndarray
    month_starts: pd.DatetimeIndex
    history_month_index: np.ndarray

    @property
    def open_stages(self) -> tuple[str, ...]:
        """Open stages of the pipeline in process order."""
        return self.pipeline.stages

    @property
    def all_stages(self) -> tuple[str, ...]:
        """Open stages, then the won and lost stages (the stage codes of the journeys)."""
        return self.pipeline.all_stages


def _cutoff_timestamp(cutoff: str | None) -> pd.Timestamp:
    """The export moment in UTC (microseconds); ``None`` means :data:`DEFAULT_CUTOFF`."""
    ts = pd.Timestamp(DEFAULT_CUTOFF if cutoff is None else cutoff)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return ts.as_unit("us")


def make_context(
    n_deals: int, cutoff: str | None = None, plan: Plan | None = None
) -> SampleContext:
    """The setting of a sample of ``n_deals`` deals exported at ``cutoff``.

    The history covers ``plan.history_days`` days before the cutoff; the
    bottleneck starts with the calendar quarter of the cutoff's last moment
    (or at the origin, if that quarter began earlier). ``plan`` defaults to
    :class:`~analysis.sample.params.Plan` (the shipped truth).
    """
    plan = Plan() if plan is None else plan
    pipeline = load_stages().pipeline()
    resolved = stage_plan(plan, len(pipeline.stages))
    end = _cutoff_timestamp(cutoff)
    origin = end - pd.Timedelta(days=plan.history_days)

    history = origin + pd.to_timedelta(np.arange(plan.history_days), unit="D")
    last_moment = (end - pd.Timedelta(1, "us")).tz_localize(None)
    quarter_start = pd.Timestamp(last_moment.to_period("Q").start_time, tz="UTC")
    days = plan.history_days
    timeline = Timeline(
        cutoff=float(days),
        email_window=(days - plan.email_window_days[0], days - plan.email_window_days[1]),
        call_window=(days - plan.call_window_days[0], days - plan.call_window_days[1]),
        bottleneck_start=max((quarter_start - origin) / pd.Timedelta(days=1), 0.0),
    )
    month_starts = pd.date_range(
        origin.tz_localize(None).to_period("M").start_time, last_moment, freq="MS", tz="UTC"
    )
    month_index = (
        np.searchsorted(
            month_starts.tz_localize(None).to_numpy(),
            history.tz_localize(None).to_numpy(),
            side="right",
        )
        - 1
    )
    return SampleContext(
        plan=plan,
        pipeline=pipeline,
        stage_plan=resolved,
        timeline=timeline,
        origin=origin,
        cutoff_at=end,
        n_deals=n_deals,
        deal_ids=frames.deal_ids(n_deals),
        history_weekday=history.day_of_week.to_numpy(),
        history_month=history.month.to_numpy(),
        month_starts=month_starts.as_unit("us"),
        history_month_index=month_index,
    )
