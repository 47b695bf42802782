"""B2B and B2C side by side, each measure with intervals and a test of the difference.

Averaging B2B and B2C deals together describes neither: B2B deals are large,
slow and involve many decision makers; B2C deals are small and fast. This
module compares two segments on win rate, cycle length, deal size and stage
conversion. Row-level work returns per-segment sufficient statistics
(counts, sums, sums of squares, duration tables); the tests run on them.
The effect of the number of decision makers on winning and on cycle length
lives in :mod:`analysis.segments.decision_makers` and is importable from here.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd
from scipy.stats import t, ttest_ind_from_stats

from analysis.core.types import Correction, WindowLike, check_correction
from analysis.engine.filters import deals_created_in
from analysis.engine.needs import CLOSE_DATES
from analysis.engine.workspace import Workspace
from analysis.pipeline.cycle import (
    CAUSE,
    CAUSE_OPEN,
    COUNT,
    DAYS,
    KM_MEDIAN_CI_HIGH,
    KM_MEDIAN_CI_LOW,
    KM_MEDIAN_DAYS,
    time_to_close,
)
from analysis.pipeline.funnel import stage_conversion, win_rates
from analysis.reference.benchmarks import METRIC_WIN_RATE
from analysis.segments import columns as c
from analysis.segments.decision_makers import (
    MEASURE_CYCLE,
    MEASURE_STAGE,
    NOTE_NO_DM,
    NOTE_TOO_FEW_DEALS,
    OUTCOME_MEASURE,
    SLOPE,
    SLOPE_CI_HIGH,
    SLOPE_CI_LOW,
    DecisionMakerEffect,
    decision_maker_effect,
    ols_from_sums,
)
from analysis.stats.means import positive_mean_interval
from analysis.stats.proportions import two_proportions
from analysis.stats.survival import logrank_test

__all__ = [
    "MEASURE_CYCLE",
    "MEASURE_STAGE",
    "NOTE_NO_DM",
    "OUTCOME_MEASURE",
    "SLOPE",
    "SLOPE_CI_HIGH",
    "SLOPE_CI_LOW",
    "DecisionMakerEffect",
    "SegmentComparison",
    "compare_segments",
    "decision_maker_effect",
    "ols_from_sums",
]

METRIC_CYCLE = "median_days_to_close"
METRIC_SIZE = "geometric_mean_amount"
METRIC_WON_DEAL = "mean_won_amount"
METRIC_DM = "mean_decision_makers"
METRIC_CONVERSION = "conversion"
EFFECT_KIND = "effect"  # "difference" (a - b) or "ratio" (a / b)
TEST = "test"
N_A, N_B = "n_a", "n_b"


@dataclass(frozen=True)
class SegmentComparison:
    """Two segments side by side.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per measure: ``metric, stage, value_a, ci_low_a, ci_high_a,
        n_a, value_b, ci_low_b, ci_high_b, n_b, effect, difference,
        diff_ci_low, diff_ci_high, test, p_value, p_adjusted, note``;
        ``difference`` is ``a - b`` or ``a / b`` as ``effect`` says.
    a, b : str
        The segments compared.
    alpha : float
    """

    table: pd.DataFrame
    a: str
    b: str
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The comparison (a copy)."""
        return self.table.copy()


def _row(metric: str, **values) -> dict:
    return {c.METRIC: metric, c.STAGE: "", **values}


def _moments(ws: Workspace, deals: ibis.Table, segments, value: ibis.Value, where) -> pd.DataFrame:
    """n, sum and sum of squares of ``value`` per segment, over rows where ``where`` holds."""
    d = deals.filter(deals[c.SEGMENT].isin(list(segments)) & where & value.notnull())
    v = value.name("_v")
    d = d.mutate(_v=v)
    expr = d.group_by(c.SEGMENT).aggregate(
        _n=d.count(), _s=d["_v"].sum(), _ss=(d["_v"] * d["_v"]).sum()
    )
    return ws.execute(expr).set_index(c.SEGMENT)


def _mean_ci(
    n: float, s: float, ss: float, alpha: float, positive: bool = False
) -> tuple[float, float, float, float]:
    """Mean, its t interval and the sample SD from n, sum and sum of squares.

    ``positive`` (money) builds the interval on the log scale, so it never
    starts below zero (:func:`analysis.stats.means.positive_mean_interval`).
    """
    if n < 2:
        return (s / n if n else np.nan), np.nan, np.nan, np.nan
    mean = s / n
    sd = np.sqrt(max(ss - n * mean**2, 0.0) / (n - 1))
    q = t.ppf(1 - alpha / 2, n - 1)
    if positive:
        low, high = positive_mean_interval(mean, sd / np.sqrt(n), q)
        return mean, float(low), float(high), sd
    half = q * sd / np.sqrt(n)
    return mean, mean - half, mean + half, sd


def _welch(ma, sa, na, mb, sb, nb, alpha) -> tuple[float, float, float]:
    """Welch difference interval and p-value (scipy ``ttest_ind_from_stats``)."""
    se = np.sqrt(sa**2 / na + sb**2 / nb)
    df = se**4 / ((sa**2 / na) ** 2 / (na - 1) + (sb**2 / nb) ** 2 / (nb - 1))
    half = t.ppf(1 - alpha / 2, df) * se
    p = ttest_ind_from_stats(ma, sa, na, mb, sb, nb, equal_var=False).pvalue
    return ma - mb - half, ma - mb + half, float(p)


def _mean_rows(ws, deals, a, b, alpha) -> list[dict]:
    amount, outcome = deals[c.AMOUNT], deals[c.OUTCOME]
    specs = [
        (METRIC_SIZE, amount.log(), amount > 0, True),
        (METRIC_WON_DEAL, amount, outcome == c.WON, False),
    ]
    if c.N_DECISION_MAKERS in deals.columns:
        dm = deals[c.N_DECISION_MAKERS].cast("float64")
        specs.append((METRIC_DM, dm, dm.notnull(), False))
    rows = []
    for metric, value, where, on_log in specs:
        m = _moments(ws, deals, (a, b), value, where)
        stats = {}
        for seg in (a, b):
            if seg in m.index:
                n, s, ss = (float(m.loc[seg, k]) for k in ("_n", "_s", "_ss"))
            else:
                n, s, ss = 0.0, 0.0, 0.0
            stats[seg] = (n, *_mean_ci(n, s, ss, alpha, positive=metric == METRIC_WON_DEAL))
        (na, ma, la, ha, sa), (nb, mb, lb, hb, sb) = stats[a], stats[b]
        ok = na >= 2 and nb >= 2
        d_lo, d_hi, p = _welch(ma, sa, na, mb, sb, nb, alpha) if ok else (np.nan,) * 3
        f = np.exp if on_log else (lambda x: x)
        rows.append(
            _row(metric, **{
                c.VALUE_A: f(ma), c.CI_LOW_A: f(la), c.CI_HIGH_A: f(ha), N_A: int(na),
                c.VALUE_B: f(mb), c.CI_LOW_B: f(lb), c.CI_HIGH_B: f(hb), N_B: int(nb),
                EFFECT_KIND: "ratio" if on_log else "difference",
                c.DIFFERENCE: f(ma - mb) if on_log else ma - mb,
                c.DIFF_CI_LOW: f(d_lo), c.DIFF_CI_HIGH: f(d_hi),
                TEST: "Welch t" + (" on log amount" if on_log else ""), c.P_VALUE: p,
                c.NOTE: "" if ok else NOTE_TOO_FEW_DEALS,
            })
        )  # fmt: skip
    return rows


def _rate_row(metric, stage, ra, rb, xa, na, xb, nb, alpha) -> dict:
    _, lo, hi, p, _ = (float(v) for v in two_proportions(xa, na, xb, nb, alpha))
    row = _row(metric, **{
        c.VALUE_A: ra[0], c.CI_LOW_A: ra[1], c.CI_HIGH_A: ra[2], N_A: int(na),
        c.VALUE_B: rb[0], c.CI_LOW_B: rb[1], c.CI_HIGH_B: rb[2], N_B: int(nb),
        EFFECT_KIND: "difference", c.DIFFERENCE: ra[0] - rb[0], c.DIFF_CI_LOW: lo,
        c.DIFF_CI_HIGH: hi, TEST: "two-proportion score", c.P_VALUE: p,
        c.NOTE: "" if min(na, nb) else c.NOTE_NO_CLOSED_DEALS,
    })  # fmt: skip
    row[c.STAGE] = stage
    return row


def _cycle_row(ws: Workspace, deals: ibis.Table, a: str, b: str, alpha: float) -> dict:
    scoped = ws.with_table(c.DEALS, deals.filter(deals[c.SEGMENT].isin([a, b])))
    ttc = time_to_close(scoped, c.SEGMENT, alpha=alpha)
    summary = ttc.to_frame().set_index(c.SEGMENT)
    dur = ttc.durations
    p = np.nan
    if {a, b} <= set(dur[c.SEGMENT]):
        # The log-rank test on the counted durations: survdiff's statistic, no expansion.
        event = (dur[CAUSE] != CAUSE_OPEN).to_numpy()
        p = logrank_test(dur[DAYS], event, dur[COUNT], dur[c.SEGMENT].to_numpy())[2]

    def get(seg, col):
        return float(summary.loc[seg, col]) if seg in summary.index else np.nan

    return _row(METRIC_CYCLE, **{
        c.VALUE_A: get(a, KM_MEDIAN_DAYS), c.CI_LOW_A: get(a, KM_MEDIAN_CI_LOW),
        c.CI_HIGH_A: get(a, KM_MEDIAN_CI_HIGH), N_A: int(np.nan_to_num(get(a, c.N_DEALS))),
        c.VALUE_B: get(b, KM_MEDIAN_DAYS), c.CI_LOW_B: get(b, KM_MEDIAN_CI_LOW),
        c.CI_HIGH_B: get(b, KM_MEDIAN_CI_HIGH), N_B: int(np.nan_to_num(get(b, c.N_DEALS))),
        EFFECT_KIND: "difference", c.DIFFERENCE: get(a, KM_MEDIAN_DAYS) - get(b, KM_MEDIAN_DAYS),
        c.DIFF_CI_LOW: np.nan, c.DIFF_CI_HIGH: np.nan, TEST: "log-rank", c.P_VALUE: p,
        c.NOTE: "",
    })  # fmt: skip


def compare_segments(
    ws: Workspace,
    a: str = c.B2B,
    b: str = c.B2C,
    alpha: float = 0.05,
    *,
    window: WindowLike | None = None,
    correction: Correction = "holm",
) -> SegmentComparison:
    """Compare two segments on win rate, cycle, deal size, decision makers and stage conversion.

    Parameters
    ----------
    ws : Workspace
    a, b : str
        Segments (values of ``deals.segment``).
    alpha : float
    window : Window or (start, end), optional
        Creation-date window.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Multiple-testing adjustment across the stage-conversion rows
        (:func:`analysis.stats.multitest.adjust_pvalues`); other rows keep
        their own p-value.

    Returns
    -------
    SegmentComparison

    Notes
    -----
    - Win rate ``won / (won + lost)`` and stage conversion ``advanced /
      (advanced + lost)``: Wilson intervals per segment; the Miettinen–Nurminen
      score test of ``a - b`` and the interval that inverts it, for stage rows
      at the level that agrees with the adjusted p-value
      (:func:`analysis.stats.proportions.two_proportions`). Without stage
      events there are no stage rows.
    - Cycle: Kaplan–Meier median time from creation to close with open deals
      censored and Brookmeyer–Crowley intervals
      (:func:`analysis.pipeline.cycle.time_to_close`); log-rank test
      (:func:`analysis.stats.survival.logrank_test`, equal to statsmodels'
      ``survdiff`` on the expanded rows). No interval is given for
      the difference of two medians.
    - Deal size: geometric mean of positive amounts of all deals, i.e.
      :math:`\\exp(\\overline{\\log a})` (the median of a lognormal), with a t
      interval on the log scale; the effect is the ratio ``a / b`` with a
      Welch interval on the log scale. Mean won amount and mean number of
      decision makers: means with t intervals, Welch difference.
    """
    check_correction(correction)
    deals = deals_created_in(ws, window)
    scoped = ws.with_table(c.DEALS, deals.filter(deals[c.SEGMENT].isin([a, b])))
    rates = win_rates(scoped, by=c.SEGMENT, alpha=alpha).to_frame().set_index(c.SEGMENT)

    def rate(seg):
        if seg not in rates.index:
            return (np.nan, np.nan, np.nan), 0, 0
        r = rates.loc[seg]
        return (r[c.WIN_RATE], r[c.CI_LOW], r[c.CI_HIGH]), int(r[c.N_WON]), int(r[c.N_CLOSED])

    (ra, xa, na), (rb, xb, nb) = rate(a), rate(b)
    rows = [_rate_row(METRIC_WIN_RATE, "", ra, rb, xa, na, xb, nb, alpha)]
    if not CLOSE_DATES.missing(ws):  # without close dates the table has no cycle row
        rows.append(_cycle_row(ws, deals, a, b, alpha))
    rows += _mean_rows(ws, deals, a, b, alpha)
    stage_rows, stage_counts = [], []
    has_events = ws.has(c.STAGE_EVENTS)
    conv = stage_conversion(scoped, by=c.SEGMENT, alpha=alpha).to_frame() if has_events else None
    for stage in ws.pipeline.stages if has_events else ():
        part = conv[conv[c.STAGE] == stage].set_index(c.SEGMENT)

        def get(seg, part=part):
            if seg not in part.index:
                return (np.nan, np.nan, np.nan), 0, 0
            r = part.loc[seg]
            dec = int(r[c.N_ADVANCED] + r[c.N_LOST])
            return (r[c.CONVERSION], r[c.CI_LOW], r[c.CI_HIGH]), int(r[c.N_ADVANCED]), dec

        (sa, xa, na), (sb, xb, nb) = get(a), get(b)
        stage_rows.append(_rate_row(METRIC_CONVERSION, stage, sa, sb, xa, na, xb, nb, alpha))
        stage_counts.append((xa, na, xb, nb))
    table = pd.DataFrame(rows + stage_rows)
    table[c.P_ADJUSTED] = table[c.P_VALUE]
    if stage_counts:
        # The stage rows are one family: adjusted p-values, and intervals at the level
        # that agrees with them (two_proportions), so the two never contradict.
        xa, na, xb, nb = (np.array(v, dtype=float) for v in zip(*stage_counts, strict=True))
        _, low, high, _, p_adj = two_proportions(xa, na, xb, nb, alpha, correction=correction)
        is_stage = (table[c.METRIC] == METRIC_CONVERSION).to_numpy()
        table.loc[is_stage, c.P_ADJUSTED] = p_adj
        table.loc[is_stage, c.DIFF_CI_LOW], table.loc[is_stage, c.DIFF_CI_HIGH] = low, high
    order = [
        c.METRIC, c.STAGE, c.VALUE_A, c.CI_LOW_A, c.CI_HIGH_A, N_A, c.VALUE_B, c.CI_LOW_B,
        c.CI_HIGH_B, N_B, EFFECT_KIND, c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH, TEST,
        c.P_VALUE, c.P_ADJUSTED, c.NOTE,
    ]  # fmt: skip
    return SegmentComparison(table[order], a, b, alpha)
