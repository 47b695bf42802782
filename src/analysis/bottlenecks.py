"""Bottlenecks: which stage transitions fell against a baseline, and which fix is worth most.

Each stage transition (open stage -> next stage) of each group is compared
between a current and a baseline window: the difference of the two
conversions with its Newcombe interval, a two-proportion z-test whose
p-values are adjusted across stages x groups, the gap to a cited industry
benchmark where one matches, and the won revenue per window the transition
would add if it returned to its baseline rate. Row-level work runs in the
engine (:mod:`analysis.funnel_accounting`); the statistics run here on the
small grouped table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from analysis import columns as c
from analysis.benchmarks import (
    METRIC_STAGE_CONVERSION,
    METRIC_WIN_RATE,
    Benchmarks,
    same_definition,
)
from analysis.engine import Workspace
from analysis.funnel import win_rates
from analysis.funnel_accounting import (
    Cohort,
    Reach,
    check_options,
    deal_stage_reach,
    group_keys,
    grouped_counts,
)
from analysis.grouping import to_utc

__all__ = ["Bottlenecks", "bottlenecks"]

Correction = Literal["holm", "fdr_bh"]
CORRECTIONS = ("holm", "fdr_bh")
Window = tuple[str | pd.Timestamp, str | pd.Timestamp]

# Our definitions, compared with each benchmark's (whitespace and case ignored).
STAGE_CONVERSION_DEFINITION = "advanced / (advanced + lost)"
WIN_RATE_DEFINITION = "won / (won + lost)"
MAX_OPEN_SHARE = 0.2  # as analysis.funnel.stage_conversion: above it a row is immature

# Result columns.
NEXT_STAGE = "next_stage"
CURRENT, BASELINE = "current", "baseline"
DECIDED = "decided"
OPEN_SHARE_CURRENT = f"{c.OPEN_SHARE}_{CURRENT}"
DIFFERENCE = "difference"
DIFF_CI_LOW, DIFF_CI_HIGH = "diff_ci_low", "diff_ci_high"
P_VALUE, P_ADJUSTED = "p_value", "p_adjusted"
SIGNIFICANT_DROP = "significant_drop"
DOWNSTREAM_WIN = "downstream_win_probability"
AVG_WON_AMOUNT = "avg_won_amount"
WINDOW_DAYS = "window_days"
REVENUE_IMPACT = "revenue_impact"
BENCHMARK_VALUE = "benchmark_value"
BENCHMARK_GAP = "benchmark_gap"
BENCHMARK_DEFINITION = "benchmark_definition"
BENCHMARK_SOURCE = "benchmark_source"
BENCHMARK_NOTE = "benchmark_note"
DEFINITION_DIFFERS = "definition_differs"
BENCHMARK_REVENUE_IMPACT = "benchmark_revenue_impact"
RANK, OVERALL_RANK = "rank", "overall_rank"

# Message codes (joined with "; " when several apply).
NOTE_NO_ENTRIES_CURRENT = "no_entries_current"
NOTE_NO_DECIDED_CURRENT = "no_decided_current"
NOTE_NO_DECIDED_BASELINE = "no_decided_baseline"
NOTE_NO_VARIATION = "no_variation"  # both rates 0 or both 1: the z-test is undefined
NOTE_NO_DOWNSTREAM = "no_downstream_rate"
NOTE_NO_WON_DEALS = "no_won_deals"


def _col(name: str, window: str) -> str:
    return f"{name}_{window}"


@dataclass(frozen=True)
class Bottlenecks:
    """Stage transitions ranked by their drop against a baseline and its revenue impact.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, stage), sorted by group and ``rank``:
        ``stage, next_stage``; per window (suffix ``_current``/``_baseline``)
        ``entered, advanced, lost, decided, conversion``; ``open_share_current,
        difference, diff_ci_low, diff_ci_high, p_value, p_adjusted,
        significant_drop, downstream_win_probability, avg_won_amount,
        window_days, revenue_impact, benchmark_value, benchmark_gap,
        benchmark_definition, benchmark_source, benchmark_note,
        definition_differs, benchmark_revenue_impact, rank, overall_rank, note``.
    win_rate_gaps : pandas.DataFrame
        Current-window win rate (won / (won + lost)) per group beside every
        matching ``win_rate`` benchmark; empty without benchmarks.
    by : tuple of str
    current, baseline : tuple of Timestamp
        The windows ``[start, end)`` in UTC.
    cohort, reach, correction : str
    alpha : float
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

    def to_frame(self) -> pd.DataFrame:
        """The ranked transition table as a DataFrame (a copy)."""
        return self.table.copy()


def _window(window: Window, name: str) -> tuple[pd.Timestamp, pd.Timestamp]:
    try:
        start, end = window
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a (start, end) pair, got {window!r}.") from None
    start, end = to_utc(start), to_utc(end)
    if not start < end:
        raise ValueError(f"{name} must start before it ends, got [{start}, {end}).")
    return start, end


def _window_counts(
    ws: Workspace,
    keys: list[str],
    cohort: str,
    reach: str,
    window: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """Entered / advanced / lost / open per (groups, stage) for one window's cohort."""
    start, end = window
    if cohort == c.COHORT_CREATED:
        rows = deal_stage_reach(ws, reach, by=keys, start=start, end=end)
    else:
        rows = deal_stage_reach(ws, reach, by=keys)
        when = rows[c.STAGE_ENTERED_AT]
        rows = rows.filter((when >= start) & (when < end))
    names = (c.N_ENTERED, c.N_ADVANCED, c.N_LOST_HERE, c.N_REGRESSED, c.N_STILL_OPEN)
    counts = grouped_counts(ws, rows, keys, None, cohort, names)
    out = counts[[*keys, c.STAGE, c.N_ENTERED, c.N_ADVANCED]].copy()
    out[c.N_LOST] = counts[c.N_LOST_HERE]
    out[c.N_OPEN] = counts[c.N_REGRESSED] + counts[c.N_STILL_OPEN]
    out[DECIDED] = out[c.N_ADVANCED] + out[c.N_LOST]
    out[c.CONVERSION] = out[c.N_ADVANCED] / out[DECIDED].where(out[DECIDED] > 0)
    return out


def _compare(table: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """Difference current - baseline, its Newcombe interval and the pooled z-test p-value."""
    a1, n1 = table[_col(c.N_ADVANCED, CURRENT)], table[_col(DECIDED, CURRENT)]
    a0, n0 = table[_col(c.N_ADVANCED, BASELINE)], table[_col(DECIDED, BASELINE)]
    out = pd.DataFrame(index=table.index, columns=[DIFFERENCE, DIFF_CI_LOW, DIFF_CI_HIGH, P_VALUE])
    out = out.astype(float)
    ok = (n1 > 0) & (n0 > 0)
    if ok.any():
        low, high = confint_proportions_2indep(
            a1[ok].to_numpy(float), n1[ok].to_numpy(float),
            a0[ok].to_numpy(float), n0[ok].to_numpy(float),
            method="newcomb", compare="diff", alpha=alpha,
        )  # fmt: skip
        out.loc[ok, DIFFERENCE] = (a1[ok] / n1[ok] - a0[ok] / n0[ok]).to_numpy()
        out.loc[ok, DIFF_CI_LOW], out.loc[ok, DIFF_CI_HIGH] = low, high
    pooled = (a1 + a0) / (n1 + n0).where(ok)
    testable = ok & (pooled > 0) & (pooled < 1)
    for i in out.index[testable]:
        _, p = proportions_ztest([a1[i], a0[i]], [n1[i], n0[i]], alternative="two-sided")
        out.loc[i, P_VALUE] = p
    return out


def _adjust(p: pd.Series, correction: str) -> pd.Series:
    """p-values adjusted across every testable row (NaN rows are left out)."""
    adjusted = pd.Series(np.nan, index=p.index)
    ok = p.notna()
    if ok.any():
        adjusted[ok] = multipletests(p[ok].to_numpy(), method=correction)[1]
    return adjusted


def _downstream(conversion: pd.Series) -> np.ndarray:
    """P(won | advanced past stage s): product of the conversions of the later stages."""
    p = conversion.to_numpy(dtype=float)
    later = np.append(p[1:], 1.0)
    return np.cumprod(later[::-1])[::-1]


def _avg_won_amount(rates: pd.DataFrame, keys: list[str], table: pd.DataFrame) -> pd.Series:
    """Won amount / won deals per group of the current window's win-rate table."""
    won = rates[rates[c.N_WON].notna()]
    avg = won[c.WON_AMOUNT].astype(float) / won[c.N_WON].where(won[c.N_WON] > 0)
    if not keys:
        value = float(avg.iloc[0]) if len(avg) else np.nan
        return pd.Series(value, index=table.index)
    lookup = won[keys].assign(**{AVG_WON_AMOUNT: avg})
    merged = table[keys].merge(lookup, on=keys, how="left")
    return pd.Series(merged[AVG_WON_AMOUNT].to_numpy(), index=table.index)


def _stage_benchmarks(table: pd.DataFrame, keys: list[str], benchmarks: Benchmarks | None) -> None:
    """Add the first matching stage-conversion benchmark's columns to ``table`` in place."""
    table[BENCHMARK_VALUE] = np.nan
    for name in (BENCHMARK_DEFINITION, BENCHMARK_SOURCE, BENCHMARK_NOTE, DEFINITION_DIFFERS):
        table[name] = pd.Series(None, index=table.index, dtype=object)
    if benchmarks is None:
        return
    for i, row in table.iterrows():
        segment = row[c.SEGMENT] if c.SEGMENT in keys else None
        match = benchmarks.matching(METRIC_STAGE_CONVERSION, row[c.STAGE], segment)
        if match:
            e = match[0]
            table.loc[i, BENCHMARK_VALUE] = e.value
            table.at[i, BENCHMARK_DEFINITION] = e.definition
            table.at[i, BENCHMARK_SOURCE] = f"{e.source} ({e.year}) {e.url}"
            table.at[i, BENCHMARK_NOTE] = e.note
            table.at[i, DEFINITION_DIFFERS] = not same_definition(
                e.definition, STAGE_CONVERSION_DEFINITION
            )


def _win_rate_gaps(
    rates: pd.DataFrame, keys: list[str], benchmarks: Benchmarks | None
) -> pd.DataFrame:
    """Current win rate per group beside every matching win-rate benchmark."""
    columns = [
        *keys, c.WIN_RATE, c.CI_LOW, c.CI_HIGH, BENCHMARK_VALUE, BENCHMARK_GAP,
        BENCHMARK_DEFINITION, DEFINITION_DIFFERS, BENCHMARK_SOURCE, BENCHMARK_NOTE,
    ]  # fmt: skip
    if benchmarks is None:
        return pd.DataFrame(columns=columns)
    rows = []
    for _, r in rates.iterrows():
        segment = r[c.SEGMENT] if c.SEGMENT in keys else None
        for e in benchmarks.matching(METRIC_WIN_RATE, None, segment):
            rows.append(
                {
                    **{k: r[k] for k in keys},
                    c.WIN_RATE: r[c.WIN_RATE], c.CI_LOW: r[c.CI_LOW], c.CI_HIGH: r[c.CI_HIGH],
                    BENCHMARK_VALUE: e.value, BENCHMARK_GAP: r[c.WIN_RATE] - e.value,
                    BENCHMARK_DEFINITION: e.definition,
                    DEFINITION_DIFFERS: not same_definition(e.definition, WIN_RATE_DEFINITION),
                    BENCHMARK_SOURCE: f"{e.source} ({e.year}) {e.url}", BENCHMARK_NOTE: e.note,
                }
            )  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def _rank(table: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Significant drops first by revenue impact, then the rest by adjusted p-value."""
    work = table.assign(_revenue=-table[REVENUE_IMPACT], _p=table[P_ADJUSTED])
    drops = work[work[SIGNIFICANT_DROP]]
    rest = work[~work[SIGNIFICANT_DROP]]
    ranked = pd.concat(
        [
            drops.sort_values(["_revenue", "_p"], na_position="last", kind="stable"),
            rest.sort_values(["_p", "_revenue"], na_position="last", kind="stable"),
        ]
    )
    ranked[OVERALL_RANK] = np.arange(1, len(ranked) + 1)
    if keys:
        ranked[RANK] = ranked.groupby(keys, dropna=False, sort=False).cumcount() + 1
        ranked = ranked.sort_values([*keys, RANK], kind="stable")
    else:
        ranked[RANK] = ranked[OVERALL_RANK]
    return ranked.drop(columns=["_revenue", "_p"]).reset_index(drop=True)


def _notes(table: pd.DataFrame) -> pd.Series:
    checks = [
        (table[_col(c.N_ENTERED, CURRENT)] == 0, NOTE_NO_ENTRIES_CURRENT),
        (table[_col(DECIDED, CURRENT)] == 0, NOTE_NO_DECIDED_CURRENT),
        (table[_col(DECIDED, BASELINE)] == 0, NOTE_NO_DECIDED_BASELINE),
        (table[DIFFERENCE].notna() & table[P_VALUE].isna(), NOTE_NO_VARIATION),
        (table[DOWNSTREAM_WIN].isna(), NOTE_NO_DOWNSTREAM),
        (table[AVG_WON_AMOUNT].isna(), NOTE_NO_WON_DEALS),
        (table[OPEN_SHARE_CURRENT] > MAX_OPEN_SHARE, c.NOTE_IMMATURE),
    ]
    parts = pd.DataFrame({code: np.where(mask, code, "") for mask, code in checks})
    return parts.apply(lambda r: "; ".join(x for x in r if x), axis=1).set_axis(table.index)


def bottlenecks(
    ws: Workspace,
    current: Window,
    baseline: Window,
    by: str | list[str] | None = "segment",
    cohort: Cohort = "stage_entry",
    reach: Reach = "implied",
    alpha: float = 0.05,
    correction: Correction = "holm",
    benchmarks: Benchmarks | None = None,
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
        Reach rule (:func:`analysis.funnel_accounting.deal_stage_reach`).
    alpha : float
        1 - confidence level of the difference interval, and the level at
        which an adjusted p-value counts as significant.
    correction : {"holm", "fdr_bh"}
        Adjustment of the p-values across stages x groups
        (``statsmodels.stats.multitest.multipletests``).
    benchmarks : Benchmarks, optional
        From :func:`analysis.benchmarks.load_benchmarks`; None skips the comparison.

    Returns
    -------
    Bottlenecks

    Notes
    -----
    Per window and stage :math:`s`, among the cohort's deals that reached
    :math:`s`, :math:`\\hat p_s = advanced_s / (advanced_s + lost_s)`; open
    deals are neither (``open_share_current`` shows how many are undecided).
    The difference :math:`\\hat p_{s,cur} - \\hat p_{s,base}` has Newcombe's
    hybrid-score interval (``confint_proportions_2indep(method="newcomb")``);
    the p-value is the pooled two-proportion z-test (``proportions_ztest``),
    undefined (NaN, ``no_variation``) when both windows are all-advanced or
    all-lost. p-values are adjusted over every testable (group, stage) row.

    Revenue impact per window (the current window's length,
    ``window_days``) of returning stage :math:`s` to its baseline rate:

    .. math:: \\Delta R_s = E_{s,cur}\\,(\\hat p_{s,base} - \\hat p_{s,cur})\\,
       \\prod_{j > s} \\hat p_{j,cur}\\;\\bar a_{won,cur}

    where :math:`E_{s,cur}` is the number of deals that entered :math:`s`,
    the product (``downstream_win_probability``, 1 for the last open stage) is
    P(won | advanced past :math:`s`) at current rates, i.e. the cumulative
    conversion from the next stage, and :math:`\\bar a_{won,cur}` =
    won amount / won deals among deals created in the current window
    (:func:`analysis.funnel.win_rates`). ``benchmark_revenue_impact`` uses the
    benchmark rate in place of the baseline rate.

    Ranking (``rank`` within each group, ``overall_rank`` across groups):
    significant drops (adjusted p < ``alpha`` and difference < 0) come first,
    ordered by revenue impact (largest first); the other transitions follow,
    ordered by adjusted p-value, then revenue impact.

    A stage-conversion benchmark matches a row with the same stage and the
    group's segment (else segment ``all``); the first in file order is used.
    ``definition_differs`` is True unless its definition reads
    ``advanced / (advanced + lost)`` (spacing and case ignored), in which case
    the gap is like for like. Win-rate benchmarks are compared with the
    current window's won / (won + lost) in ``win_rate_gaps``.

    Notes codes: ``no_entries_current``, ``no_decided_current``,
    ``no_decided_baseline``, ``no_variation``, ``no_downstream_rate`` (a later
    stage has no decided deals), ``no_won_deals`` (no won deal to size the
    revenue), ``immature`` (over 20% of the current cohort still open).

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
    check_options(reach, None, cohort)
    if correction not in CORRECTIONS:
        raise ValueError(f'correction must be "holm" or "fdr_bh", not {correction!r}.')
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    cur, base = _window(current, "current"), _window(baseline, "baseline")
    keys = group_keys(by)
    on = [*keys, c.STAGE]
    now = _window_counts(ws, keys, cohort, reach, cur)
    before = _window_counts(ws, keys, cohort, reach, base)
    table = now.merge(before, on=on, how="outer", suffixes=(f"_{CURRENT}", f"_{BASELINE}"))
    order = {s: i for i, s in enumerate(ws.pipeline.stages)}
    table = table.sort_values(
        [*keys, c.STAGE], key=lambda s: s.map(order) if s.name == c.STAGE else s
    )
    table = table.reset_index(drop=True)
    table.insert(len(keys) + 1, NEXT_STAGE, table[c.STAGE].map(_next_stage(ws)))
    table[OPEN_SHARE_CURRENT] = table[_col(c.N_OPEN, CURRENT)] / table[
        _col(c.N_ENTERED, CURRENT)
    ].where(lambda s: s > 0)
    table = table.drop(columns=[_col(c.N_OPEN, CURRENT), _col(c.N_OPEN, BASELINE)])
    table = pd.concat([table, _compare(table, alpha)], axis=1)
    table[P_ADJUSTED] = _adjust(table[P_VALUE], correction)
    table[SIGNIFICANT_DROP] = ((table[P_ADJUSTED] < alpha) & (table[DIFFERENCE] < 0)).astype(bool)

    conv_cur = table[_col(c.CONVERSION, CURRENT)]
    if keys:
        down = table.groupby(keys, sort=False, dropna=False)[_col(c.CONVERSION, CURRENT)]
        table[DOWNSTREAM_WIN] = down.transform(lambda s: pd.Series(_downstream(s), index=s.index))
    else:
        table[DOWNSTREAM_WIN] = _downstream(conv_cur)
    rates = win_rates(ws, by=keys or None, alpha=alpha, start=cur[0], end=cur[1]).to_frame()
    table[AVG_WON_AMOUNT] = _avg_won_amount(rates, keys, table)
    table[WINDOW_DAYS] = (cur[1] - cur[0]) / pd.Timedelta(days=1)
    per_extra_point = (
        table[_col(c.N_ENTERED, CURRENT)] * table[DOWNSTREAM_WIN] * table[AVG_WON_AMOUNT]
    )
    table[REVENUE_IMPACT] = per_extra_point * (table[_col(c.CONVERSION, BASELINE)] - conv_cur)
    _stage_benchmarks(table, keys, benchmarks)
    table[BENCHMARK_GAP] = conv_cur - table[BENCHMARK_VALUE]
    table[BENCHMARK_REVENUE_IMPACT] = per_extra_point * (table[BENCHMARK_VALUE] - conv_cur)
    table[c.NOTE] = _notes(table)
    table = _rank(table, keys)
    table = table[_column_order(keys)]
    gaps = _win_rate_gaps(rates, keys, benchmarks)
    return Bottlenecks(table, gaps, tuple(keys), cur, base, cohort, reach, alpha, correction)


def _next_stage(ws: Workspace) -> dict[str, str]:
    stages = ws.pipeline.stages
    return dict(zip(stages, [*stages[1:], ws.pipeline.won], strict=True))


def _column_order(keys: list[str]) -> list[str]:
    per_window = [
        _col(name, w)
        for w in (CURRENT, BASELINE)
        for name in (c.N_ENTERED, c.N_ADVANCED, c.N_LOST, DECIDED, c.CONVERSION)
    ]
    return [
        *keys, c.STAGE, NEXT_STAGE, RANK, *per_window, OPEN_SHARE_CURRENT,
        DIFFERENCE, DIFF_CI_LOW, DIFF_CI_HIGH, P_VALUE, P_ADJUSTED, SIGNIFICANT_DROP,
        DOWNSTREAM_WIN, AVG_WON_AMOUNT, WINDOW_DAYS, REVENUE_IMPACT,
        BENCHMARK_VALUE, BENCHMARK_GAP, BENCHMARK_DEFINITION, DEFINITION_DIFFERS,
        BENCHMARK_SOURCE, BENCHMARK_NOTE, BENCHMARK_REVENUE_IMPACT, OVERALL_RANK, c.NOTE,
    ]  # fmt: skip
