"""The organisation against its own history: period over period, year over year, trends.

Each measure of a window of created deals — deals created, win rate, won
revenue, average won deal, median cycle — is set beside the same measure of
an earlier window (the one just before, or the same window a year earlier),
with the interval of the change and a test. Trend tables give the same
measures by calendar month or quarter for charts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import norm, t, ttest_ind_from_stats
from statsmodels.stats.rates import confint_poisson_2indep, test_poisson_2indep

from analysis.core.types import Granularity, Window, WindowLike, as_window
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import series_to_utc
from analysis.engine.needs import CLOSE_DATES, CREATED_DATES
from analysis.engine.reach import PERIOD_TRUNCATE
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle import (
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    time_to_close,
)
from analysis.pipeline.funnel import win_rates
from analysis.stats.means import positive_mean_interval
from analysis.stats.proportions import two_proportions
from analysis.team import columns as c

__all__ = [
    "PeriodComparison",
    "compare_periods",
    "period_before",
    "trend",
    "year_before",
]

VALUE_CURRENT, VALUE_BASELINE = "value_current", "value_baseline"
CI_LOW_CURRENT, CI_HIGH_CURRENT = "ci_low_current", "ci_high_current"
CI_LOW_BASELINE, CI_HIGH_BASELINE = "ci_low_baseline", "ci_high_baseline"
CHANGE_KIND = "change"  # "difference" (current - baseline) or "ratio" (current / baseline)
DEALS_PER_DAY = "deals_created_per_day"
NOTE_NO_CHANGE_INTERVAL = "no_interval_for_change"
NOTE_NO_DEALS_IN_WINDOW = "no_deals_in_a_window"


def period_before(window: Window) -> Window:
    """The window of the same length that ends where ``window`` starts.

    Windows that start and end on the first of a month move by whole months
    (the quarter before a quarter), others by their length in time.
    """
    start, end = window.start, window.end
    if start is None or end is None:
        return Window(None, None)  # an open window has no "before"; compare_periods says so
    if start.day == 1 and end.day == 1 and start == start.normalize() and end == end.normalize():
        months = (end.year - start.year) * 12 + end.month - start.month
        return Window(start - pd.DateOffset(months=months), start)
    return Window(start - (end - start), start)


def year_before(window: Window) -> Window:
    """The same calendar window one year earlier (open for an open window)."""
    if window.start is None or window.end is None:
        return Window(None, None)
    return Window(window.start - pd.DateOffset(years=1), window.end - pd.DateOffset(years=1))


@dataclass(frozen=True)
class PeriodComparison:
    """Measures of two windows with the interval of the change.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (group, metric): ``metric, value_current, ci_low_current,
        ci_high_current, value_baseline, ci_low_baseline, ci_high_baseline,
        change, difference, diff_ci_low, diff_ci_high, p_value, note``.
    current, baseline : Window or (start, end)
    alpha : float
    """

    table: pd.DataFrame
    current: Window
    baseline: Window
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The comparison (a copy)."""
        return self.table.copy()


def _window_stats(ws: Workspace, window: Window, alpha: float) -> dict:
    deals = deals_created_in(ws, window)
    scoped = ws.with_table(c.DEALS, deals)
    rates = win_rates(scoped, alpha=alpha).to_frame().iloc[0]
    won = deals.filter(deals[c.OUTCOME] == c.WON)
    amt = won[c.AMOUNT]
    sums = ws.execute(won.aggregate(n=amt.count(), s=amt.sum(), ss=(amt * amt).sum())).iloc[0]
    ttc = time_to_close(scoped, alpha=alpha).to_frame()
    cycle = ttc.iloc[0] if len(ttc) and KM_MEDIAN_DAYS in ttc.columns else None
    return {
        "deals": int(np.nan_to_num(rates[c.N_DEALS])),
        "won": int(np.nan_to_num(rates[c.N_WON])),
        "closed": int(np.nan_to_num(rates[c.N_WON]) + np.nan_to_num(rates[c.N_LOST])),
        "rate": (rates[c.WIN_RATE], rates[c.CI_LOW], rates[c.CI_HIGH]),
        "n_amt": float(sums["n"] or 0),
        "s_amt": float(sums["s"] or 0.0),
        "ss_amt": float(sums["ss"] or 0.0),
        "cycle": (np.nan, np.nan, np.nan)
        if cycle is None
        else (cycle[KM_MEDIAN_DAYS], cycle[KM_MEDIAN_CI_LOW], cycle[KM_MEDIAN_CI_HIGH]),
        "days": window.days,
    }


def _row(metric, cur, base, kind, difference, low, high, p, note="") -> dict:
    return {
        c.METRIC: metric,
        VALUE_CURRENT: cur[0], CI_LOW_CURRENT: cur[1], CI_HIGH_CURRENT: cur[2],
        VALUE_BASELINE: base[0], CI_LOW_BASELINE: base[1], CI_HIGH_BASELINE: base[2],
        CHANGE_KIND: kind, c.DIFFERENCE: difference, c.DIFF_CI_LOW: low, c.DIFF_CI_HIGH: high,
        c.P_VALUE: p, c.NOTE: note,
    }  # fmt: skip


def _deal_rows(a: dict, b: dict, alpha: float) -> list[dict]:
    rows = []
    # Deals created per day: Poisson rates with exposure = window days.
    ra, rb = a["deals"] / a["days"], b["deals"] / b["days"]
    if a["deals"] and b["deals"]:
        low, high = confint_poisson_2indep(
            a["deals"], a["days"], b["deals"], b["days"], method="score", compare="ratio",
            alpha=alpha,
        )  # fmt: skip
        p = test_poisson_2indep(a["deals"], a["days"], b["deals"], b["days"]).pvalue
        rows.append(_row(DEALS_PER_DAY, (ra, np.nan, np.nan), (rb, np.nan, np.nan), "ratio",
                         ra / rb, low, high, p))  # fmt: skip
    else:
        rows.append(_row(DEALS_PER_DAY, (ra, np.nan, np.nan), (rb, np.nan, np.nan), "ratio",
                         np.nan, np.nan, np.nan, np.nan, NOTE_NO_DEALS_IN_WINDOW))  # fmt: skip
    # Win rate of the cohorts.
    if a["closed"] and b["closed"]:
        _, low, high, p, _ = (
            float(v) for v in two_proportions(a["won"], a["closed"], b["won"], b["closed"], alpha)
        )
        rows.append(_row(c.WIN_RATE, a["rate"], b["rate"], "difference",
                         a["rate"][0] - b["rate"][0], low, high, p))  # fmt: skip
    else:
        rows.append(_row(c.WIN_RATE, a["rate"], b["rate"], "difference", np.nan, np.nan,
                         np.nan, np.nan, c.NOTE_NO_CLOSED_DEALS))  # fmt: skip
    return rows


def _money_rows(a: dict, b: dict, alpha: float) -> list[dict]:
    z = norm.ppf(1 - alpha / 2)
    # Won revenue per day: compound Poisson, Var(sum) estimated by the sum of squares.
    ya, yb = a["s_amt"] / a["days"], b["s_amt"] / b["days"]
    se_a, se_b = np.sqrt(a["ss_amt"]) / a["days"], np.sqrt(b["ss_amt"]) / b["days"]
    se = np.hypot(se_a, se_b)
    p = 2 * norm.sf(abs(ya - yb) / se) if se > 0 else np.nan
    # Money is positive: each window's interval is built on the log scale.
    (la, lb), (ha, hb) = positive_mean_interval([ya, yb], [se_a, se_b], z)
    rows = [_row("won_amount_per_day", (ya, la, ha), (yb, lb, hb), "difference", ya - yb,
                 ya - yb - z * se, ya - yb + z * se, p)]  # fmt: skip
    # Average won deal: Welch.
    stats = []
    for w in (a, b):
        n, s, ss = w["n_amt"], w["s_amt"], w["ss_amt"]
        mean = s / n if n else np.nan
        sd = np.sqrt(max(ss - n * mean**2, 0.0) / (n - 1)) if n >= 2 else np.nan
        q = t.ppf(1 - alpha / 2, n - 1) if n >= 2 else np.nan
        low, high = positive_mean_interval(mean, sd / np.sqrt(n) if n else np.nan, q)
        stats.append((mean, sd, n, (float(low), float(high))))
    (ma, sa, na, ia), (mb, sb, nb, ib) = stats
    if na >= 2 and nb >= 2:
        se = np.sqrt(sa**2 / na + sb**2 / nb)
        df = se**4 / ((sa**2 / na) ** 2 / (na - 1) + (sb**2 / nb) ** 2 / (nb - 1))
        half = t.ppf(1 - alpha / 2, df) * se
        p = ttest_ind_from_stats(ma, sa, na, mb, sb, nb, equal_var=False).pvalue
        rows.append(_row(c.AVG_WON_DEAL, (ma, *ia), (mb, *ib),
                         "difference", ma - mb, ma - mb - half, ma - mb + half, p))  # fmt: skip
    else:
        rows.append(_row(c.AVG_WON_DEAL, (ma, np.nan, np.nan), (mb, np.nan, np.nan),
                         "difference", ma - mb, np.nan, np.nan, np.nan,
                         c.NOTE_TOO_FEW_AMOUNTS))  # fmt: skip
    return rows


def compare_periods(
    ws: Workspace, current: WindowLike, baseline: WindowLike, alpha: float = 0.05
) -> PeriodComparison:
    """Measures of deals created in ``current`` against those created in ``baseline``.

    Parameters
    ----------
    ws : Workspace
    current, baseline : Window or (start, end)
        E.g. the last full quarter and :func:`period_before` (period over
        period) or :func:`year_before` (year over year) of it.
    alpha : float

    Returns
    -------
    PeriodComparison

    Notes
    -----
    - ``deals_created_per_day``: ratio of Poisson rates (deals / window
      days) with a score interval and test (``statsmodels.stats.rates``).
    - ``win_rate``: won / (won + lost) of each creation cohort; the
      Miettinen–Nurminen score test and the interval that inverts it
      (:func:`analysis.stats.proportions.two_proportions`). A recent cohort still has
      open deals; they are neither wins nor losses.
    - ``won_amount_per_day``: won revenue of the cohort per window day;
      the sum of won amounts is treated as compound Poisson, so
      :math:`\\widehat{Var}(\\sum a_i) = \\sum a_i^2` and the difference has a
      normal interval.
    - ``avg_won_deal``: Welch interval and test.
    - ``median_cycle_days``: Kaplan–Meier median time to close of each
      cohort with its interval; no interval is given for the change (note
      ``no_interval_for_change``).
    """
    CREATED_DATES.check(ws)
    current = as_window(current, "current", bounded=True)
    baseline = as_window(baseline, "baseline", bounded=True)
    a, b = _window_stats(ws, current, alpha), _window_stats(ws, baseline, alpha)
    rows = _deal_rows(a, b, alpha) + _money_rows(a, b, alpha)
    rows.append(_row(c.MEDIAN_CYCLE_DAYS, a["cycle"], b["cycle"], "difference",
                     a["cycle"][0] - b["cycle"][0], np.nan, np.nan, np.nan,
                     NOTE_NO_CHANGE_INTERVAL))  # fmt: skip
    return PeriodComparison(pd.DataFrame(rows), current, baseline, alpha)


def trend(
    ws: Workspace,
    period: Granularity = "month",
    by: str | None = None,
    alpha: float = 0.05,
    *,
    window: WindowLike | None = None,
) -> pd.DataFrame:
    """Win rate, volume, won revenue and median cycle per calendar month or quarter.

    Parameters
    ----------
    ws : Workspace
    period : {"month", "quarter"}
        Calendar period (UTC) of deal creation.
    by : str, optional
        Deal column to split by (e.g. ``segment``).
    alpha : float
    window : Window or (start, end), optional
        Creation-date window.

    Returns
    -------
    pandas.DataFrame
        ``period, <by>, deals, won, lost, open, open_share, win_rate, ci_low,
        ci_high, won_amount, median_cycle_days, median_cycle_ci_low,
        median_cycle_ci_high, note`` — the win-rate columns from
        :func:`analysis.pipeline.funnel.win_rates`, the cycle from
        :func:`analysis.pipeline.cycle.time_to_close` per period.

    Notes
    -----
    Recent periods hold many open deals: their win rate rests on the deals
    decided so far (``open_share`` says how many are not) and their cycle
    median may not be reached yet. Deals without ``created_at`` belong to no
    period; their number is in ``attrs["deals_without_created_at"]``.
    """
    if period not in PERIOD_TRUNCATE:
        raise ValueError(f"period must be 'month' or 'quarter', not {period!r}.")
    keys = [by] if by else []
    rates = win_rates(ws, by=by, period=period, alpha=alpha, window=window).to_frame()
    cols = [c.PERIOD, *keys, c.N_DEALS, c.N_WON, c.N_LOST, c.N_OPEN, c.OPEN_SHARE, c.WIN_RATE,
            c.CI_LOW, c.CI_HIGH, c.WON_AMOUNT, c.NOTE]  # fmt: skip
    table = rates[cols].copy()
    deals = deals_created_in(ws, window)
    deals = deals.mutate(**{c.PERIOD: deals[c.CREATED_AT].truncate(PERIOD_TRUNCATE[period])})
    scoped = ws.with_table(c.DEALS, deals)
    # Without close dates the trend keeps its win rates and leaves the cycle empty.
    no_dates = bool(CLOSE_DATES.missing(scoped))
    cycle = (
        pd.DataFrame()
        if no_dates
        else time_to_close(scoped, [c.PERIOD, *keys], alpha=alpha).to_frame()
    )
    if len(cycle) and KM_MEDIAN_DAYS in cycle.columns:
        cycle[c.PERIOD] = series_to_utc(cycle[c.PERIOD])
        cycle = cycle[[c.PERIOD, *keys, KM_MEDIAN_DAYS, KM_MEDIAN_CI_LOW, KM_MEDIAN_CI_HIGH]]
        cycle = cycle.rename(
            columns={KM_MEDIAN_DAYS: c.MEDIAN_CYCLE_DAYS, KM_MEDIAN_CI_LOW: c.MEDIAN_CYCLE_CI_LOW,
                     KM_MEDIAN_CI_HIGH: c.MEDIAN_CYCLE_CI_HIGH}
        )  # fmt: skip
        table = table.merge(cycle, on=[c.PERIOD, *keys], how="left")
    note = table.pop(c.NOTE)
    table[c.NOTE] = note
    undated = table[c.PERIOD].isna()
    n_undated = int(table.loc[undated, c.N_DEALS].sum())
    table = table[~undated].sort_values([c.PERIOD, *keys]).reset_index(drop=True)
    table.attrs["deals_without_created_at"] = n_undated
    return table
