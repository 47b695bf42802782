"""Back to the sale: what a customer does in the year after the close, against how it was sold.

One row per won deal whose first year after the close has passed comes back
from the engine (B2C: did the customer order again within the year; B2B: did
the account churn within it) with how the deal was sold: its channel, rep,
discount, sales cycle and whether it skipped a stage, and its size and
region. A logistic regression per outcome gives each factor's odds ratio
adjusted for the others, for size and for region. It is association, not
cause: the same buyers who take a discount may be the ones who leave.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy.stats import norm

from analysis.after_close import columns as c
from analysis.after_close.accounts import account_rows
from analysis.after_close.customers import customer_rows
from analysis.after_close.rows import (
    YEAR_DAYS,
    literal_time,
    plus_days,
    post_sale_cutoff,
    require_post_sale,
)
from analysis.core.types import Correction, check_correction
from analysis.engine.workspace import Workspace
from analysis.pipeline.adherence.per_deal import N_SKIPPED_STAGES, deal_adherence
from analysis.stats.multitest import adjust_pvalues, adjusted_levels
from analysis.stats.rates import rate_with_interval

__all__ = ["FACTORS", "ValueAfterSale", "value_after_sale"]

FACTORS = (c.CHANNEL, c.DISCOUNT, c.FACTOR_CYCLE, c.FACTOR_SKIPPED)
ALLOWED = (*FACTORS, c.OWNER_ID)
MIN_LEVEL = 20  # deals a level needs to stand alone; smaller levels are pooled as "other"
MIN_DEALS = 50  # deals an outcome needs for the model to be fitted
OTHER = "other"
_COLUMNS = [c.MEASURE, c.FACTOR, c.LEVEL, c.REFERENCE, c.N_DEALS, c.OUTCOME_RATE,
            c.RATE_CI_LOW, c.RATE_CI_HIGH, c.ODDS_RATIO, c.OR_CI_LOW, c.OR_CI_HIGH,
            c.P_VALUE, c.P_ADJUSTED, c.SIGNIFICANT, c.NOTE]  # fmt: skip


@dataclass(frozen=True)
class ValueAfterSale:
    """Adjusted odds ratios of the first year's outcome by how the deal was sold.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (measure, factor, level): ``measure``
        (``repeat_within_year`` for B2C customers, ``churn_within_year``
        for B2B accounts), ``factor, level, reference`` (the level compared
        with), ``deals, outcome_rate, rate_ci_low, rate_ci_high`` (raw, Wilson),
        ``odds_ratio, or_ci_low, or_ci_high`` (adjusted), ``p_value,
        p_adjusted, significant, note``. ``cycle_doubling`` has one row: the
        odds ratio per doubling of the sales cycle.
    deals : dict of str to int
        Deals per measure that entered the model.
    factors : tuple of str
    cutoff : pandas.Timestamp
    alpha : float
    notes : tuple of str
        What could not be used, in words (a factor the data lacks, a measure
        without enough deals).
    """

    table: pd.DataFrame
    deals: dict
    factors: tuple[str, ...]
    cutoff: pd.Timestamp
    alpha: float
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The odds-ratio table (a copy)."""
        return self.table.copy()


def _skipped(ws: Workspace) -> pd.DataFrame | None:
    """Per deal whether it skipped an open stage of the pipeline (None without stage events)."""
    if not ws.has(c.STAGE_EVENTS):
        return None
    t = deal_adherence(ws, {})
    out = ws.execute(t.select(_deal=t[c.DEAL_ID].cast("string"), _skipped=t[N_SKIPPED_STAGES]))
    return out


def _b2c_rows(ws: Workspace, cutoff) -> pd.DataFrame:
    people = customer_rows(ws, cutoff)
    seen = people.filter(
        people._deal.notnull() & (plus_days(people._first, YEAR_DAYS) <= literal_time(cutoff))
    )
    return ws.execute(seen.select(
        "_deal", c.CHANNEL, c.OWNER_ID, c.REGION, _amount=seen._deal_amount,
        _created=seen._created, _closed=seen._closed, _discount=ibis.null("float64"),
        _outcome=(seen._year_orders >= 2).cast("int64"),
    ))  # fmt: skip


def _b2b_rows(ws: Workspace, cutoff) -> pd.DataFrame:
    accounts = account_rows(ws, cutoff)
    seen = accounts.filter(accounts._observed & accounts._deal.notnull())
    return ws.execute(seen.select(
        "_deal", c.CHANNEL, c.OWNER_ID, c.REGION, "_discount", _amount=seen._deal_amount,
        _created=seen._created, _closed=seen._closed,
        _outcome=seen._churn_h.cast("int64"),
    ))  # fmt: skip


def _design(rows: pd.DataFrame, factors: Sequence[str]) -> tuple[pd.DataFrame, dict, list[str]]:
    """Model columns: dummies per categorical factor (reference = the commonest level)."""
    frame = pd.DataFrame(index=rows.index)
    references, notes = {}, []
    for factor in (*factors, c.REGION):
        if factor == c.FACTOR_CYCLE:
            days = (rows["_closed"] - rows["_created"]).dt.total_seconds() / 86_400
            if days.notna().sum() == 0:
                notes.append("the sales cycle is unknown (no creation or close dates)")
                continue
            frame[c.FACTOR_CYCLE] = np.log2(days.clip(lower=0) + 1)
            continue
        if factor == c.FACTOR_SKIPPED:
            if "_skipped" not in rows or rows["_skipped"].notna().sum() == 0:
                notes.append("stages skipped are unknown (no stage history)")
                continue
            values = np.where(rows["_skipped"].fillna(0) > 0, "yes", "no")
        elif factor == c.DISCOUNT:
            if rows["_discount"].notna().sum() == 0:
                continue  # B2C deals carry no discount
            pct = (rows["_discount"] * 100).round()
            values = np.where(pct.notna(), pct.astype("Int64").astype(str) + "%", "unknown")
        else:
            values = rows[factor].fillna("unknown").astype(str).to_numpy()
        values = pd.Series(values, index=rows.index)
        counts = values.value_counts()
        small = counts.index[counts < MIN_LEVEL]
        values = values.where(~values.isin(small), OTHER)
        levels = values.value_counts()
        if len(levels) < 2:
            continue
        named = [level for level in levels.index if level != OTHER]  # commonest named level
        ref = named[0] if named else levels.index[0]
        references[factor] = ref
        for level in sorted(levels.index):
            if level != ref:
                frame[f"{factor}={level}"] = (values == level).astype(float)
        frame[f"_label_{factor}"] = values
    return frame, references, notes


def _fit(rows: pd.DataFrame, factors: Sequence[str], measure: str, alpha: float):
    design, references, notes = _design(rows, factors)
    labels = {col[7:]: design.pop(col) for col in list(design) if col.startswith("_label_")}
    size = np.log(rows["_amount"].where(rows["_amount"] > 0))
    x = design.assign(_log_amount=size)
    keep = x.notna().all(axis=1)
    x, y = x[keep], rows.loc[keep, "_outcome"].astype(float)
    out = []
    try:
        model = sm.GLM(y, sm.add_constant(x, has_constant="add"), family=sm.families.Binomial())
        fit = model.fit()
        params, bse, pvalues = fit.params, fit.bse, fit.pvalues
        note = ""
    except (np.linalg.LinAlgError, ValueError, sm.tools.sm_exceptions.PerfectSeparationError):
        params = bse = pvalues = pd.Series(dtype=float)
        note = c.NOTE_TOO_FEW
    for factor in factors:
        if factor == c.FACTOR_CYCLE and c.FACTOR_CYCLE in x:
            out.append({c.MEASURE: measure, c.FACTOR: factor, c.LEVEL: "per doubling",
                        c.REFERENCE: "", c.N_DEALS: int(keep.sum()),
                        c.OUTCOME_RATE: float(y.mean()), "_b": params.get(factor, np.nan),
                        "_se": bse.get(factor, np.nan), c.P_VALUE: pvalues.get(factor, np.nan),
                        c.NOTE: note})  # fmt: skip
            continue
        if factor not in labels:
            continue
        values = labels[factor][keep]
        for level in sorted(values.unique()):
            n = int((values == level).sum())
            col = f"{factor}={level}"
            is_ref = level == references[factor]
            out.append({c.MEASURE: measure, c.FACTOR: factor, c.LEVEL: level,
                        c.REFERENCE: references[factor], c.N_DEALS: n,
                        c.OUTCOME_RATE: float(y[values == level].mean()),
                        "_x": float(y[values == level].sum()),
                        "_b": 0.0 if is_ref else params.get(col, np.nan),
                        "_se": np.nan if is_ref else bse.get(col, np.nan),
                        c.P_VALUE: np.nan if is_ref else pvalues.get(col, np.nan),
                        c.NOTE: note})  # fmt: skip
    return out, notes


def value_after_sale(
    ws: Workspace,
    factors: Sequence[str] = FACTORS,
    *,
    as_of: object = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> ValueAfterSale:
    """How the deal was sold against the customer's first year: adjusted odds ratios.

    Parameters
    ----------
    ws : Workspace
        With ``orders`` (B2C: repeat within the year) and/or ``subscriptions``
        (B2B: churn within the year) and the deals they came from.
    factors : sequence of str
        Any of ``channel``, ``discount`` (B2B; from the "new" change),
        ``cycle_doubling`` (days from creation to close, per doubling),
        ``skipped_stages`` (the deal skipped an open stage; needs stage
        events), ``owner_id`` (the rep).
    as_of : timestamp, optional
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Over the rows of each measure.

    Returns
    -------
    ValueAfterSale

    Raises
    ------
    MissingInput
        With neither orders nor subscriptions.

    Notes
    -----
    B2C: a customer whose first order (the won deal's) is at least 365 days
    before the cut-off *repeated* when it ordered again within 365 days. B2B:
    an account whose subscription started at least 365 days before the cut-off
    *churned* when it had a churn change within 365 days. Per outcome, a
    logistic regression

    .. math:: \\operatorname{logit} P(y=1) = \\beta_0 + \\sum_f \\beta_f x_f
              + \\gamma \\log(\\text{amount}) + \\sum_r \\delta_r [\\text{region} = r]

    with one dummy per non-reference level of each factor (the reference is
    the commonest level; levels of fewer than :data:`MIN_LEVEL` deals are
    pooled as ``other``) and :math:`\\log_2(1 + \\text{cycle days})`. The odds
    ratio :math:`e^{\\beta}` has the Wald interval at the level that agrees
    with its Holm-adjusted p-value. Raw rates have Wilson intervals.
    """
    unknown = [f for f in factors if f not in ALLOWED]
    if unknown:
        raise ValueError(f"factors must be among {', '.join(ALLOWED)}; not {unknown[0]!r}.")
    check_correction(correction)
    require_post_sale(ws, "Value a year after the close")
    cutoff = post_sale_cutoff(ws, as_of)
    skipped = _skipped(ws) if c.FACTOR_SKIPPED in factors else None
    parts, deals, notes = [], {}, []
    for measure, table, build in ((c.MEASURE_REPEAT, c.ORDERS, _b2c_rows),
                                  (c.MEASURE_CHURN, c.SUBSCRIPTIONS, _b2b_rows)):  # fmt: skip
        if not ws.has(table):
            continue
        rows = build(ws, cutoff)
        if skipped is not None:
            rows = rows.merge(skipped, on="_deal", how="left")
        deals[measure] = len(rows)
        if len(rows) < MIN_DEALS:
            notes.append(f"{measure}: only {len(rows)} deals have a first year behind them")
            continue
        got, why = _fit(rows, factors, measure, alpha)
        parts.extend(got)
        notes.extend(f"{measure}: {w}" for w in why)
    table = _finish(pd.DataFrame(parts), alpha, correction)
    return ValueAfterSale(table, deals, tuple(factors), cutoff, alpha, tuple(dict.fromkeys(notes)))


def _finish(raw: pd.DataFrame, alpha: float, correction: Correction) -> pd.DataFrame:
    if raw.empty:
        return pd.DataFrame(columns=_COLUMNS)
    out = []
    for _, part in raw.groupby(c.MEASURE, sort=False):
        part = part.copy()
        p = part[c.P_VALUE].to_numpy(dtype=float)
        p_adj = adjust_pvalues(p, correction)
        z = norm.ppf(1 - adjusted_levels(p, p_adj, alpha) / 2)
        b, se = part["_b"].to_numpy(dtype=float), part["_se"].to_numpy(dtype=float)
        part[c.ODDS_RATIO] = np.exp(b)
        part[c.OR_CI_LOW], part[c.OR_CI_HIGH] = np.exp(b - z * se), np.exp(b + z * se)
        part[c.P_ADJUSTED] = p_adj
        part[c.SIGNIFICANT] = np.nan_to_num(p_adj, nan=1.0) < alpha
        x = part["_x"].fillna(part[c.OUTCOME_RATE] * part[c.N_DEALS]) if "_x" in part else (
            part[c.OUTCOME_RATE] * part[c.N_DEALS])  # fmt: skip
        _, low, high = rate_with_interval(x.round(), part[c.N_DEALS], alpha=alpha)
        part[c.RATE_CI_LOW], part[c.RATE_CI_HIGH] = low, high
        out.append(part)
    return pd.concat(out, ignore_index=True)[_COLUMNS]
