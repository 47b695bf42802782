"""Time from creation to close by Kaplan–Meier, with won and lost as competing outcomes.

Open deals are censored at the data cut-off instead of being dropped, which is
what makes the CRM's won-only average too short; the Aalen–Johansen
cumulative incidence gives the probability of being won (or lost) by day t.
The engine reduces the deals to (group, days, cause, count) rows
(:mod:`analysis.pipeline.cycle.durations`); :mod:`analysis.stats.survival` does the rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import NOTE_NO_CLOSED_DEALS, NOTE_NO_WON_DEALS
from analysis.core.types import WindowLike
from analysis.engine.durations import null_timestamp, rounded_days
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import as_keys
from analysis.engine.journey import data_cutoff
from analysis.engine.needs import CREATED_DATES
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle.durations import (
    CAUSE,
    CAUSE_LOST,
    CAUSE_OPEN,
    CAUSE_WON,
    CIF_LOST,
    CIF_WON,
    CLOSE_HORIZONS,
    CLOSED_ONLY_MEAN_DAYS,
    CLOSED_ONLY_MEDIAN_DAYS,
    COUNT,
    DAYS,
    HORIZON_DAYS,
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    KM_Q1_DAYS,
    KM_Q3_DAYS,
    NOTE_BEYOND_FOLLOW_UP,
    NOTE_NO_DEALS,
    P_LOST,
    P_LOST_CI_HIGH,
    P_LOST_CI_LOW,
    P_OPEN,
    P_WON,
    P_WON_CI_HIGH,
    P_WON_CI_LOW,
    VAR_LOST,
    VAR_WON,
    WON_ONLY_MEAN_DAYS,
    WON_ONLY_MEDIAN_DAYS,
    aggregate_durations,
    drop_unusable,
    iter_groups,
    km_summary,
)
from analysis.stats import survival as sv
from analysis.stats.survival import N_AT_RISK, SURVIVAL


@dataclass(frozen=True)
class TimeToClose:
    """Time from creation to close, counting open deals as censored.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``<by...>, deals, won, lost, open, km_median_days,
        km_median_ci_low, km_median_ci_high, km_q1_days, km_q3_days,
        won_only_mean_days, won_only_median_days, closed_only_mean_days,
        closed_only_median_days, note``.
    curves : pandas.DataFrame
        For plotting, one row per group and event time: ``<by...>, days,
        n_at_risk, survival, cif_won, cif_lost`` (survival + cif_won +
        cif_lost = 1).
    horizons : pandas.DataFrame
        ``<by...>, horizon_days, p_won, p_won_ci_low, p_won_ci_high, p_lost,
        p_lost_ci_low, p_lost_ci_high, p_open, note``.
    durations : pandas.DataFrame
        The engine's aggregate ``<by...>, days, cause, count`` (cause 0 open,
        1 won, 2 lost).
    by : tuple of str
    alpha : float
    cutoff : pandas.Timestamp
    n_excluded : int
        Deals left out: no ``created_at``, a closed deal without
        ``closed_at``, or a negative duration.
    n_won_undated, n_lost_undated : int
        Won and lost deals among them that lack a date. When one outcome
        lacks dates more often (a CRM that dates only wins), every figure here
        leans towards the other; the findings say so.
    n_backdated : int
        Closed deals among the undated ones that the CRM shows closed before
        they were created (``deals.backdated``): ingest keeps their outcome
        and drops their close time.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    horizons: pd.DataFrame
    durations: pd.DataFrame
    by: tuple[str, ...]
    alpha: float
    cutoff: pd.Timestamp
    n_excluded: int
    n_won_undated: int = 0
    n_lost_undated: int = 0
    n_backdated: int = 0

    def to_frame(self) -> pd.DataFrame:
        """The per-group summary as a DataFrame (a copy)."""
        return self.table.copy()


def _weighted_median(days: np.ndarray, count: np.ndarray) -> float:
    """Sample median of ``days`` repeated ``count`` times (mean of the middle two for even n).

    For durations that all ended, this is the Kaplan–Meier median by R's midpoint
    rule (:func:`analysis.stats.survival.km_quantile`), so on deals that have all
    closed the won-only and KM medians agree.
    """
    if count.sum() == 0:
        return np.nan
    order = np.argsort(days, kind="stable")
    values = np.repeat(days[order], count[order].astype(np.int64))
    return float(np.median(values))


def _naive(days: np.ndarray, cause: np.ndarray, count: np.ndarray, which) -> tuple[float, float]:
    m = np.isin(cause, which)
    n = count[m].sum()
    mean = float((days[m] * count[m]).sum() / n) if n else np.nan
    return mean, _weighted_median(days[m], count[m])


def _close_group(days, cause, count, alpha, horizons) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    n = {k: int(count[cause == v].sum()) for k, v in
         ((c.N_WON, CAUSE_WON), (c.N_LOST, CAUSE_LOST), (c.N_OPEN, CAUSE_OPEN))}  # fmt: skip
    event = (cause != CAUSE_OPEN).astype(int)
    km = km_summary(days, event, count, alpha, NOTE_NO_DEALS, NOTE_NO_CLOSED_DEALS)
    won_mean, won_median = _naive(days, cause, count, [CAUSE_WON])
    closed_mean, closed_median = _naive(days, cause, count, [CAUSE_WON, CAUSE_LOST])
    note = km[c.NOTE] or (NOTE_NO_WON_DEALS if n[c.N_WON] == 0 else "")
    row = {
        c.N_DEALS: int(count.sum()),
        **n,
        KM_MEDIAN_DAYS: km["median"],
        KM_MEDIAN_CI_LOW: km["ci_low"],
        KM_MEDIAN_CI_HIGH: km["ci_high"],
        KM_Q1_DAYS: km["q1"],
        KM_Q3_DAYS: km["q3"],
        WON_ONLY_MEAN_DAYS: won_mean,
        WON_ONLY_MEDIAN_DAYS: won_median,
        CLOSED_ONLY_MEAN_DAYS: closed_mean,
        CLOSED_ONLY_MEDIAN_DAYS: closed_median,
        c.NOTE: note,
    }
    curve = sv.aalen_johansen(days, cause, count, causes=(CAUSE_WON, CAUSE_LOST))
    curve = curve.rename(
        columns={
            f"cif_{CAUSE_WON}": CIF_WON,
            f"cif_{CAUSE_LOST}": CIF_LOST,
            f"var_{CAUSE_WON}": VAR_WON,
            f"var_{CAUSE_LOST}": VAR_LOST,
        }
    )
    # Beyond the longest duration the curves are unknown, unless every deal has closed.
    ended = curve.size and curve[SURVIVAL].iloc[-1] == 0
    follow_up = np.inf if ended else float(days.max()) if days.size else np.nan
    hz = _at_horizons(curve, horizons, follow_up, alpha)
    return row, curve, hz


def _at_horizons(curve: pd.DataFrame, horizons, follow_up: float, alpha: float) -> pd.DataFrame:
    h = np.asarray(horizons, dtype=float)
    idx = np.searchsorted(curve[DAYS].to_numpy(), h, side="right") - 1
    known = (idx >= 0) & (h <= follow_up)

    def pick(col: str, start: float) -> np.ndarray:
        values = curve[col].to_numpy()
        return np.where(idx >= 0, values[np.maximum(idx, 0)] if values.size else start, start)

    out = {HORIZON_DAYS: h}
    for name, low, high, col, var in (
        (P_WON, P_WON_CI_LOW, P_WON_CI_HIGH, CIF_WON, VAR_WON),
        (P_LOST, P_LOST_CI_LOW, P_LOST_CI_HIGH, CIF_LOST, VAR_LOST),
    ):
        est = pick(col, 0.0)
        lo, hi = sv.loglog_interval(est, pick(var, 0.0), alpha)
        out[name] = np.where(h <= follow_up, est, np.nan)
        out[low], out[high] = np.where(known, lo, np.nan), np.where(known, hi, np.nan)
    out[P_OPEN] = np.where(h <= follow_up, pick(SURVIVAL, 1.0), np.nan)
    frame = pd.DataFrame(out)
    frame[c.NOTE] = np.where(h <= follow_up, "", NOTE_BEYOND_FOLLOW_UP)
    return frame


def time_to_close(
    ws: Workspace,
    by: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    horizons: Sequence[float] = CLOSE_HORIZONS,
    *,
    window: WindowLike | None = None,
) -> TimeToClose:
    """Time from creation to close by Kaplan–Meier, with won and lost as competing outcomes.

    Parameters
    ----------
    ws : Workspace
    by : str or list of str, optional
        Deal columns to group by.
    alpha : float
        1 - confidence level of every interval.
    horizons : sequence of float
        Days at which to report the probability of being won (and lost).
    window : Window or (start, end), optional
        Only deals created in ``[start, end)`` (naive times read as UTC); open
        deals are still censored at the data's cut-off.

    Returns
    -------
    TimeToClose

    Notes
    -----
    Duration is ``closed_at - created_at`` for won and lost deals (events)
    and ``cutoff - created_at`` for open deals (censored at
    ``data_cutoff(ws)``), rounded to 0.01 day in the engine. The KM median,
    its Brookmeyer–Crowley interval and the quartiles treat any close as the
    event (:func:`analysis.stats.survival.km_quantiles`); a median or quartile
    where the curve is flat at exactly 0.5 (0.75, 0.25) is the midpoint of the
    flat stretch, as R ``survival`` reports it. The cumulative incidence of
    winning, :math:`F_{won}(t) = \\sum_{u \\le t} \\hat S(u^-) d_{won}(u) / n(u)`
    (Aalen–Johansen), is the probability that a deal is won within ``t``
    days; its interval uses the delta-method variance of
    :func:`analysis.stats.survival.aalen_johansen` on the log(-log) scale
    (:func:`analysis.stats.survival.loglog_interval`). Horizons beyond the longest
    observed duration are NaN (``beyond_follow_up``).

    ``won_only_mean_days`` is what CRM reports show: the mean over won deals
    only. It leaves out every deal still open — and open deals are the slow
    ones — so it understates the cycle while many deals are in flight.
    ``closed_only_*`` average won and lost deals (same bias). The won-only and
    closed-only medians are sample medians (the mean of the two middle values
    when n is even), the convention of the KM median: with no deal open,
    ``closed_only_median_days`` equals ``km_median_days``, and so does
    ``won_only_median_days`` when no deal was lost either.
    """
    CREATED_DATES.check(ws)
    keys = as_keys(by)
    cutoff = data_cutoff(ws)
    deals = deals_created_in(ws, window)
    outcome = deals[c.OUTCOME]
    cut = ibis.literal(cutoff) if not pd.isna(cutoff) else null_timestamp()
    closed_at = deals[c.CLOSED_AT] if c.CLOSED_AT in deals.columns else null_timestamp()
    end = ibis.ifelse(outcome == c.OPEN, cut, closed_at)
    cause = outcome.cases((c.WON, CAUSE_WON), (c.LOST, CAUSE_LOST), else_=CAUSE_OPEN)
    d = deals.mutate(**{DAYS: rounded_days(ws, deals[c.CREATED_AT], end), CAUSE: cause})
    durations = aggregate_durations(ws, d, keys, CAUSE)
    undated = durations[durations[DAYS].isna()].groupby(CAUSE)[COUNT].sum()
    n_backdated = (
        int(ws.execute(deals[c.BACKDATED].fillna(False).cast("int64").sum()) or 0)
        if c.BACKDATED in deals.columns
        else 0
    )
    table, n_excluded = drop_unusable(durations)

    rows, curves, hzs = [], [], []
    for group, part in iter_groups(table, keys):
        label = dict(zip(keys, group, strict=True))
        row, curve, hz = _close_group(
            part[DAYS].to_numpy(dtype=float), part[CAUSE].to_numpy(dtype=np.int64),
            part[COUNT].to_numpy(dtype=np.int64), alpha, horizons,
        )  # fmt: skip
        rows.append({**label, **row})
        curves.append(curve.assign(**label))
        hzs.append(hz.assign(**label))
    curve_cols = [*keys, DAYS, N_AT_RISK, SURVIVAL, CIF_WON, CIF_LOST]
    hz_cols = [*keys, HORIZON_DAYS, P_WON, P_WON_CI_LOW, P_WON_CI_HIGH]
    hz_cols += [P_LOST, P_LOST_CI_LOW, P_LOST_CI_HIGH, P_OPEN, c.NOTE]
    summary = pd.DataFrame(rows)
    if summary.empty:
        summary = pd.DataFrame(columns=[*keys, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN])
    return TimeToClose(
        table=summary.reset_index(drop=True),
        curves=pd.concat(curves, ignore_index=True)[curve_cols]
        if curves
        else pd.DataFrame(columns=curve_cols),
        horizons=pd.concat(hzs, ignore_index=True)[hz_cols]
        if hzs
        else pd.DataFrame(columns=hz_cols),
        durations=table,
        by=tuple(keys),
        alpha=alpha,
        cutoff=cutoff,
        n_excluded=n_excluded,
        n_won_undated=int(undated.get(CAUSE_WON, 0)),
        n_lost_undated=int(undated.get(CAUSE_LOST, 0)),
        n_backdated=n_backdated,
    )
