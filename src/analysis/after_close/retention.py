"""B2B revenue retention: gross and net retention, logo churn, change rates and renewals.

The engine reduces the subscription changes to one row per account
(:mod:`.accounts`) and then, per group, to the sums a ratio estimator needs
(:math:`n, \\sum x, \\sum y, \\sum x^2, \\sum y^2, \\sum xy`) and the counts and
exposure of each kind of change. Rates, intervals and tests are computed here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy.stats import chi2, norm

from analysis.after_close import columns as c
from analysis.after_close.accounts import ACCOUNT_KEYS, account_rows
from analysis.after_close.rows import (
    MONTH_DAYS,
    check_cohort,
    customer_groups,
    labelled,
    post_sale_cutoff,
)
from analysis.after_close.survival_tables import group_labels, wald_differences
from analysis.core.types import Correction, check_correction
from analysis.engine.grouping import aggregate_by, series_to_utc
from analysis.engine.needs import REVENUE_RETENTION
from analysis.engine.workspace import Workspace
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval

__all__ = ["RevenueRetention", "ratio_interval", "revenue_retention"]

MIN_COMPARED = 10  # observed accounts a group needs for its NRR and GRR to be tested
_CHANGES = ((c.CHANGE_EXPANSION, "_expansions"), (c.CHANGE_CONTRACTION, "_contractions"),
            (c.CHANGE_CHURN, "_churns"))  # fmt: skip


@dataclass(frozen=True)
class RevenueRetention:
    """Gross and net revenue retention, churn, expansion and renewal per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``<by...>, accounts, observed`` (started at least
        ``horizon_months`` before the cut-off), ``mrr_start, mrr_end, grr,
        grr_ci_low, grr_ci_high, nrr, nrr_ci_low, nrr_ci_high, churned,
        logo_churn, logo_churn_ci_low, logo_churn_ci_high, renewals_due,
        renewed, renewal_rate, renewal_ci_low, renewal_ci_high, note``.
    changes : pandas.DataFrame
        ``<by...>, change, events, account_months, per_month,
        per_month_ci_low, per_month_ci_high``: expansions, contractions and
        churns per account-month lived.
    comparison : pandas.DataFrame
        ``measure`` (``nrr``, ``grr``, ``expansion_per_month``,
        ``contraction_per_month``, ``churn_per_month``, ``logo_churn``), ``group, value,
        value_rest, difference, diff_ci_low, diff_ci_high, p_value,
        p_adjusted, significant``: each group against the rest.
    by : tuple of str
    horizon_months : int
    cutoff : pandas.Timestamp
    alpha : float
    n_not_started : int
        Accounts with changes but no "new" change in the data (their start,
        and so their cohort, is unknown): left out.
    n_money_missing : int
        Observed accounts whose MRR could not be put in the reporting currency.
    """

    table: pd.DataFrame
    changes: pd.DataFrame
    comparison: pd.DataFrame
    by: tuple[str, ...]
    horizon_months: int
    cutoff: pd.Timestamp
    alpha: float
    n_not_started: int
    n_money_missing: int

    def to_frame(self) -> pd.DataFrame:
        """The per-group retention table (a copy)."""
        return self.table.copy()


def ratio_interval(
    n: np.ndarray, sx: np.ndarray, sy: np.ndarray, sxx: np.ndarray, syy: np.ndarray,
    sxy: np.ndarray, alpha: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Ratio of sums :math:`R = \\sum y / \\sum x` with its delta-method interval and se.

    Notes
    -----
    Accounts are independent draws of :math:`(x_i, y_i)`; the linearised
    variance of the ratio estimator is

    .. math:: \\widehat{Var}(R) = \\frac{n}{(n-1)\\,(\\sum x)^2}
              \\sum_i (y_i - R x_i)^2, \\qquad
              \\sum_i (y_i - R x_i)^2 = \\sum y^2 - 2R\\sum xy + R^2 \\sum x^2,

    and the interval is :math:`R \\exp(\\pm z\\,se/R)` (on the log scale, so it
    stays positive). NaN with fewer than two accounts or :math:`\\sum x = 0`.

    References
    ----------
    Cochran, W. G. (1977). Sampling Techniques, 3rd ed., section 6.4.
    """
    n, sx, sy = (np.asarray(v, dtype=float) for v in (n, sx, sy))
    sxx, syy, sxy = (np.asarray(v, dtype=float) for v in (sxx, syy, sxy))
    ok = (n >= 2) & (sx > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(sx > 0, sy / sx, np.nan)
        resid = np.maximum(syy - 2 * r * sxy + r**2 * sxx, 0.0)
        se = np.where(ok, np.sqrt(n / (n - 1) * resid) / sx, np.nan)
        z = norm.ppf(1 - alpha / 2)
        low = np.where(ok & (r > 0), r * np.exp(-z * se / r), np.nan)
        high = np.where(ok & (r > 0), r * np.exp(z * se / r), np.nan)
    return r, low, high, se


def _poisson_rate(events: np.ndarray, exposure: np.ndarray, alpha: float):
    """Events per unit of exposure with the exact (Garwood) interval."""
    k, t = np.asarray(events, dtype=float), np.asarray(exposure, dtype=float)
    ok = t > 0
    safe = np.where(ok, t, 1.0)
    low = np.where(k > 0, chi2.ppf(alpha / 2, 2 * np.maximum(k, 1)) / 2, 0.0)
    high = chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    return (np.where(ok, k / safe, np.nan), np.where(ok, low / safe, np.nan),
            np.where(ok, high / safe, np.nan))  # fmt: skip


def _sums(t: ibis.Table, keys: list[str]) -> ibis.Table:
    obs = t._observed & t._mrr0.notnull() & t._mrr_h.notnull()
    x, y = t._mrr0, t._mrr_h
    g = ibis.least(x, y)
    return aggregate_by(
        t, keys,
        _accounts=t.count(),
        _observed=obs.cast("int64").sum(),
        _money_missing=(t._observed & ~obs).cast("int64").sum(),
        _churned=(t._churn_h & t._observed).cast("int64").sum(),
        _n_obs_all=t._observed.cast("int64").sum(),
        _sx=x.sum(where=obs), _sy=y.sum(where=obs), _sg=g.sum(where=obs),
        _sxx=(x * x).sum(where=obs), _syy=(y * y).sum(where=obs), _sgg=(g * g).sum(where=obs),
        _sxy=(x * y).sum(where=obs), _sxg=(x * g).sum(where=obs),
        _due=t._due.sum(), _renewed=t._renewed.sum(),
        _months=t._months.sum(),
        _expansions=t._expansions.sum(), _contractions=t._contractions.sum(),
        _churns=t._churns.sum(),
    )  # fmt: skip


def _table(sums: pd.DataFrame, keys: list[str], alpha: float) -> pd.DataFrame:
    s = sums.fillna({col: 0 for col in sums.columns if col.startswith("_")})
    n = s["_observed"].to_numpy(dtype=float)
    out = s[keys].copy()
    out[c.N_ACCOUNTS] = s["_accounts"].astype("int64")
    out[c.N_OBSERVED] = s["_n_obs_all"].astype("int64")
    out[c.MRR_START], out[c.MRR_END] = s["_sx"].astype(float), s["_sy"].astype(float)
    grr = ratio_interval(n, s["_sx"], s["_sg"], s["_sxx"], s["_sgg"], s["_sxg"], alpha)
    nrr = ratio_interval(n, s["_sx"], s["_sy"], s["_sxx"], s["_syy"], s["_sxy"], alpha)
    out[c.GRR], out[c.GRR_CI_LOW], out[c.GRR_CI_HIGH], out["_grr_se"] = grr
    out[c.NRR], out[c.NRR_CI_LOW], out[c.NRR_CI_HIGH], out["_nrr_se"] = nrr
    out[c.N_CHURNED] = s["_churned"].astype("int64")
    rate, low, high = rate_with_interval(out[c.N_CHURNED], out[c.N_OBSERVED], alpha=alpha)
    out[c.LOGO_CHURN], out[c.LOGO_CHURN_CI_LOW], out[c.LOGO_CHURN_CI_HIGH] = rate, low, high
    out[c.RENEWALS_DUE], out[c.RENEWED] = s["_due"].astype("int64"), s["_renewed"].astype("int64")
    rate, low, high = rate_with_interval(out[c.RENEWED], out[c.RENEWALS_DUE], alpha=alpha)
    out[c.RENEWAL_RATE], out[c.RENEWAL_CI_LOW], out[c.RENEWAL_CI_HIGH] = rate, low, high
    out[c.NOTE] = np.where(out[c.N_OBSERVED] == 0, c.NOTE_NONE_OBSERVED, "")
    return out


def _changes(sums: pd.DataFrame, keys: list[str], alpha: float) -> pd.DataFrame:
    parts = []
    for change, col in _CHANGES:
        part = sums[keys].copy()
        part[c.CHANGE] = change
        part[c.N_EVENTS] = sums[col].fillna(0).astype("int64")
        part[c.ACCOUNT_MONTHS] = sums["_months"].fillna(0).astype(float)
        rate, low, high = _poisson_rate(part[c.N_EVENTS], part[c.ACCOUNT_MONTHS], alpha)
        part[c.PER_MONTH], part[c.PER_MONTH_CI_LOW], part[c.PER_MONTH_CI_HIGH] = rate, low, high
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _comparison(
    table: pd.DataFrame, keys: list[str], alpha: float, correction: Correction
) -> pd.DataFrame:
    """NRR, GRR and logo churn of each group against the pooled rest (one Holm family each)."""
    cols = [c.MEASURE, c.GROUP, c.VALUE, c.VALUE_REST, c.DIFFERENCE, c.DIFF_CI_LOW,
            c.DIFF_CI_HIGH, c.P_VALUE, c.P_ADJUSTED, c.SIGNIFICANT]  # fmt: skip
    return pd.DataFrame(columns=cols) if not keys or len(table) < 2 else _compare(
        table, keys, alpha, correction)[cols]  # fmt: skip


def _compare(table, keys, alpha, correction) -> pd.DataFrame:
    label = group_labels(table, keys).to_numpy()
    sums = table.attrs["sums"]
    total = sums[[col for col in sums.columns if col.startswith("_")]].sum()
    parts = []
    for measure, y, yy, xy in ((c.NRR, "_sy", "_syy", "_sxy"), (c.GRR, "_sg", "_sgg", "_sxg")):
        rows = []
        for i, g in enumerate(label):
            one = sums.iloc[i]
            rest = total - one[total.index]
            v, _, _, se = ratio_interval(one["_observed"], one["_sx"], one[y], one["_sxx"],
                                         one[yy], one[xy], alpha)  # fmt: skip
            w, _, _, se_r = ratio_interval(rest["_observed"], rest["_sx"], rest[y], rest["_sxx"],
                                           rest[yy], rest[xy], alpha)  # fmt: skip
            # A small group, or one whose accounts all kept their MRR, has no usable se.
            usable = one["_observed"] >= MIN_COMPARED and se > 0 and se_r > 0
            rows.append({c.GROUP: g, c.VALUE: float(v), c.VALUE_REST: float(w),
                         "_se": float(np.hypot(se, se_r)) if usable else np.nan})  # fmt: skip
        part = wald_differences(pd.DataFrame(rows), alpha, correction)
        part[c.MEASURE] = measure
        parts.append(part)
    for change, col in _CHANGES:
        k1, t1 = sums[col].to_numpy(dtype=float), sums["_months"].to_numpy(dtype=float)
        k0, t0 = k1.sum() - k1, t1.sum() - t1
        with np.errstate(divide="ignore", invalid="ignore"):
            # Poisson counts over fixed exposure: Var(k / t) = k / t^2, estimated.
            se = np.sqrt(k1 / t1**2 + k0 / t0**2)
            rows = pd.DataFrame({c.GROUP: label, c.VALUE: k1 / t1, c.VALUE_REST: k0 / t0,
                                 "_se": np.where(se > 0, se, np.nan)})  # fmt: skip
        part = wald_differences(rows, alpha, correction)
        part[c.MEASURE] = f"{change}_{c.PER_MONTH}"
        parts.append(part)
    x1 = table[c.N_CHURNED].to_numpy(dtype=float)
    n1 = table[c.N_OBSERVED].to_numpy(dtype=float)
    x0, n0 = x1.sum() - x1, n1.sum() - n1
    diff, low, high, p, p_adj = two_proportions(x1, n1, x0, n0, alpha, correction=correction)
    with np.errstate(divide="ignore", invalid="ignore"):
        churn = pd.DataFrame({
            c.MEASURE: c.LOGO_CHURN, c.GROUP: label, c.VALUE: x1 / n1, c.VALUE_REST: x0 / n0,
            c.DIFFERENCE: diff, c.DIFF_CI_LOW: low, c.DIFF_CI_HIGH: high, c.P_VALUE: p,
            c.P_ADJUSTED: p_adj, c.SIGNIFICANT: np.nan_to_num(p_adj, nan=1.0) < alpha,
        })  # fmt: skip
    parts.append(churn)
    return pd.concat(parts, ignore_index=True)


def revenue_retention(
    ws: Workspace,
    by: str | Sequence[str] | None = None,
    *,
    horizon_months: int = 12,
    cohort: str = "quarter",
    as_of: object = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> RevenueRetention:
    """Gross and net revenue retention, logo churn, change rates and renewal rate per group.

    Parameters
    ----------
    ws : Workspace
        With a ``subscriptions`` table (:data:`~analysis.engine.needs.REVENUE_RETENTION`);
        the deals (by the "new" change's ``deal_id``, else the account's first
        won deal by ``deals.account_id``) give the segment, region, rep and channel.
    by : str or list of str, optional
        ``cohort`` (calendar month or quarter of the start), ``discount`` (of
        the "new" change), ``segment``, ``region``, ``owner_id``, ``channel``,
        ``product``. Accounts without a deal form the group ``unknown``.
    horizon_months : int
        Retention is read this many months (of 365/12 days) after the start.
    cohort : {"month", "quarter"}
    as_of : timestamp, optional
        The cut-off (default :func:`~analysis.after_close.rows.post_sale_cutoff`).
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Over the groups of each comparison.

    Returns
    -------
    RevenueRetention

    Raises
    ------
    MissingInput
        Without a ``subscriptions`` table with account, date, type and MRR.

    Notes
    -----
    An account starts at its "new" change, with MRR :math:`x` after it; its
    MRR a horizon later, :math:`y`, is the MRR after its last change at most
    ``horizon_months`` months after the start. Over the accounts *observed*
    (the horizon has passed by the cut-off):

    - :math:`NRR = \\sum y / \\sum x`, :math:`GRR = \\sum \\min(x, y) / \\sum x`
      (expansion does not count), with the ratio estimator's interval
      (:func:`ratio_interval`);
    - logo churn: the share with a churn within the horizon (Wilson);
    - renewal rate: of the anniversaries (every 12 months) passed with the
      account live a month before, the share with the account still live at
      the anniversary (Wilson; each anniversary counts once);
    - expansions, contractions and churns per account-month lived (up to the
      churn or the cut-off), with the exact Poisson interval.

    Each group is compared with the rest pooled: NRR and GRR by the
    difference of the ratios (Wald, independent accounts; not tested for a
    group of fewer than :data:`MIN_COMPARED` observed accounts or without
    spread); expansions, contractions and churns per account-month by the
    difference of the rates (Wald, :math:`Var(k/t) = k/t^2`); logo churn by
    the score test and interval. p-values are adjusted over the groups of
    each measure.
    """
    REVENUE_RETENTION.check(ws)
    check_correction(correction)
    check_cohort(cohort)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    if horizon_months < 1:
        raise ValueError(f"horizon_months must be at least 1, got {horizon_months}.")
    keys = customer_groups(ws, by, ACCOUNT_KEYS)
    cutoff = post_sale_cutoff(ws, as_of)
    accounts = account_rows(ws, cutoff, horizon_months * MONTH_DAYS)
    if c.DISCOUNT in keys:
        accounts = accounts.mutate(**{c.DISCOUNT: _discount_label(accounts._discount)})
    accounts = labelled(accounts, keys, cohort, "_start")
    sums = ws.execute(_sums(accounts, keys))
    if keys:
        sums = sums.sort_values(keys).reset_index(drop=True)
        if c.COHORT in keys and len(sums):
            sums[c.COHORT] = series_to_utc(sums[c.COHORT])
    table = _table(sums, keys, alpha)
    table.attrs["sums"] = sums
    comparison = _comparison(table, keys, alpha, correction)
    table.attrs = {}
    started = ws.subscriptions
    n_all = ws.execute(started[c.CUSTOMER_ID].nunique())
    return RevenueRetention(
        table=table.drop(columns=["_grr_se", "_nrr_se"]).reset_index(drop=True),
        changes=_changes(sums, keys, alpha),
        comparison=comparison,
        by=tuple(keys),
        horizon_months=int(horizon_months),
        cutoff=cutoff,
        alpha=alpha,
        n_not_started=max(int(n_all) - int(sums["_accounts"].sum()), 0),
        n_money_missing=int(sums["_money_missing"].sum()),
    )


def _discount_label(discount: ibis.Value) -> ibis.Value:
    """A discount share as a whole-percent label ("20%"); unknown without one."""
    pct = (discount * 100).round().cast("int64").cast("string")
    return ibis.ifelse(discount.notnull(), pct.concat("%"), ibis.null("string"))
