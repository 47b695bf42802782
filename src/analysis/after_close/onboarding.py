"""Onboarding: how long won deals take to go live, with customers not yet live censored.

The engine reduces the onboarding rows to ``<keys>, days, event, count``
(days from the deal's close to go-live, or to the cut-off); the Kaplan–Meier
figures and tests come from :mod:`.survival_tables`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.after_close import columns as c
from analysis.after_close.rows import (
    DEAL_KEYS,
    as_timestamp,
    check_cohort,
    customer_groups,
    deal_facts,
    labelled,
    literal_time,
    post_sale_cutoff,
)
from analysis.after_close.survival_tables import (
    counted_durations,
    each_against_rest,
    km_summary,
    logrank_by,
)
from analysis.core.errors import MissingInput
from analysis.core.types import Correction, check_correction
from analysis.engine.durations import rounded_days
from analysis.engine.grouping import series_to_utc
from analysis.engine.needs import ONBOARDING_TIME
from analysis.engine.workspace import Workspace

__all__ = ["OnboardingTime", "onboarding_time"]

ONBOARDING_KEYS = (c.COHORT, c.SIZE_BAND, *DEAL_KEYS)
SIZE_BANDS = ("small", "middle", "large")
HORIZONS = (30.0, 60.0, 90.0)
_RATE_NAMES = (c.LIVE_RATE, c.LIVE_CI_LOW, c.LIVE_CI_HIGH)


@dataclass(frozen=True)
class OnboardingTime:
    """Time from won to go-live per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (group, horizon): ``<by...>, horizon_days, won_deals,
        live, live_rate, live_ci_low, live_ci_high`` (Kaplan–Meier chance of
        being live within the horizon), ``median_days, median_ci_low,
        median_ci_high, note``.
    curves : pandas.DataFrame
        ``<by...>, days, survival``: the share not yet live.
    comparison : pandas.DataFrame
        Each group against the rest at ``window_days``.
    logrank : tuple of (float, int, float)
    by : tuple of str
    window_days : float
    cutoff : pandas.Timestamp
    alpha : float
    size_thresholds : tuple of float
        The won-deal amounts that split small, middle and large.
    n_left_out : int
        Rows without a close date of their deal, or going live before it.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    comparison: pd.DataFrame
    logrank: tuple[float, int, float]
    by: tuple[str, ...]
    window_days: float
    cutoff: pd.Timestamp
    alpha: float
    size_thresholds: tuple[float, float]
    n_left_out: int

    def to_frame(self) -> pd.DataFrame:
        """The per-group, per-horizon table (a copy)."""
        return self.table.copy()

    def at_window(self) -> pd.DataFrame:
        """The table's rows at ``window_days``."""
        return self.table[self.table[c.HORIZON_DAYS] == self.window_days].reset_index(drop=True)


def _size_thresholds(ws: Workspace, rows: ibis.Table) -> tuple[float, float]:
    """Terciles of the won deals' amounts in the segments the onboarded deals belong to."""
    d = ws.deals
    if c.AMOUNT not in d.columns:
        return (float("nan"), float("nan"))
    won = d.filter((d[c.OUTCOME] == c.WON) & d[c.AMOUNT].notnull())
    if c.SEGMENT in d.columns:
        segments = ws.execute(rows.select(c.SEGMENT).distinct())[c.SEGMENT].dropna().tolist()
        if segments:
            won = won.filter(won[c.SEGMENT].isin(segments))
    q = ws.execute(
        won.aggregate(_a=won[c.AMOUNT].quantile(1 / 3), _b=won[c.AMOUNT].quantile(2 / 3))
    )
    return float(q["_a"].iloc[0]), float(q["_b"].iloc[0])


def onboarding_time(
    ws: Workspace,
    by: str | Sequence[str] | None = None,
    *,
    horizons: Sequence[float] = HORIZONS,
    window_days: float = 60.0,
    cohort: str = "quarter",
    as_of: object = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> OnboardingTime:
    """Time from the close of a won deal to its go-live, per group, censoring-aware.

    Parameters
    ----------
    ws : Workspace
        With an ``onboarding`` table (:data:`~analysis.engine.needs.ONBOARDING_TIME`)
        and the deals' close dates.
    by : str or list of str, optional
        ``size_band`` (the deal's amount among the won deals of its segments,
        in thirds: small, middle, large), ``cohort`` (period of the close),
        ``channel``, ``owner_id``, ``segment``, ``region``, ``product``.
    horizons : sequence of float
        Days after the close at which the share live is read.
    window_days : float
        The horizon of the comparison between groups.
    cohort : {"month", "quarter"}
    as_of : timestamp, optional
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}

    Returns
    -------
    OnboardingTime

    Raises
    ------
    MissingInput
        Without an ``onboarding`` table with deal and go-live columns.

    Notes
    -----
    The clock starts at the deal's ``closed_at`` (won) and stops at
    ``go_live_at``; a deal not live by the cut-off is censored there.
    Kaplan–Meier gives the chance of being live within each horizon
    (log(-log) Greenwood interval) and the median time (Brookmeyer–Crowley);
    groups are compared by the log-rank test and each against the rest at
    ``window_days`` (difference of the chances, Wald, Holm). Rows whose deal
    has no close date, or that go live before it, are left out and counted.
    """
    ONBOARDING_TIME.check(ws)
    check_correction(correction)
    check_cohort(cohort)
    keys = customer_groups(ws, by, ONBOARDING_KEYS)
    cutoff = post_sale_cutoff(ws, as_of)
    o = ws.onboarding
    rows = o.select(_deal=o[c.DEAL_ID].cast("string"), _live=as_timestamp(o, c.GO_LIVE_AT))
    deals = deal_facts(ws)
    rows = rows.left_join(deals, "_deal").drop("_deal_right")
    cut = literal_time(cutoff)
    live = rows._live.notnull() & (rows._live <= cut)
    end = ibis.ifelse(live, rows._live, cut)
    rows = rows.mutate(_days=rounded_days(ws, rows._closed, end), _event=live.cast("int64"))
    thresholds = (float("nan"), float("nan"))
    if c.SIZE_BAND in keys:
        thresholds = _size_thresholds(ws, rows)
        a, b = thresholds
        band = ibis.cases((rows._amount <= a, SIZE_BANDS[0]), (rows._amount <= b, SIZE_BANDS[1]),
                          else_=SIZE_BANDS[2])  # fmt: skip
        rows = rows.mutate(**{c.SIZE_BAND: ibis.ifelse(rows._amount.notnull(), band, None)})
    usable = rows._days.notnull() & (rows._days >= 0) & (rows._closed <= cut)
    n_left_out = int(ws.execute(rows.count(where=~usable.fill_null(False))))
    rows = labelled(rows.filter(usable), keys, cohort, "_closed")
    timed = rows.select(*keys, **{c.DAYS: rows._days, c.EVENT: rows._event})
    durations = counted_durations(ws, timed, keys)
    if durations.empty:
        raise MissingInput(
            "Onboarding time", "any onboarding of a won deal with a close date",
            "Map the deals' close dates and the onboarding's deal_id.",
        )  # fmt: skip
    horizons = sorted({float(h) for h in (*horizons, window_days)})
    table, curves = km_summary(durations, keys, horizons, alpha, _RATE_NAMES)
    table = table.rename(columns={"units": c.N_WON, "events": c.N_LIVE})
    for frame in (table, curves):
        if c.COHORT in keys and len(frame):
            frame[c.COHORT] = series_to_utc(frame[c.COHORT])
    return OnboardingTime(
        table=table.reset_index(drop=True),
        curves=curves,
        comparison=each_against_rest(durations, keys, window_days, alpha, correction),
        logrank=logrank_by(durations, keys),
        by=tuple(keys),
        window_days=float(window_days),
        cutoff=cutoff,
        alpha=alpha,
        size_thresholds=thresholds,
        n_left_out=n_left_out,
    )
