"""Speed to lead: SQL rate by first-response delay, the trend within source, response times.

The engine reduces the accepted leads whose SQL step is decided to counts per
(group, response band) and per (group, rounded log2 hours), and the MQLs to
(group, hours, event, count) rows of time to first response. The rates,
the grouped-binomial logistic trend and the Kaplan–Meier curve are fitted
here on those aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import statsmodels.api as sm

from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.durations import seconds_between
from analysis.engine.workspace import Workspace
from analysis.marketing import columns as c
from analysis.marketing.lifecycle import (
    TIMESTAMP,
    check_leads,
    lead_cutoff,
    lead_keys,
    lead_rows,
)
from analysis.stats import survival as sv
from analysis.stats.rates import rate_with_interval

__all__ = ["CAVEAT", "SpeedToLead", "band_labels", "speed_to_lead"]

LOG2_RESOLUTION = 0.05  # log2(hours) rounded to this in the engine (about 3.5% of the hours)
HOURS_RESOLUTION = 0.1  # response times rounded to 6 minutes for the Kaplan–Meier curve
MIN_HOURS = 1.0 / 3600.0  # a response in the same second counts as one second
CAVEAT = (
    "This is an association, not the effect of answering faster: sales calls its most "
    "promising leads first, so fast-answered leads were better leads to begin with. The "
    "comparison within source removes differences between sources, not between the leads "
    "of one source; only a test that assigns response times would measure the effect."
)
_SECONDS_PER_HOUR = SECONDS_PER_DAY / 24


@dataclass(frozen=True)
class SpeedToLead:
    """SQL rate by first-response band, the trend per doubling of the delay, response times.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per response band over all leads: ``response_band, leads,
        sql, sql_rate, ci_low, ci_high, note``.
    by_group : pandas.DataFrame
        The same per (group, band), the ``by`` columns first.
    trend : pandas.DataFrame
        Two rows, ``model`` = ``stratified`` (fixed effects of the ``by``
        groups) and ``unadjusted``: ``odds_ratio`` per doubling of the delay
        with ``ci_low, ci_high``, ``p_value`` (Wald), ``leads``, ``strata``,
        ``note``.
    response_curve : pandas.DataFrame
        Kaplan–Meier share of MQLs answered by each time, per group:
        ``<by...>, hours, n_at_risk, share_responded, ci_low, ci_high``.
    response_times : pandas.DataFrame
        Per group: ``leads`` (MQLs timed), ``censored``, ``median_hours``
        with ``ci_low, ci_high``, ``note``.
    bands : tuple of float
        Band edges in hours.
    by : tuple of str
    alpha : float
    cutoff : pandas.Timestamp
    caveat : str
        Why the association is not the effect of responding faster.
    n_excluded : int
        Decided accepted leads left out of the bands and trend: no MQL or
        first-response time, a response before the MQL, or flagged
        ``steps_out_of_order``.
    """

    table: pd.DataFrame
    by_group: pd.DataFrame
    trend: pd.DataFrame
    response_curve: pd.DataFrame
    response_times: pd.DataFrame
    bands: tuple[float, ...]
    by: tuple[str, ...]
    alpha: float
    cutoff: pd.Timestamp
    caveat: str
    n_excluded: int

    def to_frame(self) -> pd.DataFrame:
        """The SQL rate by response band (a copy)."""
        return self.table.copy()

    def odds_ratio(self, model: str = c.STRATIFIED) -> tuple[float, float, float]:
        """``(odds_ratio, ci_low, ci_high)`` per doubling of the delay for one model."""
        row = self.trend.set_index(c.MODEL).loc[model]
        return float(row[c.ODDS_RATIO]), float(row[c.CI_LOW]), float(row[c.CI_HIGH])


def band_labels(bands: Sequence[float]) -> list[str]:
    """``(1, 4, 24) -> ['under 1 h', '1-4 h', '4-24 h', '24 h or more']``."""
    edges = [f"{b:g}" for b in bands]
    middle = [f"{lo}-{hi} h" for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    return [f"under {edges[0]} h", *middle, f"{edges[-1]} h or more"]


def _check_bands(bands: Sequence[float]) -> tuple[float, ...]:
    edges = tuple(float(b) for b in bands)
    if not edges or any(b <= 0 for b in edges) or list(edges) != sorted(set(edges)):
        raise ValueError(f"bands must be increasing positive hours, got {tuple(bands)!r}.")
    return edges


def _decided_accepted(ws: Workspace, keys: list[str]) -> tuple[ibis.Table, ibis.Table]:
    """Accepted leads whose SQL step is decided, with ``hours`` and ``_y`` (became an SQL);
    and the same leads with ``_usable`` (a timed, in-order response)."""
    rows = lead_rows(ws, keys)
    decided = rows.filter(rows._r_accepted & (rows._r_sql | rows._failed))
    hours = seconds_between(ws, decided._mql, decided._first_response) / _SECONDS_PER_HOUR
    usable = hours.notnull() & (hours >= 0) & decided._in_order
    marked = decided.mutate(**{c.HOURS: hours}, _y=decided._r_sql.cast("int64"), _usable=usable)
    return marked.filter(marked._usable), marked


def _band_counts(ws, leads, keys, bands) -> pd.DataFrame:
    band = sum(((leads[c.HOURS] >= b).cast("int64") for b in bands), ibis.literal(0))
    leads = leads.mutate(_band=band)
    expr = leads.group_by([*keys, "_band"]).aggregate(
        **{c.N_LEADS: leads.count(), c.N_SQL: leads._y.sum()}
    )
    return ws.execute(expr)


def _band_table(counts: pd.DataFrame, keys: list[str], labels: list[str], alpha: float):
    grid = pd.DataFrame({"_band": range(len(labels))})
    if keys:
        groups = counts[keys].drop_duplicates()
        grid = groups.merge(grid, how="cross")
    table = grid.merge(counts, on=[*keys, "_band"], how="left")
    table = table.sort_values([*keys, "_band"], kind="stable").reset_index(drop=True)
    n = table[c.N_LEADS].fillna(0).astype("int64")
    k = table[c.N_SQL].fillna(0).astype("int64")
    rate, low, high = rate_with_interval(k, n, alpha=alpha)
    return pd.DataFrame({
        **{key: table[key] for key in keys},
        c.RESPONSE_BAND: [labels[b] for b in table["_band"]],
        c.N_LEADS: n, c.N_SQL: k, c.SQL_RATE: rate, c.CI_LOW: low, c.CI_HIGH: high,
        c.NOTE: np.where(n == 0, c.NOTE_NO_LEADS, ""),
    })  # fmt: skip


def _trend_counts(ws, leads, keys) -> pd.DataFrame:
    log2h = (ibis.greatest(leads[c.HOURS], MIN_HOURS).log2() / LOG2_RESOLUTION).round()
    leads = leads.mutate(**{c.LOG2_HOURS: (log2h * LOG2_RESOLUTION).cast("float64")})
    expr = leads.group_by([*keys, c.LOG2_HOURS]).aggregate(
        **{c.N_LEADS: leads.count(), c.N_SQL: leads._y.sum()}
    )
    out = ws.execute(expr)
    return out.sort_values([*keys, c.LOG2_HOURS], kind="stable").reset_index(drop=True)


def fit_trend(counts: pd.DataFrame, strata: list[str], alpha: float) -> dict:
    """Grouped-binomial logistic fit of SQL on log2(hours), with strata fixed effects.

    Strata whose leads all became SQLs, or none did, carry no information on
    the slope (their fixed effect runs to infinity) and are left out.
    """
    n = counts[c.N_LEADS].to_numpy(dtype=float)
    k = counts[c.N_SQL].to_numpy(dtype=float)
    keep = np.ones(len(counts), dtype=bool)
    n_strata = 1
    if strata:
        sums = counts.groupby(strata, dropna=False)[[c.N_LEADS, c.N_SQL]].transform("sum")
        varied = ((sums[c.N_SQL] > 0) & (sums[c.N_SQL] < sums[c.N_LEADS])).to_numpy()
        keep &= varied
        n_strata = int(counts.loc[keep, strata].drop_duplicates().shape[0])
    out = {c.ODDS_RATIO: np.nan, c.CI_LOW: np.nan, c.CI_HIGH: np.nan, c.P_VALUE: np.nan,
           c.N_LEADS: int(n[keep].sum()), c.STRATA: n_strata, c.NOTE: ""}  # fmt: skip
    x = counts.loc[keep, c.LOG2_HOURS].to_numpy(dtype=float)
    ks, ns = k[keep], n[keep]
    if ns.sum() < 3 or ks.sum() in (0, ns.sum()) or np.unique(x).size < 2:
        return {**out, c.NOTE: c.NOTE_NO_TREND_DATA}
    exog = pd.DataFrame({"const": 1.0, c.LOG2_HOURS: x})
    if strata and n_strata > 1:
        labels = counts.loc[keep, strata].astype(str).agg(" / ".join, axis=1)
        dummies = pd.get_dummies(labels, drop_first=True, dtype=float)
        exog = pd.concat([exog, dummies.reset_index(drop=True)], axis=1)
    fit = sm.GLM(np.column_stack([ks, ns - ks]), exog, family=sm.families.Binomial()).fit()
    beta = fit.params[c.LOG2_HOURS]
    low, high = fit.conf_int(alpha=alpha).loc[c.LOG2_HOURS]
    return {
        **out,
        c.ODDS_RATIO: float(np.exp(beta)),
        c.CI_LOW: float(np.exp(low)),
        c.CI_HIGH: float(np.exp(high)),
        c.P_VALUE: float(fit.pvalues[c.LOG2_HOURS]),
    }


def _response_durations(ws, keys, cutoff) -> pd.DataFrame:
    """(keys, hours, event, count): MQL to first response, unanswered leads censored."""
    rows = lead_rows(ws, keys)
    mqls = rows.filter(rows._mql.notnull() & rows._in_order)
    cut = ibis.literal(cutoff).cast(TIMESTAMP) if not pd.isna(cutoff) else ibis.null(TIMESTAMP)
    answered = mqls._first_response.notnull()
    end = ibis.ifelse(answered, mqls._first_response, mqls._failed_at.coalesce(cut))
    end = ibis.ifelse(answered | mqls._failed_at.isnull(), end, ibis.least(end, cut))
    hours = seconds_between(ws, mqls._mql, end) / _SECONDS_PER_HOUR
    steps = 1.0 / HOURS_RESOLUTION
    timed = mqls.mutate(
        **{
            c.HOURS: ((hours * steps).round() / steps).cast("float64"),
            c.EVENT: answered.cast("int64"),
        }
    )
    expr = timed.group_by([*keys, c.HOURS, c.EVENT]).aggregate(**{c.COUNT: timed.count()})
    out = ws.execute(expr)
    out = out[out[c.HOURS].notna() & (out[c.HOURS] >= 0)]
    return out.sort_values([*keys, c.HOURS, c.EVENT], kind="stable").reset_index(drop=True)


def response_curve(hours, event, count, alpha: float) -> tuple[pd.DataFrame, dict]:
    """Kaplan–Meier share answered by each event time, with its log-log interval; the median."""
    counts = np.asarray(count, dtype=float)
    events = np.asarray(event)
    summary = {c.N_LEADS: int(counts.sum()), c.N_CENSORED: int(counts[events == 0].sum()),
               c.MEDIAN_HOURS: np.nan, c.CI_LOW: np.nan, c.CI_HIGH: np.nan, c.NOTE: ""}  # fmt: skip
    empty = pd.DataFrame(columns=[c.HOURS, c.N_AT_RISK, c.SHARE_RESPONDED, c.CI_LOW, c.CI_HIGH])
    if summary[c.N_LEADS] == 0:
        return empty, {**summary, c.NOTE: c.NOTE_NO_LEADS}
    if summary[c.N_LEADS] == summary[c.N_CENSORED]:
        return empty, {**summary, c.NOTE: c.NOTE_NO_EVENTS}
    sf = sv.fit_km(hours, events, counts)
    surv = np.asarray(sf.surv_prob, dtype=float)
    low, high = sv.loglog_interval(surv, np.asarray(sf.surv_prob_se, dtype=float) ** 2, alpha)
    curve = pd.DataFrame({
        c.HOURS: sf.surv_times, c.N_AT_RISK: np.asarray(sf.n_risk).astype("int64"),
        c.SHARE_RESPONDED: 1 - surv, c.CI_LOW: 1 - high, c.CI_HIGH: 1 - low,
    })  # fmt: skip
    q = sv.km_quantiles(sf, alpha)
    note = c.NOTE_MEDIAN_NOT_REACHED if np.isnan(q["median"]) else ""
    note = note or (c.NOTE_CI_OPEN_ABOVE if np.isinf(q["ci_high"]) else "")
    high_q = np.nan if np.isinf(q["ci_high"]) else q["ci_high"]
    return curve, {**summary, c.MEDIAN_HOURS: q["median"], c.CI_LOW: q["ci_low"],
                   c.CI_HIGH: high_q, c.NOTE: note}  # fmt: skip


def _groups(frame: pd.DataFrame, keys: list[str]):
    if not keys:
        yield (), frame
        return
    for key, part in frame.groupby(keys, sort=True, dropna=False):
        yield (key if isinstance(key, tuple) else (key,)), part


def speed_to_lead(
    ws: Workspace,
    bands: Sequence[float] = (1, 4, 24),
    by: str | Sequence[str] | None = c.SOURCE,
    alpha: float = 0.05,
) -> SpeedToLead:
    """SQL rate of accepted leads by how fast sales first responded, and the trend per doubling.

    Parameters
    ----------
    ws : Workspace
        With a ``leads`` table; reads ``mql_at``, ``first_response_at``,
        ``accepted_at``, ``sql_at``, ``converted_at``, ``disqualified_at``
        and ``recycled_at``.
    bands : sequence of float
        Band edges in hours, increasing: ``(1, 4, 24)`` gives under 1 h,
        1-4 h, 4-24 h and 24 h or more (each band closed on the left).
    by : str or list of str, optional
        Lead columns whose groups are the strata of the trend and the rows of
        ``by_group`` and the response curves (default ``source``); None for none.
    alpha : float
        1 - the confidence level of every interval.

    Returns
    -------
    SpeedToLead

    Raises
    ------
    MissingInput
        Without a ``leads`` table.
    ValueError
        For bad ``bands``, ``by`` or ``alpha``.

    Notes
    -----
    *Leads*: accepted leads (``accepted_at`` or a later step) whose SQL step
    is decided, i.e. they became an SQL (``sql_at`` or converted) or were
    disqualified or recycled without; leads still waiting are left out, not
    counted as failures. The delay is :math:`h` = hours from ``mql_at`` to
    ``first_response_at``. Per band, the SQL rate :math:`k/n` with the Wilson
    interval (:func:`analysis.stats.rates.rate_with_interval`).

    *Trend*: the logistic regression

    .. math:: \\operatorname{logit} P(\\text{SQL}) = \\alpha_g + \\beta \\log_2 h

    with a fixed effect :math:`\\alpha_g` per stratum :math:`g` (the ``by``
    groups), fitted by maximum likelihood on grouped binomial counts per
    (stratum, :math:`\\log_2 h` rounded to 0.05 in the engine; :math:`h` at least
    one second). :math:`e^{\\beta}` is the odds ratio per doubling of the delay
    within a stratum, with the Wald interval :math:`e^{\\hat\\beta \\pm z\\,se}`
    and p-value. The *unadjusted* model has one intercept; the gap between the
    two shows which way differences between strata bias the pooled figure.
    Both are associations: a lead's own quality drives both how fast it is
    answered and whether it qualifies (see ``caveat``), which no stratum
    removes.

    *Response curve*: Kaplan–Meier estimate of the share of MQLs answered
    within :math:`t` hours, :math:`1 - \\hat S(t)`, with the log-log interval
    from Greenwood's variance (:func:`analysis.stats.survival.fit_km`,
    :func:`analysis.stats.survival.loglog_interval`); leads never answered
    are censored at their disqualification or recycling, else at the cut-off.
    Hours are rounded to 0.1 in the engine. The median follows R
    ``survival`` with the Brookmeyer–Crowley interval.

    References
    ----------
    Agresti, A. (2013). Categorical Data Analysis, 3rd ed., §6.3 (stratified
    logistic models) and §5.4 (grouped binomial data).
    Oldroyd, J. B., McElheran, K. & Elkington, D. (2011). The short life of
    online sales leads. Harvard Business Review 89(3), 28.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    edges = _check_bands(bands)
    check_leads(ws)
    keys = lead_keys(ws, by)
    cutoff = lead_cutoff(ws)
    labels = band_labels(edges)
    leads, decided = _decided_accepted(ws, keys)
    totals = ws.execute(decided.aggregate(_all=decided.count(), _usable=decided._usable.sum()))
    n_excluded = int(totals["_all"].iloc[0]) - int(totals["_usable"].fillna(0).iloc[0])
    band_counts = _band_counts(ws, leads, keys, edges)
    overall = band_counts.groupby("_band", as_index=False)[[c.N_LEADS, c.N_SQL]].sum()
    table = _band_table(overall, [], labels, alpha)
    by_group = _band_table(band_counts, keys, labels, alpha)
    trend_counts = _trend_counts(ws, leads, keys)
    pooled = trend_counts.groupby(c.LOG2_HOURS, as_index=False)[[c.N_LEADS, c.N_SQL]].sum()
    stratified = fit_trend(trend_counts, keys, alpha)
    if not keys:
        stratified[c.NOTE] = stratified[c.NOTE] or c.NOTE_NO_STRATA
    trend = pd.DataFrame([
        {c.MODEL: c.STRATIFIED, **stratified},
        {c.MODEL: c.UNADJUSTED, **fit_trend(pooled, [], alpha)},
    ])  # fmt: skip
    durations = _response_durations(ws, keys, cutoff)
    curves, times = [], []
    for group, part in _groups(durations, keys):
        curve, summary = response_curve(
            part[c.HOURS].to_numpy(), part[c.EVENT].to_numpy(), part[c.COUNT].to_numpy(), alpha
        )
        named = dict(zip(keys, group, strict=True))
        curves.append(curve.assign(**named)[[*keys, *curve.columns]])
        times.append({**named, **summary})
    curve_cols = [*keys, c.HOURS, c.N_AT_RISK, c.SHARE_RESPONDED, c.CI_LOW, c.CI_HIGH]
    curve = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame(columns=curve_cols)
    return SpeedToLead(
        table=table,
        by_group=by_group,
        trend=trend,
        response_curve=curve[curve_cols],
        response_times=pd.DataFrame(times),
        bands=edges,
        by=tuple(keys),
        alpha=alpha,
        cutoff=cutoff,
        caveat=CAVEAT,
        n_excluded=n_excluded,
    )
