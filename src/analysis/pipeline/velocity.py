"""Sales velocity and the decomposition of its change into its four levers.

Sales velocity is the revenue a pipeline produces per day::

    velocity = open qualified opportunities x average won deal x win rate / cycle days

Each lever is computed in the engine for a period (grouped counts and sums);
the interval and the decomposition run on those few numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis.core import columns as c
from analysis.core.columns import NOTE_NO_WON_DEALS, WIN_RATE
from analysis.core.types import SECONDS_PER_DAY, WindowLike, as_window
from analysis.engine.durations import seconds_between
from analysis.engine.grouping import aggregate_by, as_keys
from analysis.engine.journey import stage_position
from analysis.engine.needs import CLOSE_DATES
from analysis.engine.workspace import Workspace
from analysis.stats.rates import rate_with_interval

OPEN_QUALIFIED = "open_qualified"
AVG_WON_AMOUNT = "avg_won_amount"
CYCLE_DAYS = "cycle_days"
VELOCITY = "velocity_per_day"
LEVERS = (OPEN_QUALIFIED, AVG_WON_AMOUNT, WIN_RATE, CYCLE_DAYS)
NOTE_NO_OPEN_QUALIFIED = "no_open_qualified_deals"


def _open_qualified(ws: Workspace, end: pd.Timestamp, keys: list[str], stage: str) -> pd.DataFrame:
    """Deals open at ``end`` that had reached ``stage`` (or a later one) by then."""
    deals = ws.deals
    still_open = deals[c.CLOSED_AT].isnull() | (deals[c.CLOSED_AT] >= end)
    open_at_end = deals.filter((deals[c.CREATED_AT] < end) & still_open)
    if ws.has(c.STAGE_EVENTS):
        ev = ws.stage_events
        threshold = ws.pipeline.order(stage)
        before = ev.filter(ev[c.ENTERED_AT] < end)
        reached = before.filter(stage_position(ws, before[c.STAGE]) >= threshold)
        # A semi join keeps each deal once however many matching events it has: no DISTINCT.
        open_at_end = open_at_end.semi_join(reached.select(c.DEAL_ID), c.DEAL_ID)
    return ws.execute(aggregate_by(open_at_end, keys, **{OPEN_QUALIFIED: open_at_end.count()}))


def _closed_stats(
    ws: Workspace, start: pd.Timestamp, end: pd.Timestamp, keys: list[str]
) -> pd.DataFrame:
    """Won/lost counts, won amount and cycle moments of deals closed in ``[start, end)``."""
    deals = ws.deals
    closed = deals.filter((deals[c.CLOSED_AT] >= start) & (deals[c.CLOSED_AT] < end))
    won = closed[c.OUTCOME] == c.WON
    days = seconds_between(ws, closed[c.CREATED_AT], closed[c.CLOSED_AT]) / SECONDS_PER_DAY
    amount = closed[c.AMOUNT]
    expr = aggregate_by(
        closed,
        keys,
        **{
            c.N_WON: won.sum(),
            c.N_LOST: (closed[c.OUTCOME] == c.LOST).sum(),
            "_amount_n": amount.count(where=won),
            "_amount_sum": amount.sum(where=won),
            "_amount_sq": (amount * amount).sum(where=won),
            "_days_n": days.count(where=won),
            "_days_sum": days.sum(where=won),
            "_days_sq": (days * days).sum(where=won),
        },
    )
    return ws.execute(expr)


def _mean_and_se(total: pd.Series, squares: pd.Series, n: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Mean and standard error from a count, a sum and a sum of squares."""
    n = n.astype(float)
    mean = total / n.where(n > 0)
    var = (squares - n * mean**2) / (n - 1).where(n > 1)
    return mean, np.sqrt(var.clip(lower=0) / n)


@dataclass(frozen=True)
class Velocity:
    """Sales velocity of one period, per group.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: the four levers (``open_qualified``,
        ``avg_won_amount``, ``win_rate``, ``cycle_days``), the counts behind
        them (``won``, ``lost``), ``velocity_per_day`` with ``ci_low`` and
        ``ci_high``, and ``note`` (a message code where velocity is NaN).
    start, end : Timestamp
        The window ``[start, end)`` of closed deals (UTC).
    """

    table: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp

    def to_frame(self) -> pd.DataFrame:
        """The velocity table (a copy)."""
        return self.table.copy()


def sales_velocity(
    ws: Workspace,
    window: WindowLike,
    *,
    by: str | list[str] | None = c.SEGMENT,
    qualified_stage: str | None = None,
    alpha: float = 0.05,
) -> Velocity:
    """Sales velocity per group for the period ``[start, end)``.

    Parameters
    ----------
    ws : Workspace
    window : Window or (start, end)
        Deals closed in ``[start, end)`` (naive values read as UTC); both sides
        required.
    by : str or list of str or None
        Deal columns to group by.
    qualified_stage : str, optional
        An open deal counts as a qualified opportunity once it has reached
        this stage (or a later one) by the period end; default the pipeline's
        second open stage (``qualification`` in the default pipeline), or its
        only one.
    alpha : float
        1 - confidence level.

    Returns
    -------
    Velocity

    Notes
    -----
    With :math:`N` open qualified deals at the period end, :math:`A` the mean
    amount of deals won in the period, :math:`W = won/(won+lost)` over deals
    closed in the period and :math:`L` the mean created-to-closed days of
    those won deals,

    .. math:: V = N A W / L \\quad (\\text{revenue per day}).

    The interval treats :math:`N` as fixed and the other levers as
    independent estimates, on the log scale (delta method):

    .. math:: \\operatorname{Var}(\\log V) \\approx \\frac{1-W}{W n_c}
              + \\frac{s_A^2}{n_w A^2} + \\frac{s_L^2}{n_w L^2},

    with :math:`n_c` closed and :math:`n_w` won deals; the bounds are
    :math:`V \\exp(\\pm z\\,\\mathrm{se})`. The cycle is the won-only mean by
    the standard velocity definition; see ``analysis.pipeline.cycle`` for the
    censoring-aware view.

    References
    ----------
    The formula is the one sales-operations texts call "sales velocity" or
    "pipeline velocity"; e.g. Salesforce, "What is sales velocity?" (2023).
    """
    CLOSE_DATES.check(ws)
    start, end = as_window(window, bounded=True).as_tuple()
    keys = as_keys(by)
    if qualified_stage is None:
        qualified_stage = ws.pipeline.stages[min(1, len(ws.pipeline.stages) - 1)]
    stats_ = _closed_stats(ws, start, end, keys)
    opens = _open_qualified(ws, end, keys, qualified_stage)
    table = (
        stats_.merge(opens, on=keys, how="outer") if keys else pd.concat([stats_, opens], axis=1)
    )
    for col in (c.N_WON, c.N_LOST, OPEN_QUALIFIED, "_amount_n", "_days_n"):
        table[col] = table[col].fillna(0).astype("int64")
    won, closed = table[c.N_WON], table[c.N_WON] + table[c.N_LOST]
    rate, _, _ = rate_with_interval(won, closed, alpha=alpha)
    table[WIN_RATE] = rate
    table[AVG_WON_AMOUNT], se_amount = _mean_and_se(
        table["_amount_sum"], table["_amount_sq"], table["_amount_n"]
    )
    table[CYCLE_DAYS], se_days = _mean_and_se(
        table["_days_sum"], table["_days_sq"], table["_days_n"]
    )
    velocity = table[OPEN_QUALIFIED] * table[AVG_WON_AMOUNT] * table[WIN_RATE] / table[CYCLE_DAYS]
    table[VELOCITY] = velocity.where(table[CYCLE_DAYS] > 0)
    var_log = (
        (1 - table[WIN_RATE]) / (table[WIN_RATE] * closed.where(closed > 0))
        + (se_amount / table[AVG_WON_AMOUNT]) ** 2
        + (se_days / table[CYCLE_DAYS]) ** 2
    )
    z = stats.norm.ppf(1 - alpha / 2)
    spread = np.exp(z * np.sqrt(var_log))
    table[c.CI_LOW], table[c.CI_HIGH] = table[VELOCITY] / spread, table[VELOCITY] * spread
    table[c.NOTE] = np.select(
        [won == 0, table[OPEN_QUALIFIED] == 0], [NOTE_NO_WON_DEALS, NOTE_NO_OPEN_QUALIFIED], ""
    )
    columns = [*keys, *LEVERS, c.N_WON, c.N_LOST, VELOCITY, c.CI_LOW, c.CI_HIGH, c.NOTE]
    table = table[columns]
    if keys:
        table = table.sort_values(keys).reset_index(drop=True)
    return Velocity(table=table, start=start, end=end)


@dataclass(frozen=True)
class VelocityChange:
    """The change of velocity between two periods, split into its levers.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group: ``velocity_baseline``, ``velocity_current``,
        ``change`` and one ``from_<lever>`` column per lever; the lever parts
        add up to ``change`` exactly.
    """

    table: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        """The decomposition table (a copy)."""
        return self.table.copy()


def decompose_velocity_change(current: Velocity, baseline: Velocity) -> VelocityChange:
    """Split the change in velocity between two periods into the four levers.

    Parameters
    ----------
    current, baseline : Velocity
        Results of :func:`sales_velocity` for the two periods, same ``by``.

    Returns
    -------
    VelocityChange

    Notes
    -----
    Because :math:`\\log V = \\log N + \\log A + \\log W - \\log L`, the
    logarithmic-mean (LMDI) split gives each lever the part

    .. math:: \\Delta V_x = \\frac{V_1 - V_0}{\\log V_1 - \\log V_0}\\,
              \\log\\frac{x_1}{x_0}

    (with the sign reversed for the cycle length), and the parts sum to
    :math:`V_1 - V_0` exactly. When :math:`V_1 = V_0` the weight is its limit
    :math:`V_0`. Groups where either velocity is missing or zero give NaN.

    References
    ----------
    Ang, B. W. (2005). The LMDI approach to decomposition analysis: a
    practical guide. Energy Policy 33(7), 867-871.
    """
    cur, base = current.table, baseline.table
    keys = [col for col in cur.columns if col not in set(_RESULT_COLUMNS)]
    merged = (
        cur.merge(base, on=keys, suffixes=("_cur", "_base"))
        if keys
        else cur.add_suffix("_cur").join(base.add_suffix("_base"))
    )
    v1, v0 = merged[f"{VELOCITY}_cur"], merged[f"{VELOCITY}_base"]
    valid = (v1 > 0) & (v0 > 0)
    log_ratio = np.log(v1.where(valid) / v0.where(valid))
    weight = ((v1 - v0) / log_ratio).where(log_ratio != 0, v0)
    out = merged[keys].copy() if keys else pd.DataFrame(index=merged.index)
    out["velocity_baseline"], out["velocity_current"] = v0, v1
    out["change"] = (v1 - v0).where(valid)
    for lever in LEVERS:
        ratio = np.log(merged[f"{lever}_cur"].where(valid) / merged[f"{lever}_base"].where(valid))
        sign = -1.0 if lever == CYCLE_DAYS else 1.0
        out[f"from_{lever}"] = sign * weight * ratio
    return VelocityChange(table=out.reset_index(drop=True))


_RESULT_COLUMNS = (*LEVERS, c.N_WON, c.N_LOST, VELOCITY, c.CI_LOW, c.CI_HIGH, c.NOTE)
