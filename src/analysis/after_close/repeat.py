"""B2C repeat purchases: who buys again, how soon, and cohort retention, with intervals.

The engine reduces the orders to one row per customer (:mod:`.customers`) and
then to two small tables: ``<keys>, days, event, count`` for the time from
the first order to the second (customers not back by the cut-off censored),
and per ``<keys>, months_since`` the customers whose month has passed and
those who ordered in it. The Kaplan–Meier figures, their intervals and the
tests are computed here on those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import pandas as pd

from analysis.after_close import columns as c
from analysis.after_close.customers import CUSTOMER_KEYS, customer_rows, order_times
from analysis.after_close.rows import (
    MONTH_DAYS,
    check_cohort,
    customer_groups,
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
from analysis.core.types import SECONDS_PER_DAY, Correction, check_correction
from analysis.engine.durations import rounded_days, seconds_between
from analysis.engine.grouping import aggregate_by, series_to_utc
from analysis.engine.needs import REPEAT_PURCHASE
from analysis.engine.temporary import materialized
from analysis.engine.workspace import Workspace
from analysis.stats.rates import rate_with_interval

__all__ = ["RepeatPurchase", "repeat_purchase"]

HORIZONS = (90.0, 180.0, 365.0)
_RATE_NAMES = (c.REPEAT_RATE, c.REPEAT_CI_LOW, c.REPEAT_CI_HIGH)


@dataclass(frozen=True)
class RepeatPurchase:
    """Repeat-purchase rates, time to the second order and cohort retention per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (group, horizon): ``<by...>, horizon_days, customers,
        repeat_customers`` (back by the cut-off), ``orders``, ``repeat_rate,
        repeat_ci_low, repeat_ci_high`` (Kaplan–Meier chance of a second
        order within the horizon), ``median_days, median_ci_low,
        median_ci_high`` (to the second order), ``note``.
    curves : pandas.DataFrame
        ``<by...>, days, survival``: the share not yet back, per group.
    cohorts : pandas.DataFrame
        ``<by...>, months_since, observed, active, active_rate,
        active_ci_low, active_ci_high``: of the customers whose month
        ``months_since`` after the first order has passed, those who ordered
        in it (Wilson interval).
    comparison : pandas.DataFrame
        Each group against the rest at ``window_days`` (:func:`each_against_rest`).
    logrank : tuple of (float, int, float)
        Log-rank chi-square, degrees of freedom and p across the groups.
    by : tuple of str
    window_days : float
    cutoff : pandas.Timestamp
    alpha : float
    n_money_missing : int
        Orders whose amount could not be put in the reporting currency.
    """

    table: pd.DataFrame
    curves: pd.DataFrame
    cohorts: pd.DataFrame
    comparison: pd.DataFrame
    logrank: tuple[float, int, float]
    by: tuple[str, ...]
    window_days: float
    cutoff: pd.Timestamp
    alpha: float
    n_money_missing: int

    def to_frame(self) -> pd.DataFrame:
        """The per-group, per-horizon table (a copy)."""
        return self.table.copy()

    def at_window(self) -> pd.DataFrame:
        """The table's rows at ``window_days``."""
        return self.table[self.table[c.HORIZON_DAYS] == self.window_days].reset_index(drop=True)


def _durations(ws: Workspace, people: ibis.Table, keys: list[str], cutoff) -> pd.DataFrame:
    end = people._second.coalesce(literal_time(cutoff))
    timed = people.select(
        *keys,
        **{c.DAYS: rounded_days(ws, people._first, end),
           c.EVENT: people._second.notnull().cast("int64")},
    )  # fmt: skip
    return counted_durations(ws, timed, keys)


def _cohort_curves(
    ws: Workspace, people: ibis.Table, keys: list[str], cutoff, alpha: float
) -> pd.DataFrame:
    month = MONTH_DAYS * SECONDS_PER_DAY
    cut = literal_time(cutoff)
    # The last month since the first order that has fully passed, per customer.
    last = (seconds_between(ws, people._first, cut) / month).floor().cast("int64") - 1
    seen = people.mutate(_last=last)
    observed = ws.execute(seen.group_by([*keys, "_last"]).aggregate(_n=seen.count()))
    orders = order_times(ws, cutoff)
    joined = orders.join(seen.select("_customer", "_first", "_last", *keys), "_customer")
    k = (seconds_between(ws, joined._first, joined._at) / month).floor().cast("int64")
    joined = joined.mutate(_k=k)
    joined = joined.filter((joined._k >= 1) & (joined._k <= joined._last))
    active = ws.execute(
        aggregate_by(
            joined.select(*keys, "_k", "_customer").distinct(), [*keys, "_k"],
            _active=ibis._.count(),
        )
    )  # fmt: skip
    cols = [*keys, c.MONTHS_SINCE, c.AT_RISK, c.ACTIVE, c.ACTIVE_RATE, c.ACTIVE_CI_LOW,
            c.ACTIVE_CI_HIGH]  # fmt: skip
    # Customers observed at month m: those whose last passed month is m or later.
    observed = observed[observed["_last"] >= 1]
    if observed.empty:
        return pd.DataFrame(columns=cols)
    grid = observed.loc[observed.index.repeat(observed["_last"])].copy()
    grid[c.MONTHS_SINCE] = grid.groupby(level=0).cumcount() + 1
    seen = grid.groupby([*keys, c.MONTHS_SINCE], dropna=False)["_n"].sum().rename(c.AT_RISK)
    seen = seen.reset_index()
    active = active.rename(columns={"_k": c.MONTHS_SINCE, "_active": c.ACTIVE})
    out = seen.merge(active, on=[*keys, c.MONTHS_SINCE], how="left")
    out[c.ACTIVE] = out[c.ACTIVE].fillna(0).astype("int64")
    rate, low, high = rate_with_interval(out[c.ACTIVE], out[c.AT_RISK], alpha=alpha)
    out[c.ACTIVE_RATE], out[c.ACTIVE_CI_LOW], out[c.ACTIVE_CI_HIGH] = rate, low, high
    return out.sort_values([*keys, c.MONTHS_SINCE]).reset_index(drop=True)[cols]


def repeat_purchase(
    ws: Workspace,
    by: str | Sequence[str] | None = None,
    *,
    horizons: Sequence[float] = HORIZONS,
    window_days: float = 180.0,
    cohort: str = "month",
    as_of: object = None,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> RepeatPurchase:
    """Repeat-purchase rate, time to the second order and cohort retention, per group.

    Parameters
    ----------
    ws : Workspace
        With an ``orders`` table (:data:`~analysis.engine.needs.REPEAT_PURCHASE`);
        the deals give each customer its channel, rep, segment and region.
    by : str or list of str, optional
        ``cohort`` (calendar month or quarter of the first order),
        ``channel`` (lead source of the customer's deal), ``owner_id`` (its
        rep), ``segment``, ``region``, ``product``. Customers without a deal
        form the group ``unknown``.
    horizons : sequence of float
        Days after the first order at which the repeat rate is read.
    window_days : float
        The horizon of the comparison between groups (added to ``horizons``).
    cohort : {"month", "quarter"}
    as_of : timestamp, optional
        The cut-off (default :func:`~analysis.after_close.rows.post_sale_cutoff`).
    alpha : float
        1 - the confidence level of every interval.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Over the groups of the comparison.

    Returns
    -------
    RepeatPurchase

    Raises
    ------
    MissingInput
        Without an ``orders`` table with customer, order id and time.

    Notes
    -----
    A customer's first order starts the clock; the second order ends it
    (two orders at the same instant: 0 days). Customers not back by the
    cut-off are censored there, so recent customers count for as long as
    they have been watched. The repeat rate within :math:`h` days is
    :math:`1 - \\hat S(h)` from the Kaplan–Meier curve, with the log(-log)
    Greenwood interval (:func:`analysis.stats.survival.km_event_chance`);
    the median time has the Brookmeyer–Crowley interval. Groups are
    compared with the log-rank test, and each against the rest at
    ``window_days`` by the difference of :math:`1 - \\hat S` (Wald, Holm).

    Cohort retention: with months of :math:`365/12` days, a customer's month
    :math:`k \\ge 1` runs from :math:`k` to :math:`k+1` months after the first
    order and is *observed* once it has passed; ``active_rate`` = customers
    with an order in month :math:`k` / customers observed at :math:`k`.
    """
    REPEAT_PURCHASE.check(ws)
    check_correction(correction)
    check_cohort(cohort)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    keys = customer_groups(ws, by, CUSTOMER_KEYS)
    horizons = sorted({float(h) for h in (*horizons, window_days)})
    cutoff = post_sale_cutoff(ws, as_of)
    people = labelled(customer_rows(ws, cutoff), keys, cohort, "_first")
    people = people.select(*keys, "_customer", "_first", "_second", "_orders", "_money_missing")
    # Four queries read the customers: build them once (a temporary table of the engine).
    with materialized(ws, people) as people:
        durations = _durations(ws, people, keys, cutoff)
        if durations.empty:
            raise MissingInput("Repeat purchases", "any order with a customer and a time")
        counts = ws.execute(
            aggregate_by(people, keys, _orders=people._orders.sum(),
                         _missing=people._money_missing.sum())
        )  # fmt: skip
        cohorts = _cohort_curves(ws, people, keys, cutoff, alpha)
    table, curves = km_summary(durations, keys, horizons, alpha, _RATE_NAMES)
    table = table.rename(columns={"units": c.N_CUSTOMERS, "events": c.N_REPEAT})
    if keys:
        table = table.merge(counts, on=keys, how="left")
    else:
        table["_orders"] = int(counts["_orders"].iloc[0]) if len(counts) else 0
    table[c.N_ORDERS] = table.pop("_orders").fillna(0).astype("int64")
    table = table.drop(columns=["_missing"], errors="ignore")
    cols = [*keys, c.HORIZON_DAYS, c.N_CUSTOMERS, c.N_REPEAT, c.N_ORDERS, *_RATE_NAMES,
            c.MEDIAN_DAYS, c.MEDIAN_CI_LOW, c.MEDIAN_CI_HIGH, c.NOTE]  # fmt: skip
    table = table[cols] if len(table) else pd.DataFrame(columns=cols)
    for frame in (table, curves, cohorts):
        if c.COHORT in keys and len(frame):
            frame[c.COHORT] = series_to_utc(frame[c.COHORT])
    return RepeatPurchase(
        table=table.reset_index(drop=True),
        curves=curves,
        cohorts=cohorts,
        comparison=each_against_rest(durations, keys, window_days, alpha, correction),
        logrank=logrank_by(durations, keys),
        by=tuple(keys),
        window_days=float(window_days),
        cutoff=cutoff,
        alpha=alpha,
        n_money_missing=int(counts["_missing"].sum()) if len(counts) else 0,
    )
