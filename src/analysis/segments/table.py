"""The side-by-side table as a reader sees it: each figure in its own unit.

:class:`analysis.segments.compare.SegmentComparison` keeps rates, days, money
and counts in the same numeric columns (one row per metric), which a styled
table can only print one way: a win rate came out as "0.1". Here every row is
written in its metric's unit, with its interval, for the report page; the
numeric table stays the one written to CSV.
"""

from __future__ import annotations

import pandas as pd

from analysis.present.formatting import format_money, format_p_value, is_missing
from analysis.reference.benchmarks import METRIC_WIN_RATE
from analysis.segments import columns as c
from analysis.segments.compare import (
    EFFECT_KIND,
    METRIC_CONVERSION,
    METRIC_CYCLE,
    METRIC_SIZE,
    METRIC_WON_DEAL,
    N_A,
    N_B,
    TEST,
    SegmentComparison,
)

RATES = (METRIC_WIN_RATE, METRIC_CONVERSION)
MONEY = (METRIC_SIZE, METRIC_WON_DEAL)


def _value(metric: str, x: float) -> str:
    if is_missing(x):
        return "–"
    if metric in RATES:
        return f"{100 * x:.1f}%"
    if metric in MONEY:
        return format_money(x)
    if metric == METRIC_CYCLE:
        return f"{x:.1f} days"
    return f"{x:.2f}"


def _with_interval(metric: str, x: float, low: float, high: float) -> str:
    text = _value(metric, x)
    if is_missing(x) or is_missing(low) or is_missing(high):
        return text
    return f"{text} [{_value(metric, low)} – {_value(metric, high)}]"


def _effect(row: pd.Series) -> str:
    metric, kind = row[c.METRIC], row[EFFECT_KIND]
    d, low, high = row[c.DIFFERENCE], row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH]
    if is_missing(d):
        return "–"
    if kind == "ratio":
        bounds = "" if is_missing(low) else f" [{low:.2f}–{high:.2f}]"
        return f"{d:.2f}×{bounds}"
    if metric in RATES:
        bounds = "" if is_missing(low) else f" [{100 * low:+.1f} to {100 * high:+.1f}]"
        return f"{100 * d:+.1f} points{bounds}"
    if metric in MONEY:
        sign = "+" if d >= 0 else "−"
        return sign + format_money(abs(d))
    unit = " days" if metric == METRIC_CYCLE else ""
    bounds = "" if is_missing(low) else f" [{low:+.1f} to {high:+.1f}]"
    return f"{d:+.1f}{unit}{bounds}"


def readable_comparison(comparison: SegmentComparison) -> pd.DataFrame:
    """One row per metric, each figure in its unit with its interval, as text.

    Columns: ``metric, stage``, then each segment's value with its interval and
    its count, the difference (or ratio) with its interval, the test and its
    p-values, the note.
    """
    a, b = comparison.a, comparison.b
    t = comparison.table
    rows = []
    for _, r in t.iterrows():
        m = r[c.METRIC]
        rows.append(
            {
                c.METRIC: m.replace("_", " "),
                c.STAGE: r.get(c.STAGE) or "",
                a: _with_interval(m, r[c.VALUE_A], r[c.CI_LOW_A], r[c.CI_HIGH_A]),
                f"{a} n": int(r[N_A]),
                b: _with_interval(m, r[c.VALUE_B], r[c.CI_LOW_B], r[c.CI_HIGH_B]),
                f"{b} n": int(r[N_B]),
                f"{a} vs {b}": _effect(r),
                TEST: r[TEST],
                "p": format_p_value(r[c.P_VALUE]),
                "p adjusted": format_p_value(r[c.P_ADJUSTED]),
                c.NOTE: r[c.NOTE],
            }
        )
    return pd.DataFrame(rows)
