"""Bottlenecks: which stage transitions fell against a baseline, and which fix is worth most.

Each stage transition (open stage -> next stage) of each group is compared
between a current and a baseline window on what happened within a common
follow-up horizon after stage entry (:mod:`analysis.pipeline.bottlenecks.horizon`), so a
young window whose deals are still open is not read as a drop: the difference
of the two conversions with its Newcombe interval, a two-proportion z-test
whose p-values are adjusted across stages x groups
(:mod:`analysis.pipeline.bottlenecks._compare`), the gap to a cited industry benchmark
and the won revenue per window the transition would add if it returned to its
baseline rate (:mod:`analysis.pipeline.bottlenecks.impact`).
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import (
    BASELINE,
    CURRENT,
    DECIDED,
    DIFF_CI_HIGH,
    DIFF_CI_LOW,
    DIFFERENCE,
    P_ADJUSTED,
    P_VALUE,
)
from analysis.core.types import Correction, WindowLike, as_window, check_correction
from analysis.engine.journey import NEXT_STAGE, data_cutoff
from analysis.engine.needs import CREATED_DATES, STAGE_HISTORY
from analysis.engine.reach import Cohort, Reach, check_options, group_keys, stage_skeleton
from analysis.engine.temporary import materialized
from analysis.engine.workspace import Workspace
from analysis.pipeline.bottlenecks._compare import compare_windows
from analysis.pipeline.bottlenecks._compare import windowed as _col
from analysis.pipeline.bottlenecks.horizon import (
    DEFAULT_HORIZON_QUANTILE,
    HORIZON_DAYS,
    MEDIAN_FOLLOW_DAYS,
    N_FOLLOWED,
    N_OPEN_AT_HORIZON,
    choose_horizons,
    decision_rows,
    in_window,
    window_counts,
)
from analysis.pipeline.bottlenecks.impact import (
    AVG_WON_AMOUNT,
    BENCHMARK_DEFINITION,
    BENCHMARK_GAP,
    BENCHMARK_NOTE,
    BENCHMARK_SOURCE,
    BENCHMARK_VALUE,
    DEFINITION_DIFFERS,
    DOWNSTREAM_WIN,
    avg_won_amount,
    closed_in_window,
    downstream_win_probability,
    stage_benchmarks,
    win_rate_gaps,
)
from analysis.pipeline.bottlenecks.rank import (
    FOLLOWED_SHARE_CURRENT,
    OPEN_SHARE_CURRENT,
    OVERALL_RANK,
    RANK,
    REVENUE_IMPACT,
    SIGNIFICANT_DROP,
    is_mature,
    rank_transitions,
    row_notes,
)
from analysis.pipeline.bottlenecks.views import READABLE_FROM
from analysis.reference.benchmarks import Benchmarks

# Result columns of the ranking (the helper modules define theirs).
WINDOW_DAYS = "window_days"
BENCHMARK_REVENUE_IMPACT = "benchmark_revenue_impact"
FOLLOWED_CURRENT = _col(N_FOLLOWED, CURRENT)  # current entrants followed for the horizon
CONVERSION_CURRENT = _col(c.CONVERSION, CURRENT)
CONVERSION_BASELINE = _col(c.CONVERSION, BASELINE)


@dataclass(frozen=True)
class Bottlenecks:
    """Stage transitions ranked by their drop against a baseline and its revenue impact.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, stage), sorted by group and ``rank``:
        ``stage, next_stage, rank, horizon_days``; per window (suffix
        ``_current``/``_baseline``) ``entered, followed, advanced, lost,
        decided, conversion``; ``open_share_current, followed_share_current,
        mature, difference, diff_ci_low, diff_ci_high, p_value, p_adjusted,
        significant_drop, downstream_win_probability, avg_won_amount,
        window_days, revenue_impact, benchmark_value, benchmark_gap,
        benchmark_definition, definition_differs, benchmark_source,
        benchmark_note, benchmark_revenue_impact, overall_rank, note``.
    win_rate_gaps : pandas.DataFrame
        Win rate (won / (won + lost)) of the deals decided in the current
        window per group beside every matching ``win_rate`` benchmark; empty
        without benchmarks.
    by : tuple of str
    current, baseline : tuple of Timestamp
        The windows ``[start, end)`` in UTC.
    cohort, reach, correction : str
    alpha : float
    horizon_quantile : float
        Share of the baseline's decisions that fall within ``horizon_days``.
    """

    table: pd.DataFrame
    win_rate_gaps: pd.DataFrame
    by: tuple[str, ...]
    current: tuple[pd.Timestamp, pd.Timestamp]
    baseline: tuple[pd.Timestamp, pd.Timestamp]
    cohort: str
    reach: str
    alpha: float
    correction: str
    horizon_quantile: float

    def to_frame(self) -> pd.DataFrame:
        """The ranked transition table as a DataFrame (a copy)."""
        return self.table.copy()


def _counts(
    ws: Workspace,
    rows: ibis.Table,
    keys: list[str],
    cohort: str,
    window: tuple[pd.Timestamp, pd.Timestamp],
    horizons: pd.DataFrame,
    name: str,
) -> pd.DataFrame:
    """One window's horizon counts with ``decided`` and ``conversion``, columns suffixed."""
    out = window_counts(ws, in_window(rows, cohort, window), keys, horizons)
    out[DECIDED] = out[c.N_ADVANCED] + out[c.N_LOST]
    out[c.CONVERSION] = out[c.N_ADVANCED] / out[DECIDED].where(out[DECIDED] > 0)
    fixed = [*keys, c.STAGE, HORIZON_DAYS]
    return out.rename(columns={k: _col(k, name) for k in out.columns if k not in fixed})


def _check(alpha: float, correction: str, horizon_quantile: float, horizon_days) -> None:
    check_correction(correction)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    if not 0 < horizon_quantile <= 1:
        raise ValueError(f"horizon_quantile must lie in (0, 1], got {horizon_quantile}.")
    if horizon_days is not None and not horizon_days > 0:
        raise ValueError(f"horizon_days must be a positive number of days, got {horizon_days}.")


def bottlenecks(
    ws: Workspace,
    current: WindowLike,
    baseline: WindowLike,
    by: str | list[str] | None = "segment",
    cohort: Cohort = "stage_entry",
    reach: Reach = "implied",
    alpha: float = 0.05,
    correction: Correction = "holm",
    benchmarks: Benchmarks | None = None,
    *,
    horizon_quantile: float = DEFAULT_HORIZON_QUANTILE,
    horizon_days: float | None = None,
) -> Bottlenecks:
    """Rank stage transitions by their drop against a baseline window and its revenue impact.

    Parameters
    ----------
    ws : Workspace
    current, baseline : (start, end)
        Windows ``[start, end)``; naive times are read as UTC.
    by : str or list of str, optional
        Deal columns to group by; benchmarks match on ``segment`` when it is one.
    cohort : {"stage_entry", "created"}
        ``"stage_entry"``: deals that entered the stage within the window (the
        first entry; for an implied stage, the first later entry);
        ``"created"``: deals created within the window.
    reach : {"implied", "observed"}
        Reach rule (:func:`analysis.engine.reach.deal_stage_reach`).
    alpha : float
        1 - confidence level of the difference interval, and the level at
        which an adjusted p-value counts as significant.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the p-values across stages x groups
        (``statsmodels.stats.multitest.multipletests``).
    benchmarks : Benchmarks, optional
        From :func:`analysis.reference.benchmarks.load_benchmarks`; None skips the comparison.
    horizon_quantile : float
        The follow-up horizon of each (group, stage) is this quantile of the
        days from entry to decision among the baseline's decided deals.
    horizon_days : float, optional
        One fixed horizon for every row instead.

    Returns
    -------
    Bottlenecks

    Notes
    -----
    **Common horizon.** For each (group, stage) a horizon :math:`H` (days,
    ``horizon_days``) is set from the baseline: the ``horizon_quantile``
    quantile of the time from stage entry to the decision there (advance to
    any later stage, or loss), rounded up to whole days (groups without a
    decided baseline deal take the stage's quantile over all groups). In both
    windows, only deals followed for at least :math:`H` days (entry at least
    :math:`H` days before the data cut-off; ``followed``) count, and a deal
    counts as advanced (lost) only if it advanced (was lost) within :math:`H`
    days of entering. So both windows are read on the same clock, and a
    recent window whose deals are still open is not mistaken for a drop.

    Per window and stage :math:`s`,
    :math:`\\hat p_s = advanced_s / (advanced_s + lost_s)` within the horizon;
    deals undecided at :math:`H` are neither (``open_share_current`` is their
    share of the followed current deals). The difference
    :math:`\\hat p_{s,cur} - \\hat p_{s,base}` has Newcombe's hybrid-score
    interval; the p-value is the pooled two-proportion z-test, undefined
    (NaN, ``no_variation``) when both windows are all-advanced or all-lost.
    p-values are adjusted over every testable (group, stage) row.

    A row is *mature* (``mature``) when at least half of the current
    window's entrants were followed for :math:`H` days
    (``followed_share_current >= 0.5``) and at most 20% of those are
    undecided at :math:`H`; immature rows are noted ``immature`` and ranked
    after every mature row.

    Revenue impact per window (the current window's length,
    ``window_days``) of returning stage :math:`s` to its baseline rate:

    .. math:: \\Delta R_s = E_{s,cur}\\,(\\hat p_{s,base} - \\hat p_{s,cur})\\,
       \\prod_{j > s} \\hat p_{j,cur}\\;\\bar a_{won,cur}

    where :math:`E_{s,cur}` is the number of deals that entered :math:`s` in
    the current window, the product (``downstream_win_probability``, 1 for
    the last open stage) is P(won | advanced past :math:`s`) at current
    rates (:func:`analysis.pipeline.bottlenecks.impact.downstream_win_probability`),
    and :math:`\\bar a_{won,cur}` = won amount / won deals among deals won
    in the current window. ``benchmark_revenue_impact`` uses the benchmark
    rate in place of the baseline rate.

    Ranking (``rank`` within each group, ``overall_rank`` across groups):
    mature rows first; within mature and within immature rows, significant
    drops (adjusted p < ``alpha`` and difference < 0) come first, ordered by
    revenue impact (largest first), then the other transitions by adjusted
    p-value, then revenue impact.

    A stage-conversion benchmark matches a row with the same stage and the
    group's segment (else segment ``all``); the first in file order is used.
    ``definition_differs`` is True unless its definition reads
    ``advanced / (advanced + lost)`` (spacing and case ignored). Win-rate
    benchmarks are compared in ``win_rate_gaps`` with won / (won + lost)
    among deals won or lost within the current window.

    Notes codes: ``no_horizon``, ``no_entries_current``,
    ``no_full_follow_up_current`` (nobody entered early enough to be followed
    for :math:`H` days), ``no_decided_current``, ``no_decided_baseline``,
    ``no_variation``, ``no_downstream_rate`` (a later stage has no decided
    deals), ``no_won_deals`` (no won deal to size the revenue), ``immature``.

    References
    ----------
    Newcombe, R. G. (1998). Interval estimation for the difference between
    independent proportions: comparison of eleven methods. Statistics in
    Medicine 17(8), 873-890.
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.
    Benjamini, Y. and Hochberg, Y. (1995). Controlling the false discovery
    rate. JRSS B 57(1), 289-300.
    """
    STAGE_HISTORY.check(ws)
    CREATED_DATES.check(ws)
    check_options(reach, None, cohort)
    _check(alpha, correction, horizon_quantile, horizon_days)
    cur = as_window(current, "current", bounded=True).as_tuple()
    base = as_window(baseline, "baseline", bounded=True).as_tuple()
    keys = group_keys(by)
    skeleton = stage_skeleton(ws, keys, None, pd.DataFrame())
    decisions = decision_rows(ws, reach, keys)
    # Only reached rows enter a window (in_window): store those alone.
    with materialized(ws, decisions.filter(decisions[c.REACHED])) as rows:
        base_rows = in_window(rows, cohort, base)
        horizons = choose_horizons(ws, base_rows, keys, skeleton, horizon_quantile, horizon_days)
        now = _counts(ws, rows, keys, cohort, cur, horizons, CURRENT)
        before = _counts(ws, rows, keys, cohort, base, horizons, BASELINE)
    table = now.merge(before, on=[*keys, c.STAGE, HORIZON_DAYS], how="outer")
    order = {s: i for i, s in enumerate(ws.pipeline.stages)}
    table = table.sort_values(
        [*keys, c.STAGE], key=lambda s: s.map(order) if s.name == c.STAGE else s
    ).reset_index(drop=True)
    table.insert(len(keys) + 1, NEXT_STAGE, table[c.STAGE].map(_next_stage(ws)))
    entered = table[_col(c.N_ENTERED, CURRENT)]
    followed = table[_col(N_FOLLOWED, CURRENT)]
    table[OPEN_SHARE_CURRENT] = table[_col(N_OPEN_AT_HORIZON, CURRENT)] / followed.where(
        followed > 0
    )
    table[FOLLOWED_SHARE_CURRENT] = followed / entered.where(entered > 0)
    table[c.MATURE] = is_mature(table)
    table[READABLE_FROM] = _readable_from(ws, table)
    table = pd.concat([table, compare_windows(table, alpha, correction)], axis=1)
    table[SIGNIFICANT_DROP] = ((table[P_ADJUSTED] < alpha) & (table[DIFFERENCE] < 0)).astype(bool)

    conv_cur = table[_col(c.CONVERSION, CURRENT)]
    if keys:
        down = table.groupby(keys, sort=False, dropna=False)[_col(c.CONVERSION, CURRENT)]
        table[DOWNSTREAM_WIN] = down.transform(
            lambda s: pd.Series(downstream_win_probability(s), index=s.index)
        )
    else:
        table[DOWNSTREAM_WIN] = downstream_win_probability(conv_cur)
    closed = closed_in_window(ws, keys, cur, alpha)
    table[AVG_WON_AMOUNT] = avg_won_amount(closed, keys, table)
    table[WINDOW_DAYS] = (cur[1] - cur[0]) / pd.Timedelta(days=1)
    per_extra_point = entered * table[DOWNSTREAM_WIN] * table[AVG_WON_AMOUNT]
    table[REVENUE_IMPACT] = per_extra_point * (table[_col(c.CONVERSION, BASELINE)] - conv_cur)
    stage_benchmarks(table, keys, benchmarks)
    table[BENCHMARK_GAP] = conv_cur - table[BENCHMARK_VALUE]
    table[BENCHMARK_REVENUE_IMPACT] = per_extra_point * (table[BENCHMARK_VALUE] - conv_cur)
    table[c.NOTE] = row_notes(table)
    table = rank_transitions(table, keys)[_column_order(keys)]
    gaps = win_rate_gaps(closed, keys, benchmarks)
    return Bottlenecks(
        table, gaps, tuple(keys), cur, base, cohort, reach, alpha, correction, horizon_quantile
    )


def _readable_from(ws: Workspace, table: pd.DataFrame) -> pd.Series:
    """The day half of the current window's entrants will have been followed for the horizon.

    The cut-off plus what the median entrant still lacks (``H`` minus its
    follow-up so far); empty when half are followed already or there is no
    horizon. Exact whatever the cohort, since it reads the entrants' own
    entry times rather than assuming they spread evenly over the window.
    """
    cutoff = data_cutoff(ws)
    lacking = table[HORIZON_DAYS] - table[_col(MEDIAN_FOLLOW_DAYS, CURRENT)]
    if pd.isna(cutoff):
        return pd.Series(pd.NaT, index=table.index, dtype="datetime64[us, UTC]")
    days = pd.to_timedelta(lacking.where(lacking > 0).astype(float).apply(np.ceil), unit="D")
    return (cutoff.normalize() + days).astype("datetime64[us, UTC]")


def _next_stage(ws: Workspace) -> dict[str, str]:
    stages = ws.pipeline.stages
    return dict(zip(stages, [*stages[1:], ws.pipeline.won], strict=True))


def _column_order(keys: list[str]) -> list[str]:
    per_window = [
        _col(name, w)
        for w in (CURRENT, BASELINE)
        for name in (c.N_ENTERED, N_FOLLOWED, c.N_ADVANCED, c.N_LOST, DECIDED, c.CONVERSION)
    ]
    return [
        *keys, c.STAGE, NEXT_STAGE, RANK, HORIZON_DAYS, *per_window, OPEN_SHARE_CURRENT,
        FOLLOWED_SHARE_CURRENT, c.MATURE, READABLE_FROM, DIFFERENCE, DIFF_CI_LOW, DIFF_CI_HIGH, P_VALUE,
        P_ADJUSTED, SIGNIFICANT_DROP, DOWNSTREAM_WIN, AVG_WON_AMOUNT, WINDOW_DAYS, REVENUE_IMPACT,
        BENCHMARK_VALUE, BENCHMARK_GAP, BENCHMARK_DEFINITION, DEFINITION_DIFFERS,
        BENCHMARK_SOURCE, BENCHMARK_NOTE, BENCHMARK_REVENUE_IMPACT, OVERALL_RANK, c.NOTE,
    ]  # fmt: skip
