"""Cycle time that counts open deals honestly: time in stage and time to close.

CRM reports average the cycle of won deals only, which drops every slow deal
that is still open and so understates how long deals take. Here every stay
and every deal counts: finished ones as events, ongoing ones as censored at
the data cutoff, and Kaplan–Meier (statsmodels ``SurvfuncRight``) estimates
the distribution. Won and lost are competing outcomes of time to close
(Aalen–Johansen cumulative incidence). Row-level work — durations, rounding,
grouping — runs in the engine and returns one row per (group, rounded
duration, outcome) with a count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis import columns as c
from analysis import survival as sv
from analysis.engine import Workspace
from analysis.grouping import as_keys
from analysis.journey import LEFT_AT, data_cutoff, stage_stays

# --- result columns ----------------------------------------------------------------
DAYS = sv.DAYS  # duration in days, rounded to RESOLUTION_DAYS
EVENT = "event"  # duration table: 1 = finished (stay left / deal closed), 0 = censored
CAUSE = "cause"  # duration table of time to close: 0 open, 1 won, 2 lost
COUNT = "count"  # duration table: durations in the row
N_STAYS = "n_stays"
N_CENSORED = "n_censored"
MEDIAN_DAYS = "median_days"
MEDIAN_CI_LOW = "median_ci_low"
MEDIAN_CI_HIGH = "median_ci_high"
Q1_DAYS = "q1_days"  # 25% have finished by then
Q3_DAYS = "q3_days"  # 75% have finished by then
KM_MEDIAN_DAYS = "km_median_days"
KM_MEDIAN_CI_LOW = "km_median_ci_low"
KM_MEDIAN_CI_HIGH = "km_median_ci_high"
KM_Q1_DAYS = "km_q1_days"
KM_Q3_DAYS = "km_q3_days"
WON_ONLY_MEAN_DAYS = "won_only_mean_days"  # what CRM reports show: mean over won deals
WON_ONLY_MEDIAN_DAYS = "won_only_median_days"
CLOSED_ONLY_MEAN_DAYS = "closed_only_mean_days"
CLOSED_ONLY_MEDIAN_DAYS = "closed_only_median_days"
N_AT_RISK = sv.N_AT_RISK
SURVIVAL = sv.SURVIVAL  # share still open after `days`
CIF_WON = "cif_won"  # probability of being won by `days`
CIF_LOST = "cif_lost"
VAR_WON, VAR_LOST = "var_cif_won", "var_cif_lost"  # delta-method variances (internal)
HORIZON_DAYS = "horizon_days"
P_WON, P_WON_CI_LOW, P_WON_CI_HIGH = "p_won", "p_won_ci_low", "p_won_ci_high"
P_LOST, P_LOST_CI_LOW, P_LOST_CI_HIGH = "p_lost", "p_lost_ci_low", "p_lost_ci_high"
P_OPEN = "p_open"

# --- message codes in the note column ------------------------------------------------
NOTE_NO_STAYS = "no_stays"
NOTE_NO_DEALS = "no_deals"
NOTE_NO_EVENTS = "no_completed_stays"
NOTE_NO_CLOSED = c.NOTE_NO_CLOSED_DEALS
NOTE_MEDIAN_NOT_REACHED = "median_not_reached"
NOTE_CI_OPEN_ABOVE = "median_ci_open_above"
NOTE_CI_NOT_ESTIMABLE = "median_ci_not_estimable"
NOTE_NO_WON = "no_won_deals"
NOTE_BEYOND_FOLLOW_UP = "beyond_follow_up"

RESOLUTION_DAYS = 0.01  # durations are rounded to 0.01 day (14.4 minutes) in the engine
HORIZONS = (30, 90, 180, 365)
CAUSE_OPEN, CAUSE_WON, CAUSE_LOST = 0, 1, 2


def _rounded_days(start: ibis.Value, end: ibis.Value) -> ibis.Value:
    """Days from start to end, rounded to RESOLUTION_DAYS, in the engine."""
    seconds = end.epoch_seconds() - start.epoch_seconds()
    steps = 1.0 / RESOLUTION_DAYS
    return ((seconds / (86400.0 / steps)).round() / steps).cast("float64")


def _aggregate(ws: Workspace, table: ibis.Table, keys: list[str], flag: str) -> pd.DataFrame:
    expr = table.group_by([*keys, DAYS, flag]).aggregate(**{COUNT: table.count()})
    out = ws.execute(expr)
    out[COUNT] = out[COUNT].astype("int64")
    return out


def _usable(table: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop durations that are missing or negative; return the rest and how many went.

    Done on the aggregate, so the engine runs one query instead of two.
    """
    usable = table[DAYS].notna() & (table[DAYS] >= 0)
    return table[usable].reset_index(drop=True), int(table.loc[~usable, COUNT].sum())


def _groups(frame: pd.DataFrame, keys: list[str]):
    if not keys:
        yield (), frame
        return
    for key, part in frame.groupby(keys, sort=True, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), part


def _km_row(days, event, count, alpha: float, empty: str, no_events: str) -> dict:
    """KM median, interval and quartiles of one group, with a note code."""
    n = int(np.sum(count))
    censored = int(np.sum(np.asarray(count)[np.asarray(event) == 0]))
    row = {
        N_STAYS: n,
        N_CENSORED: censored,
        "median": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "q1": np.nan,
        "q3": np.nan,
    }
    if n == 0:
        return {**row, c.NOTE: empty}
    if n == censored:
        return {**row, c.NOTE: no_events}
    q = sv.km_quantiles(sv.fit_km(days, event, count), alpha)
    note = ""
    if np.isnan(q["median"]):
        note = NOTE_MEDIAN_NOT_REACHED
    elif np.isinf(q["ci_high"]):
        note = NOTE_CI_OPEN_ABOVE
    elif np.isnan(q["ci_low"]):
        note = NOTE_CI_NOT_ESTIMABLE
    q["ci_high"] = np.nan if np.isinf(q["ci_high"]) else q["ci_high"]
    return {**row, **q, c.NOTE: note}


@dataclass(frozen=True)
class TimeInStage:
    """Kaplan–Meier time in each open stage, per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, stage), stages in pipeline order: ``<by...>,
        stage, n_stays, n_censored, median_days, median_ci_low,
        median_ci_high, q1_days, q3_days, note``.
    durations : pandas.DataFrame
        The engine's aggregate ``<by...>, stage, days, event, count``.
    by : tuple of str
    alpha : float
    cutoff : pandas.Timestamp
        Where ongoing stays are censored.
    n_excluded : int
        Stays left out: no entry time, negative duration, or a closed deal
        whose last open stage has no exit time.
    """

    table: pd.DataFrame
    durations: pd.DataFrame
    by: tuple[str, ...]
    alpha: float
    cutoff: pd.Timestamp
    n_excluded: int

    def to_frame(self) -> pd.DataFrame:
        """The per-stage summary as a DataFrame (a copy)."""
        return self.table.copy()


def time_in_stage(
    ws: Workspace, by: str | Sequence[str] | None = None, alpha: float = 0.05
) -> TimeInStage:
    """Median time in each open stage with its interval and quartiles (Kaplan–Meier).

    Parameters
    ----------
    ws : Workspace
        With ``deals`` and ``stage_events``.
    by : str or list of str, optional
        Deal columns to group by (segment, source, owner_id, ...).
    alpha : float
        1 - confidence level of the median's interval.

    Returns
    -------
    TimeInStage

    Notes
    -----
    A *stay* is one entry into an open stage (``journey.stage_stays``); a
    deal that re-enters a stage has several. A stay is finished (event) when
    the deal entered another stage (``left_at``) — advancing, moving back or
    being lost — and its duration is ``left_at - entered_at``. The deal's
    current stay is censored at ``data_cutoff(ws)`` when the deal is open; when
    the deal is closed but no terminal stage was recorded, the stay ends (event)
    at ``closed_at``, else it is excluded. Terminal stages are not stays.
    Durations are rounded to 0.01 day in the engine and the (days, event,
    count) table is fitted with ``SurvfuncRight(freq_weights=count)``; the
    interval is Brookmeyer–Crowley with Greenwood's variance
    (:func:`analysis.survival.fit_km`, :func:`analysis.survival.km_quantiles`).
    """
    keys = as_keys(by)
    pipeline = ws.pipeline
    cutoff = data_cutoff(ws)
    stays = stage_stays(ws)
    stays = stays.filter(stays[c.STAGE].isin(list(pipeline.stages)))
    deals = ws.deals
    closed_at = (
        deals[c.CLOSED_AT] if c.CLOSED_AT in deals.columns else ibis.null().cast("timestamp('UTC')")
    )
    deal_cols = deals.select(c.DEAL_ID, *keys, _outcome=deals[c.OUTCOME], _closed_at=closed_at)
    j = stays.inner_join(deal_cols, c.DEAL_ID)
    is_open = j._outcome == c.OPEN
    cut = ibis.literal(cutoff) if not pd.isna(cutoff) else ibis.null().cast("timestamp('UTC')")
    end = ibis.coalesce(j[LEFT_AT], ibis.ifelse(is_open, cut, j._closed_at))
    event = ibis.ifelse(j[LEFT_AT].notnull() | ~is_open, 1, 0)
    j = j.mutate(**{DAYS: _rounded_days(j[c.ENTERED_AT], end), EVENT: event})
    table, n_excluded = _usable(_aggregate(ws, j, [*keys, c.STAGE], EVENT))

    rows = []
    for group, part in _groups(table, keys):
        for stage in pipeline.stages:
            s = part[part[c.STAGE] == stage]
            r = _km_row(
                s[DAYS].to_numpy(), s[EVENT].to_numpy(), s[COUNT].to_numpy(),
                alpha, NOTE_NO_STAYS, NOTE_NO_EVENTS,
            )  # fmt: skip
            rows.append({**dict(zip(keys, group, strict=True)), c.STAGE: stage, **r})
    out = pd.DataFrame(rows).rename(
        columns={
            "median": MEDIAN_DAYS,
            "ci_low": MEDIAN_CI_LOW,
            "ci_high": MEDIAN_CI_HIGH,
            "q1": Q1_DAYS,
            "q3": Q3_DAYS,
        }
    )
    cols = [*keys, c.STAGE, N_STAYS, N_CENSORED, MEDIAN_DAYS, MEDIAN_CI_LOW, MEDIAN_CI_HIGH]
    out = out.reindex(columns=[*cols, Q1_DAYS, Q3_DAYS, c.NOTE])
    return TimeInStage(out, table, tuple(keys), alpha, cutoff, n_excluded)


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
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    horizons: pd.DataFrame
    durations: pd.DataFrame
    by: tuple[str, ...]
    alpha: float
    cutoff: pd.Timestamp
    n_excluded: int

    def to_frame(self) -> pd.DataFrame:
        """The per-group summary as a DataFrame (a copy)."""
        return self.table.copy()


def _weighted_median(days: np.ndarray, count: np.ndarray) -> float:
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
    km = _km_row(days, event, count, alpha, NOTE_NO_DEALS, NOTE_NO_CLOSED)
    won_mean, won_median = _naive(days, cause, count, [CAUSE_WON])
    closed_mean, closed_median = _naive(days, cause, count, [CAUSE_WON, CAUSE_LOST])
    note = km[c.NOTE] or (NOTE_NO_WON if n[c.N_WON] == 0 else "")
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
    horizons: Sequence[float] = HORIZONS,
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

    Returns
    -------
    TimeToClose

    Notes
    -----
    Duration is ``closed_at - created_at`` for won and lost deals (events)
    and ``cutoff - created_at`` for open deals (censored at
    ``data_cutoff(ws)``), rounded to 0.01 day in the engine. The KM median,
    its Brookmeyer–Crowley interval and the quartiles treat any close as the
    event (:func:`analysis.survival.km_quantiles`). The cumulative incidence of
    winning, :math:`F_{won}(t) = \\sum_{u \\le t} \\hat S(u^-) d_{won}(u) / n(u)`
    (Aalen–Johansen), is the probability that a deal is won within ``t``
    days; its interval uses the delta-method variance of
    :func:`analysis.survival.aalen_johansen` on the log(-log) scale
    (:func:`analysis.survival.loglog_interval`). Horizons beyond the longest
    observed duration are NaN (``beyond_follow_up``).

    ``won_only_mean_days`` is what CRM reports show: the mean over won deals
    only. It leaves out every deal still open — and open deals are the slow
    ones — so it understates the cycle while many deals are in flight.
    ``closed_only_*`` average won and lost deals (same bias).
    """
    keys = as_keys(by)
    cutoff = data_cutoff(ws)
    deals = ws.deals
    outcome = deals[c.OUTCOME]
    cut = ibis.literal(cutoff) if not pd.isna(cutoff) else ibis.null().cast("timestamp('UTC')")
    closed_at = (
        deals[c.CLOSED_AT] if c.CLOSED_AT in deals.columns else ibis.null().cast("timestamp('UTC')")
    )
    end = ibis.ifelse(outcome == c.OPEN, cut, closed_at)
    cause = outcome.cases((c.WON, CAUSE_WON), (c.LOST, CAUSE_LOST), else_=CAUSE_OPEN)
    d = deals.mutate(**{DAYS: _rounded_days(deals[c.CREATED_AT], end), CAUSE: cause})
    table, n_excluded = _usable(_aggregate(ws, d, keys, CAUSE))

    rows, curves, hzs = [], [], []
    for group, part in _groups(table, keys):
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
    )
