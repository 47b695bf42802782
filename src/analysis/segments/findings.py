"""Findings sentences for B2B against B2C: gaps in win rate, deal size and cycle time with their intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.present.formatting import (
    format_days,
    format_money,
    format_p_value,
    format_points,
    format_rate,
    is_missing,
)
from analysis.present.page import no_sentence_for_skipped
from analysis.segments import columns as c
from analysis.segments.compare import (
    MEASURE_CYCLE,
    MEASURE_STAGE,
    METRIC_CYCLE,
    METRIC_SIZE,
    METRIC_WIN_RATE,
    OUTCOME_MEASURE,
    SLOPE,
    SLOPE_CI_HIGH,
    SLOPE_CI_LOW,
    DecisionMakerEffect,
    SegmentComparison,
)


@no_sentence_for_skipped
def segment_sentences(
    comparison: SegmentComparison, effect: DecisionMakerEffect | None = None
) -> list[str]:
    """Win rate, cycle and deal size of two segments, and the decision-maker effects."""
    t = comparison.table.set_index(c.METRIC)
    a, b = comparison.a, comparison.b
    out = []
    if METRIC_SIZE in t.index:
        sizes = t.loc[METRIC_SIZE]
        empty = [s for s, n in ((a, sizes["n_a"]), (b, sizes["n_b"])) if not n]
        if empty:
            return [
                f"No {' or '.join(empty)} deals in the data or window, so {a} and {b} "
                "cannot be compared."
            ]
    if METRIC_WIN_RATE in t.index:
        r = t.loc[METRIC_WIN_RATE]
        r = r.iloc[0] if isinstance(r, pd.DataFrame) else r
        if is_missing(r[c.VALUE_A]) or is_missing(r[c.VALUE_B]):
            out.append(
                f"Win rates cannot be compared: {a} has {int(r['n_a']):,} and {b} "
                f"{int(r['n_b']):,} closed deals."
            )
        else:
            out.append(
                f"{a} wins {format_rate(r[c.VALUE_A], r[c.CI_LOW_A], r[c.CI_HIGH_A])} of closed "
                f"deals, {b} {format_rate(r[c.VALUE_B], r[c.CI_LOW_B], r[c.CI_HIGH_B])} "
                f"({format_points(r[c.DIFFERENCE], r[c.DIFF_CI_LOW], r[c.DIFF_CI_HIGH])}, {format_p_value(r[c.P_VALUE])})."
            )
    if METRIC_CYCLE in t.index:
        r = t.loc[METRIC_CYCLE]
        out.append(
            f"Median time to close (open deals counted as still running): {a} "
            f"{format_days(r[c.VALUE_A], r[c.CI_LOW_A], r[c.CI_HIGH_A])}, {b} "
            f"{format_days(r[c.VALUE_B], r[c.CI_LOW_B], r[c.CI_HIGH_B])} "
            f"(log-rank {format_p_value(r[c.P_VALUE])})."
        )
    if METRIC_SIZE in t.index:
        r = t.loc[METRIC_SIZE]
        out.append(
            f"Typical deal (geometric mean): {a} {format_money(r[c.VALUE_A])}, {b} "
            f"{format_money(r[c.VALUE_B])}, {r[c.DIFFERENCE]:.3g}× "
            f"[{r[c.DIFF_CI_LOW]:.3g}–{r[c.DIFF_CI_HIGH]:.3g}]."
        )
    if effect is not None and len(effect.effects):
        for seg, g in effect.effects.groupby(c.SEGMENT, sort=True):
            g = g.set_index(OUTCOME_MEASURE)
            parts = []
            if MEASURE_STAGE in g.index and not is_missing(g.loc[MEASURE_STAGE, SLOPE]):
                s = g.loc[MEASURE_STAGE]
                parts.append(
                    f"multiplies the odds of advancing at each stage by "
                    f"{np.exp(s[SLOPE]):.2f} [{np.exp(s[SLOPE_CI_LOW]):.2f}–"
                    f"{np.exp(s[SLOPE_CI_HIGH]):.2f}]"
                )
            if MEASURE_CYCLE in g.index and not is_missing(g.loc[MEASURE_CYCLE, SLOPE]):
                s = g.loc[MEASURE_CYCLE]
                parts.append(
                    f"changes time to win by {100 * (np.exp(s[SLOPE]) - 1):+.0f}% "
                    f"[{100 * (np.exp(s[SLOPE_CI_LOW]) - 1):+.0f}% to "
                    f"{100 * (np.exp(s[SLOPE_CI_HIGH]) - 1):+.0f}%]"
                )
            if parts:
                out.append(f"In {seg}, each extra decision maker {' and '.join(parts)}.")
    return out
