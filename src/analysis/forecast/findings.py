"""Findings of the forecast question in words, generated from its results."""

from __future__ import annotations

from analysis.forecast import columns as c
from analysis.forecast.slippage import Slippage
from analysis.present.formatting import (
    format_count,
    format_days,
    format_p_value,
    format_points,
    format_rate,
    is_missing,
)

__all__ = ["slippage_sentences"]


def _label(row: dict, by: tuple[str, ...]) -> str:
    if not by:
        return "All deals"
    return " / ".join(c.UNKNOWN if is_missing(row[key]) else str(row[key]) for key in by)


def _times(mean: float, low: float, high: float) -> str:
    if is_missing(low) or is_missing(high):
        return f"{mean:.2f} times (no interval: too few deals)"
    return f"{mean:.2f} times [{low:.2f}–{high:.2f}]"


def _win_clause(w: dict, correction: str) -> str:
    if w[c.NOTE] in (c.NOTE_NO_CLOSED_PUSHED, c.NOTE_NO_CLOSED_UNPUSHED):
        return "too few closed deals on one side to compare win rates"
    which = "p" if correction == "none" else f"{correction}-adjusted p"
    p = format_p_value(w[c.P_ADJUSTED]).replace("p", which, 1)
    points = format_points(w[c.DIFFERENCE], w[c.DIFF_CI_LOW], w[c.DIFF_CI_HIGH])
    return (
        f"closed, pushed deals won "
        f"{format_rate(w[c.PUSHED_WIN_RATE], w[c.PUSHED_CI_LOW], w[c.PUSHED_CI_HIGH])} of "
        f"{format_count(w[c.PUSHED_CLOSED])} against "
        f"{format_rate(w[c.UNPUSHED_WIN_RATE], w[c.UNPUSHED_CI_LOW], w[c.UNPUSHED_CI_HIGH])} "
        f"of {format_count(w[c.UNPUSHED_CLOSED])} never pushed ({points}, {p})"
    )


def slippage_sentences(result: Slippage) -> list[str]:
    """One sentence per group: share pushed, pushes and days, win rates; then the notes.

    Every rate, mean and difference is printed with its interval (at the
    result's ``alpha``; the win-rate difference at the level that agrees with
    its adjusted p-value). Counts are exact and have none.
    """
    out = []
    rows = result.table.to_dict("records")
    wins = result.win_rates.to_dict("records")
    for r, w in zip(rows, wins, strict=True):
        label = _label(r, result.by)
        if r[c.AT_RISK] == 0:
            out.append(f"{label}: no deal was still open after its first expected close.")
            continue
        share = format_rate(r[c.SHARE_PUSHED], r[c.CI_LOW], r[c.CI_HIGH])
        head = (
            f"{label}: {share} of the {format_count(r[c.AT_RISK])} deals still open after "
            "their first expected close were pushed"
        )
        if r[c.PUSHED] > 0:
            times = _times(r[c.PUSHES_PER_DEAL], r[c.PUSHES_CI_LOW], r[c.PUSHES_CI_HIGH])
            days = format_days(r[c.MEAN_DAYS_PUSHED], r[c.DAYS_CI_LOW], r[c.DAYS_CI_HIGH])
            head += f", {times} each, by {days} on average in all"
        out.append(f"{head}; {_win_clause(w, result.correction)}.")
    return out + list(result.notes)
