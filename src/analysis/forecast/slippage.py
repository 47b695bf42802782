"""Slippage: how often expected close dates are pushed, by how much, and what it says.

A rep who cannot close a deal by its expected close date usually moves the
date rather than the deal. From the ``expected_close_at`` changes in
``deal_changes`` this module counts, per segment or rep, the deals still
open after their first expected close (at risk of a push), the share of them
that were pushed, how often and by how many days, and whether pushed deals
win less than deals whose date held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy import stats

from analysis.core.errors import MissingInput
from analysis.core.types import (
    SECONDS_PER_DAY,
    Correction,
    Window,
    WindowLike,
    as_window,
    check_correction,
)
from analysis.engine.durations import seconds_between
from analysis.engine.filters import deals_created_in
from analysis.engine.grouping import aggregate_by
from analysis.engine.journey import data_cutoff
from analysis.engine.needs import SLIPPAGE_HISTORY
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.history import label_keys
from analysis.stats.means import positive_mean_interval
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval

__all__ = ["SLIPPAGE_HISTORY", "Slippage", "slippage"]

_NO_CLOSE_CHANGES = "any expected_close_at change in deal_changes"


@dataclass(frozen=True)
class Slippage:
    """Pushed expected close dates per group, and the win rates of pushed and unpushed deals.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group (the ``by`` columns first, sorted): ``deals``,
        ``at_risk``, ``pushed``, ``share_pushed`` with its Wilson interval
        ``ci_low, ci_high``, ``pushes``, ``pushes_per_pushed_deal`` with
        ``pushes_ci_low, pushes_ci_high``, ``mean_days_pushed`` with
        ``days_ci_low, days_ci_high``, ``median_days_pushed``, ``pull_ins``
        and ``note`` (a message code where a figure could not be computed).
    win_rates : pandas.DataFrame
        One row per group: closed at-risk deals pushed (``pushed_closed``,
        ``pushed_won``, ``pushed_win_rate``, ``pushed_ci_low``,
        ``pushed_ci_high``) and never pushed (the same with ``unpushed_``),
        the ``difference`` pushed minus never pushed with ``diff_ci_low,
        diff_ci_high``, ``p_value``, ``p_adjusted`` and ``note``.
    by : tuple of str
        The deal columns grouped by (empty: one row for all deals).
    window : Window or None
        The creation window of the deals counted (None: all deals).
    cutoff : pandas.Timestamp
        The moment the data runs to: open deals are at risk once their first
        expected close is before it.
    alpha : float
        1 - the confidence level of the intervals.
    correction : str
        How the differences' p-values were adjusted over the groups.
    notes : tuple of str
        What the figures could not take into account.
    """

    table: pd.DataFrame
    win_rates: pd.DataFrame
    by: tuple[str, ...]
    window: Window | None
    cutoff: pd.Timestamp
    alpha: float
    correction: str
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        """The push table (a copy)."""
        return self.table.copy()


def _close_changes(ws: Workspace) -> ibis.Table:
    """Expected-close changes with typed ``_old``, ``_new`` and ``_first`` (the deal's first).

    A missing ``old_value`` (or an export without the column) is read from the
    ``new_value`` of the deal's change before it.
    """
    ch = ws.deal_changes
    ch = ch.filter(ch[c.FIELD] == c.EXPECTED_CLOSE_AT)
    has_old = c.OLD_VALUE in ch.columns
    old_text = ch[c.OLD_VALUE].cast("string") if has_old else ibis.null("string")
    ch = ch.select(c.DEAL_ID, c.CHANGED_AT, c.NEW_VALUE, _old_text=old_text)
    order = [ch[c.CHANGED_AT], ch[c.NEW_VALUE], ch._old_text]
    window = ibis.window(group_by=ch[c.DEAL_ID], order_by=order)
    old = ch._old_text.coalesce(ch[c.NEW_VALUE].lag().over(window))
    ts = "timestamp('UTC')"
    return ch.select(
        c.DEAL_ID,
        c.CHANGED_AT,
        _old=old.try_cast(ts),
        _new=ch[c.NEW_VALUE].try_cast(ts),
        _first=ibis.row_number().over(window) == 0,
    )


def _per_deal(
    ws: Workspace, window: Window | None, keys: list[str], cutoff: pd.Timestamp
) -> ibis.Table:
    """One row per deal: its group, first expected close, pushes, days pushed, outcome."""
    deals = deals_created_in(ws, window)
    ts = "timestamp('UTC')"
    closed_at = deals[c.CLOSED_AT].cast(ts) if c.CLOSED_AT in deals.columns else ibis.null(ts)
    outcome = deals[c.OUTCOME] if c.OUTCOME in deals.columns else ibis.null("string")
    today = (
        deals[c.EXPECTED_CLOSE_AT].cast(ts) if c.EXPECTED_CLOSE_AT in deals.columns
        else ibis.null(ts)
    )  # fmt: skip
    end = closed_at.coalesce(ibis.literal(cutoff, type=ts))
    base = deals.select(c.DEAL_ID, *keys, _end=end, _outcome=outcome, _today=today)
    ch = _close_changes(ws)
    j = ch.join(base.select(c.DEAL_ID, "_end"), c.DEAL_ID)
    open_then = j[c.CHANGED_AT] < j._end
    push = (open_then & (j._new > j._old)).fill_null(False)
    pull_in = (open_then & (j._new < j._old)).fill_null(False)
    days = seconds_between(ws, j._old, j._new) / SECONDS_PER_DAY
    per_deal = j.group_by(j[c.DEAL_ID].name("_id")).aggregate(
        _first_close=j._old.coalesce(j._new).max(where=j._first),
        _pushes=j.count(where=push),
        _pull_ins=j.count(where=pull_in),
        _days=days.sum(where=push),
    )
    t = base.left_join(per_deal, base[c.DEAL_ID] == per_deal._id)
    first_close = t._first_close.coalesce(t._today)
    pushes = t._pushes.fill_null(0)
    at_risk = (first_close < t._end).fill_null(False)
    closed = t._outcome.isin([c.WON, c.LOST]).fill_null(False)
    return t.select(
        *keys,
        _at_risk=at_risk,
        _pushed=at_risk & (pushes > 0),
        _early=~at_risk & (pushes > 0),
        _undated=first_close.isnull(),
        _pushes=pushes,
        _pull_ins=t._pull_ins.fill_null(0),
        _days=t._days.fill_null(0.0),
        _closed=at_risk & closed,
        _won=at_risk & closed & (t._outcome == c.WON),
    )


def _group_counts(ws: Workspace, deals: ibis.Table, keys: list[str]) -> pd.DataFrame:
    """The small per-group aggregate: counts and sufficient statistics of pushes and days."""
    d, pushed = deals, deals._pushed
    metrics = {
        c.N_DEALS: d.count(),
        c.AT_RISK: d.count(where=d._at_risk),
        c.PUSHED: d.count(where=pushed),
        c.PUSHES: d._pushes.sum(where=pushed),
        "_pushes_sq": (d._pushes * d._pushes).sum(where=pushed),
        "_days_sum": d._days.sum(where=pushed),
        "_days_sq": (d._days * d._days).sum(where=pushed),
        # Not median(where=...): Spark's percentile needs a constant fraction, and the
        # filter would compile into it. Nulls are left out alike.
        c.MEDIAN_DAYS_PUSHED: ibis.ifelse(pushed, d._days, ibis.null("float64")).median(),
        c.PULL_INS: d._pull_ins.sum(),
        "_early": d.count(where=d._early),
        "_undated": d.count(where=d._undated),
        c.PUSHED_CLOSED: d.count(where=pushed & d._closed),
        c.PUSHED_WON: d.count(where=pushed & d._won),
        c.UNPUSHED_CLOSED: d.count(where=~pushed & d._closed),
        c.UNPUSHED_WON: d.count(where=~pushed & d._won),
    }
    out = ws.execute(aggregate_by(deals, keys, **metrics))
    if keys:
        out = out.sort_values(keys, kind="stable", na_position="last").reset_index(drop=True)
    counts = [col for col in out.columns if col not in (*keys, c.MEDIAN_DAYS_PUSHED)]
    out[counts] = out[counts].fillna(0)
    return out


def _mean_with_interval(
    total: np.ndarray, squares: np.ndarray, n: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of positive values from ``n, Σx, Σx²``, with its log-scale t interval."""
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(n > 0, total / n, np.nan)
        var = np.where(n > 1, np.maximum(squares - n * mean**2, 0.0) / (n - 1), np.nan)
        se = np.sqrt(var / n)
    q = stats.t.ppf(1 - alpha / 2, np.maximum(n - 1, 1))
    low, high = positive_mean_interval(mean, se, q)
    return mean, low, high


def _push_table(g: pd.DataFrame, keys: list[str], alpha: float) -> pd.DataFrame:
    at_risk, pushed = g[c.AT_RISK].to_numpy(float), g[c.PUSHED].to_numpy(float)
    share, lo, hi = rate_with_interval(pushed, at_risk, alpha=alpha)
    per_deal = _mean_with_interval(
        g[c.PUSHES].to_numpy(float), g["_pushes_sq"].to_numpy(float), pushed, alpha
    )
    days = _mean_with_interval(
        g["_days_sum"].to_numpy(float), g["_days_sq"].to_numpy(float), pushed, alpha
    )
    note = np.where(at_risk == 0, c.NOTE_NO_AT_RISK, np.where(pushed == 0, c.NOTE_NO_PUSHES, ""))
    return pd.DataFrame({
        **{key: g[key] for key in keys},
        c.N_DEALS: g[c.N_DEALS].astype("int64"), c.AT_RISK: at_risk.astype("int64"),
        c.PUSHED: pushed.astype("int64"), c.SHARE_PUSHED: share, c.CI_LOW: lo, c.CI_HIGH: hi,
        c.PUSHES: g[c.PUSHES].astype("int64"), c.PUSHES_PER_DEAL: per_deal[0],
        c.PUSHES_CI_LOW: per_deal[1], c.PUSHES_CI_HIGH: per_deal[2],
        c.MEAN_DAYS_PUSHED: days[0], c.DAYS_CI_LOW: days[1], c.DAYS_CI_HIGH: days[2],
        c.MEDIAN_DAYS_PUSHED: g[c.MEDIAN_DAYS_PUSHED].astype(float),
        c.PULL_INS: g[c.PULL_INS].astype("int64"), c.NOTE: note,
    })  # fmt: skip


def _win_rate_table(
    g: pd.DataFrame, keys: list[str], alpha: float, correction: Correction
) -> pd.DataFrame:
    n1, x1 = g[c.PUSHED_CLOSED].to_numpy(float), g[c.PUSHED_WON].to_numpy(float)
    n0, x0 = g[c.UNPUSHED_CLOSED].to_numpy(float), g[c.UNPUSHED_WON].to_numpy(float)
    r1, lo1, hi1 = rate_with_interval(x1, n1, alpha=alpha)
    r0, lo0, hi0 = rate_with_interval(x0, n0, alpha=alpha)
    diff, dlo, dhi, p, p_adj = two_proportions(x1, n1, x0, n0, alpha, correction=correction)
    flat = (n1 > 0) & (n0 > 0) & ((x1 + x0 == 0) | (x1 + x0 == n1 + n0))
    note = np.select(
        [n1 == 0, n0 == 0, flat],
        [c.NOTE_NO_CLOSED_PUSHED, c.NOTE_NO_CLOSED_UNPUSHED, c.NOTE_NO_VARIATION],
        default="",
    )
    return pd.DataFrame({
        **{key: g[key] for key in keys},
        c.PUSHED_CLOSED: n1.astype("int64"), c.PUSHED_WON: x1.astype("int64"),
        c.PUSHED_WIN_RATE: r1, c.PUSHED_CI_LOW: lo1, c.PUSHED_CI_HIGH: hi1,
        c.UNPUSHED_CLOSED: n0.astype("int64"), c.UNPUSHED_WON: x0.astype("int64"),
        c.UNPUSHED_WIN_RATE: r0, c.UNPUSHED_CI_LOW: lo0, c.UNPUSHED_CI_HIGH: hi0,
        c.DIFFERENCE: diff, c.DIFF_CI_LOW: dlo, c.DIFF_CI_HIGH: dhi, c.P_VALUE: p,
        c.P_ADJUSTED: p_adj, c.NOTE: note,
    })  # fmt: skip


def _deals(n: int) -> str:
    return "1 deal" if n == 1 else f"{n:,} deals"


def slippage(
    ws: Workspace,
    window: WindowLike | None = None,
    by: str | Sequence[str] | None = c.SEGMENT,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> Slippage:
    """Share of deals whose expected close was pushed, how often, how far, and their win rate.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals.created_at`` and ``deal_changes`` with expected-close
        changes; reads ``closed_at``, ``outcome`` and today's
        ``expected_close_at`` of the deals, and ``old_value`` of the changes.
    window : Window or (start, end), optional
        Count only deals created in ``[start, end)`` (a creation cohort, so
        each deal's whole history counts, pushes after the window included);
        default all deals.
    by : str or sequence of str, optional
        Deal columns to group by (default ``segment``; ``owner_id`` for reps;
        None for one row). Not a tracked field, whose value changes over time.
    alpha : float
        1 - the confidence level of every interval.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the win-rate differences' p-values over the groups; each
        difference's interval is at the level that agrees with it.

    Returns
    -------
    Slippage
        ``table`` (pushes per group; ``to_frame()``) and ``win_rates``.

    Raises
    ------
    MissingInput
        Without a ``deal_changes`` table, or without any expected-close change in it.
    ValueError
        For ``by`` naming a tracked field or a column the deals lack, a bad
        ``window``, ``alpha`` or ``correction``.

    Notes
    -----
    Let a deal's *end* :math:`e` be its ``closed_at``, or the data's cut-off
    (:func:`analysis.engine.journey.data_cutoff`) while it is open (or won or
    lost without a close date). Its expected-close changes, ordered by
    ``changed_at``, have old and new values :math:`o_j, n_j` (text cast to UTC
    timestamps; a missing old value is the previous change's new value).

    - *First expected close* :math:`f`: the old value of its first change, or
      when that is empty (the change that set it at creation) the new value;
      without any change, today's ``expected_close_at``.
    - *At risk*: :math:`f < e`, the deal was still open when its first
      expected close passed.
    - *Push*: a change made while the deal was open (``changed_at`` :math:`< e`)
      to a later date, :math:`n_j > o_j`; the change at the close that sets the
      date to the actual close is not one. *Pull-in*: the same to an earlier
      date. *Pushed deal*: an at-risk deal with at least one push (a deal
      pushed ahead of time that closed before its first date is counted in
      ``notes``, not in the table).
    - *Days pushed* of a pushed deal :math:`D = \\sum_j (n_j - o_j)` over its
      pushes, in days.

    Per group, ``share_pushed`` :math:`= k / m` (:math:`k` pushed of :math:`m`
    at risk) with the Wilson interval; ``pushes_per_pushed_deal`` and
    ``mean_days_pushed`` are means over the :math:`k` pushed deals, each with
    the interval :math:`\\bar x\\, e^{\\pm t_{1-\\alpha/2,\\,k-1}\\, s / (\\sqrt k\\, \\bar x)}`
    (:func:`analysis.stats.means.positive_mean_interval`; :math:`s` from
    :math:`\\sum x` and :math:`\\sum x^2` computed in the engine);
    ``median_days_pushed`` is the median of :math:`D`.

    Win rates compare closed (won or lost) at-risk deals, pushed against
    never pushed: the difference :math:`\\hat p_1 - \\hat p_0` with the
    Miettinen–Nurminen score test and the interval that inverts it
    (:func:`analysis.stats.proportions.two_proportions`), p-values adjusted
    over the groups with ``correction``. Only at-risk deals are compared:
    over all closed deals pushed deals win *more*, because deals lost early
    never live to their first expected close.

    References
    ----------
    Miettinen, O. and Nurminen, M. (1985). Comparative analysis of two rates.
    Statistics in Medicine 4(2), 213-226.
    Wilson, E. B. (1927). Probable inference, the law of succession, and
    statistical inference. JASA 22(158), 209-212.
    """
    check_correction(correction)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    window = as_window(window)
    keys = label_keys(ws, by)
    SLIPPAGE_HISTORY.check(ws)
    changes = ws.deal_changes
    n_changes = ws.execute(changes.count(where=changes[c.FIELD] == c.EXPECTED_CLOSE_AT))
    if int(n_changes) == 0:
        raise MissingInput(SLIPPAGE_HISTORY.analysis, _NO_CLOSE_CHANGES, SLIPPAGE_HISTORY.supply)
    cutoff = data_cutoff(ws)
    g = _group_counts(ws, _per_deal(ws, window, keys, cutoff), keys)
    notes = []
    if early := int(g["_early"].sum()):
        notes.append(c.NOTE_PUSHED_NOT_AT_RISK.format(deals=_deals(early)))
    if undated := int(g["_undated"].sum()):
        notes.append(c.NOTE_NO_FIRST_CLOSE.format(deals=_deals(undated)))
    return Slippage(
        table=_push_table(g, keys, alpha),
        win_rates=_win_rate_table(g, keys, alpha, correction),
        by=tuple(keys),
        window=window,
        cutoff=cutoff,
        alpha=alpha,
        correction=correction,
        notes=tuple(notes),
    )
