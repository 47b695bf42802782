"""The lead funnel: MQL -> accepted -> SQL -> opportunity -> won, leads still waiting censored.

The engine reduces the leads to two small tables: counts per (group, step)
of leads that reached, advanced, were rejected or are still waiting, and
(group, step, days, event, count) rows for the time to the next step. The
rates, their intervals and the Kaplan–Meier medians are computed here on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy.stats import norm

from analysis.core.types import Granularity
from analysis.engine.durations import rounded_days
from analysis.engine.workspace import Workspace
from analysis.marketing import columns as c
from analysis.marketing.lifecycle import (
    TIMESTAMP,
    check_leads,
    lead_cutoff,
    lead_keys,
    lead_rows,
    periods_to_utc,
    time_column,
)
from analysis.stats import survival as sv
from analysis.stats.rates import rate_with_interval

__all__ = ["LeadFunnel", "lead_funnel", "reach_from_mql"]

_FLAGS = ("_reached", "_advanced", "_rejected", "_waiting")
_COUNTS = (c.N_REACHED, c.N_ADVANCED, c.N_REJECTED, c.N_WAITING)
_DECIDED_STEPS = c.FUNNEL_STEPS[:-1]  # every step but won has a next step to advance to


@dataclass(frozen=True)
class LeadFunnel:
    """Lead funnel per group and step: counts, conversion with intervals, time to the next step.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (group, step), steps in funnel order (``mql, accepted,
        sql, opportunity, won``): ``<by...>, [period,] step, reached,
        advanced, rejected, waiting, decided, conversion, ci_low, ci_high,
        from_mql, from_mql_ci_low, from_mql_ci_high, timed, censored,
        median_days, median_ci_low, median_ci_high, note, time_note``. The won
        row carries only ``reached`` (won deals) and ``from_mql``.
    durations : pandas.DataFrame
        The engine's aggregate ``<by...>, step, days, event, count``.
    by : tuple of str
    period : str or None
    alpha : float
        1 - the confidence level of every interval.
    cutoff : pandas.Timestamp
        Where waiting leads are censored.
    n_excluded : int
        Step durations left out of the time figures: a step time missing
        (reached by implication only), negative, or a lead flagged
        ``steps_out_of_order``.
    """

    table: pd.DataFrame
    durations: pd.DataFrame
    by: tuple[str, ...]
    period: str | None
    alpha: float
    cutoff: pd.Timestamp
    n_excluded: int

    def to_frame(self) -> pd.DataFrame:
        """The funnel table as a DataFrame (a copy)."""
        return self.table.copy()


def reach_from_mql(conversion: np.ndarray, decided: np.ndarray, z: float) -> pd.DataFrame:
    """Share of MQLs expected to reach each step, with a log-scale delta interval.

    ``conversion`` and ``decided`` hold one group's steps in funnel order
    (MQL first); the result has one more row than they do (the step after the
    last). Formula in :func:`lead_funnel`.
    """
    p = np.asarray(conversion, dtype=float)
    n = np.asarray(decided, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(p > 0, (1 - p) / (n * p), np.nan)
    point = np.r_[1.0, np.cumprod(p)]
    se = np.sqrt(np.r_[0.0, np.cumsum(term)])
    with np.errstate(invalid="ignore", over="ignore"):
        low = np.clip(point * np.exp(-z * se), 0, 1)
        high = np.clip(point * np.exp(z * se), 0, 1)
    zero = point == 0
    low[zero], high[zero] = 0.0, np.nan
    return pd.DataFrame({c.FROM_MQL: point, c.FROM_MQL_CI_LOW: low, c.FROM_MQL_CI_HIGH: high})


def _deal_outcomes(ws: Workspace) -> ibis.Table | None:
    if not ws.has(c.DEALS):
        return None
    d = ws.deals
    return d.select(
        _deal_key=d[c.DEAL_ID].cast("string"),
        _outcome=d[c.OUTCOME],
        _closed_at=time_column(d, c.CLOSED_AT),
        _deal_created=time_column(d, c.CREATED_AT),
    )


def _step_table(ws: Workspace, keys: list[str], period: str | None, cutoff) -> ibis.Table:
    """(keys, step, flags, days, event) for every lead at each of the four decided steps."""
    rows = lead_rows(ws, keys, period)
    deals = _deal_outcomes(ws)
    if deals is not None:
        rows = rows.left_join(deals, rows._deal == deals._deal_key)
        won = (rows._outcome == c.WON).fill_null(False)
        lost = (rows._outcome == c.LOST).fill_null(False)
        closed_at, deal_created = rows._closed_at, rows._deal_created
    else:
        won = lost = ibis.literal(False)
        closed_at = deal_created = ibis.null().cast(TIMESTAMP)
    cut = ibis.literal(cutoff).cast(TIMESTAMP) if not pd.isna(cutoff) else ibis.null(TIMESTAMP)
    failed_here = rows._failed
    steps = (
        # step, reached, advanced, rejected, start, time of advancing, time of rejection
        (c.STEP_MQL, rows._r_mql, rows._r_accepted, failed_here,
         rows._mql, rows._accepted, rows._failed_at),
        (c.STEP_ACCEPTED, rows._r_accepted, rows._r_sql, failed_here,
         rows._accepted, rows._sql, rows._failed_at),
        (c.STEP_SQL, rows._r_sql, rows._r_converted, failed_here,
         rows._sql, rows._converted, rows._failed_at),
        (c.STEP_OPPORTUNITY, rows._r_converted, won, lost,
         rows._converted.coalesce(deal_created), closed_at, closed_at),
    )  # fmt: skip
    parts = []
    for step, reached, advanced, failed, start, advanced_at, rejected_at in steps:
        adv = reached & advanced
        rej = reached & ~advanced & failed
        end = ibis.ifelse(adv, advanced_at, ibis.ifelse(rej, rejected_at, cut))
        days = ibis.ifelse(reached & rows._in_order, rounded_days(ws, start, end), ibis.null())
        parts.append(
            rows.select(
                *keys,
                **{c.STEP: ibis.literal(step)},
                _reached=reached.cast("int64"),
                _advanced=adv.cast("int64"),
                _rejected=rej.cast("int64"),
                _waiting=(reached & ~adv & ~rej).cast("int64"),
                **{c.DAYS: days.cast("float64"), c.EVENT: adv.cast("int64")},
            )
        )
    return ibis.union(*parts, distinct=False)


def _km_row(part: pd.DataFrame, alpha: float) -> dict:
    """Kaplan–Meier median days of one (group, step), with its interval and note."""
    counts = part[c.COUNT].to_numpy(dtype=float)
    events = part[c.EVENT].to_numpy()
    n, censored = int(counts.sum()), int(counts[events == 0].sum())
    row = {c.N_TIMED: n, c.N_CENSORED: censored, c.MEDIAN_DAYS: np.nan,
           c.MEDIAN_CI_LOW: np.nan, c.MEDIAN_CI_HIGH: np.nan, c.TIME_NOTE: ""}  # fmt: skip
    if n == 0:
        return {**row, c.TIME_NOTE: c.NOTE_NO_LEADS}
    if n == censored:
        return {**row, c.TIME_NOTE: c.NOTE_NO_EVENTS}
    q = sv.km_quantiles(sv.fit_km(part[c.DAYS].to_numpy(), events, counts), alpha)
    note = ""
    if np.isnan(q["median"]):
        note = c.NOTE_MEDIAN_NOT_REACHED
    elif np.isinf(q["ci_high"]):
        note = c.NOTE_CI_OPEN_ABOVE
    return {
        **row,
        c.MEDIAN_DAYS: q["median"],
        c.MEDIAN_CI_LOW: q["ci_low"],
        c.MEDIAN_CI_HIGH: np.nan if np.isinf(q["ci_high"]) else q["ci_high"],
        c.TIME_NOTE: note,
    }


def _group_rows(
    counts: pd.DataFrame, durations: pd.DataFrame, alpha: float, has_deals: bool
) -> pd.DataFrame:
    """The five step rows of one group from its counts and durations."""
    g = counts.set_index(c.STEP).reindex(list(_DECIDED_STEPS))
    g[list(_COUNTS)] = g[list(_COUNTS)].fillna(0)
    advanced = g[c.N_ADVANCED].to_numpy(dtype=float)
    decided = advanced + g[c.N_REJECTED].to_numpy(dtype=float)
    rate, low, high = rate_with_interval(advanced, decided, alpha=alpha)
    if not has_deals:
        rate[-1] = low[-1] = high[-1] = np.nan
    table = pd.DataFrame({c.STEP: list(c.FUNNEL_STEPS)})
    for col in _COUNTS:
        table[col] = pd.array([*g[col].astype("int64"), pd.NA], dtype="Int64")
    table.loc[4, c.N_REACHED] = int(advanced[-1])
    table[c.DECIDED] = pd.array([*decided.astype("int64"), pd.NA], dtype="Int64")
    table[c.CONVERSION] = np.r_[rate, np.nan]
    table[c.CI_LOW], table[c.CI_HIGH] = np.r_[low, np.nan], np.r_[high, np.nan]
    reach = reach_from_mql(rate, decided, norm.ppf(1 - alpha / 2))
    table = pd.concat([table, reach], axis=1)
    km = []
    for step in c.FUNNEL_STEPS:
        if step == c.STEP_WON:
            km.append({c.N_TIMED: pd.NA, c.N_CENSORED: pd.NA, c.TIME_NOTE: ""})
            continue
        km.append(_km_row(durations[durations[c.STEP] == step], alpha))
    table = pd.concat([table, pd.DataFrame(km)], axis=1)
    reached = table[c.N_REACHED].fillna(0).to_numpy()
    table[c.NOTE] = np.select(
        [reached == 0, np.r_[decided, 1] == 0], [c.NOTE_NO_LEADS, c.NOTE_NO_DECIDED_LEADS], ""
    )
    if not has_deals:
        for col in (c.N_ADVANCED, c.N_REJECTED, c.N_WAITING, c.DECIDED):
            table.loc[3, col] = pd.NA
        table.loc[4, c.N_REACHED] = pd.NA
        table.loc[[3, 4], c.NOTE] = c.NOTE_NO_DEALS_TABLE
        table.loc[3, [c.N_TIMED, c.N_CENSORED]] = pd.NA
        table.loc[3, [c.MEDIAN_DAYS, c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH]] = np.nan
        table.loc[3, c.TIME_NOTE] = c.NOTE_NO_DEALS_TABLE
    return table


def lead_funnel(
    ws: Workspace,
    by: str | Sequence[str] | None = c.SOURCE,
    period: Granularity | None = None,
    alpha: float = 0.05,
) -> LeadFunnel:
    """Conversion of leads from MQL to won deal, per group and step, waiting leads censored.

    Parameters
    ----------
    ws : Workspace
        With a ``leads`` table (``lead_id``, ``created_at``); reads the
        lifecycle times, ``converted_deal_id`` and, for opportunity -> won,
        the ``deals`` table's ``outcome`` and ``closed_at``.
    by : str or list of str, optional
        Lead columns to group by: ``source`` (default), ``campaign``,
        ``segment``, ``owner_id``; None for one group of all leads. Blank
        labels form the group ``unknown``.
    period : {"month", "quarter"}, optional
        Also split by the calendar period (UTC) of the lead's ``created_at``.
    alpha : float
        1 - the confidence level of every interval.

    Returns
    -------
    LeadFunnel

    Raises
    ------
    MissingInput
        Without a ``leads`` table (or without lead ids or creation times).
    ValueError
        For a ``by`` column the leads lack, a bad ``period`` or ``alpha``.

    Notes
    -----
    Steps :math:`s` = MQL, accepted, SQL, opportunity (converted into a
    deal), won. A lead *reached* :math:`s` when it carries the step's time or
    any later step's. At each of the first four steps a lead that reached it
    either *advanced* (reached the next step; at opportunity: its deal was
    won), was *rejected* (disqualified or recycled without advancing; at
    opportunity: its deal was lost) or is still *waiting* (neither, at the
    cut-off). Waiting leads are censored, not failures: the step's conversion
    is

    .. math:: \\hat p_s = \\frac{advanced_s}{advanced_s + rejected_s}

    over the :math:`n_s = advanced_s + rejected_s` decided leads, with the
    Wilson interval (:func:`analysis.stats.rates.rate_with_interval`). This
    is unbiased when a lead's fate at a step does not depend on how long the
    decision takes. The share of MQLs expected to reach step :math:`s` is
    :math:`P_s = \\prod_{j < s} \\hat p_j` (1 at MQL, the MQL -> won rate at
    won), with the delta-method interval on the log scale,
    :math:`\\mathrm{Var}(\\log P_s) \\approx \\sum_{j<s} (1-\\hat p_j)/(n_j \\hat p_j)`
    and :math:`P_s e^{\\pm z\\,se}` clipped to [0, 1] (the step estimates are
    asymptotically independent under the sequential binomial likelihood).

    Time from a step to the next: days from the step's time to the next
    step's (event) for advanced leads; rejected leads are censored at their
    rejection and waiting leads at the cut-off (:func:`.lifecycle.lead_cutoff`).
    The Kaplan–Meier median (R ``survival``'s rule) with its Brookmeyer–Crowley
    interval comes from :func:`analysis.stats.survival.fit_km` and
    :func:`analysis.stats.survival.km_quantiles` on (days, event, count) rows
    rounded to 0.01 day in the engine; it is the time to advance of leads
    that are not turned away, assuming rejection does not depend on how long
    the lead would have taken.

    Note codes: ``no_leads`` (nobody reached the step), ``no_decided_leads``
    (none decided yet), ``no_deals_table`` (opportunity -> won needs deals);
    time notes: ``no_events``, ``median_not_reached``, ``median_ci_open_above``.

    References
    ----------
    Fienberg, S. E. (1980). The Analysis of Cross-Classified Categorical Data,
    ch. 6 (continuation-ratio logits).
    Kaplan, E. L. & Meier, P. (1958). Nonparametric estimation from incomplete
    observations. JASA 53(282), 457-481.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    check_leads(ws)
    keys = lead_keys(ws, by, period)
    cutoff = lead_cutoff(ws)
    steps = _step_table(ws, keys, period, cutoff)
    gkeys = [*keys, c.STEP]
    flags = {flag: steps[flag].sum() for flag in _FLAGS}
    counts = ws.execute(steps.group_by(gkeys).aggregate(**flags))
    counts = counts.rename(columns=dict(zip(_FLAGS, _COUNTS, strict=True)))
    timed = steps.filter((steps._reached == 1) & steps[c.DAYS].notnull())
    durations = ws.execute(
        timed.group_by([*gkeys, c.DAYS, c.EVENT]).aggregate(**{c.COUNT: timed.count()})
    )
    durations[c.COUNT] = durations[c.COUNT].astype("int64")
    usable = durations[c.DAYS] >= 0
    n_excluded = int(counts[c.N_REACHED].sum()) - int(durations.loc[usable, c.COUNT].sum())
    durations = durations[usable].sort_values([*gkeys, c.DAYS, c.EVENT], kind="stable")
    durations = durations.reset_index(drop=True)
    has_deals = ws.has(c.DEALS)
    parts = []
    groups = counts.groupby(keys, sort=True, dropna=False) if keys else [((), counts)]
    for group, part in groups:
        group = group if isinstance(group, tuple) else (group,)
        mask = np.ones(len(durations), dtype=bool)
        for key, value in zip(keys, group, strict=True):
            mask &= (durations[key] == value).to_numpy() | (
                durations[key].isna().to_numpy() & pd.isna(value)
            )
        rows = _group_rows(part, durations[mask], alpha, has_deals)
        for key, value in zip(keys, group, strict=True):
            rows.insert(keys.index(key), key, value)
        parts.append(rows)
    order = [
        *keys, c.STEP, *_COUNTS, c.DECIDED, c.CONVERSION, c.CI_LOW, c.CI_HIGH,
        c.FROM_MQL, c.FROM_MQL_CI_LOW, c.FROM_MQL_CI_HIGH, c.N_TIMED, c.N_CENSORED,
        c.MEDIAN_DAYS, c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH, c.NOTE, c.TIME_NOTE,
    ]  # fmt: skip
    table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=order)
    table = periods_to_utc(table[order], keys)
    durations = periods_to_utc(durations, keys)
    return LeadFunnel(table, durations, tuple(keys), period, alpha, cutoff, n_excluded)
