"""Findings of the forecast question in words, generated from its results."""

from __future__ import annotations

import pandas as pd

from analysis.forecast import columns as c
from analysis.forecast.backtest import Backtest
from analysis.forecast.calibration import Calibration
from analysis.forecast.coverage import TargetCoverage
from analysis.forecast.outlook import WindowForecast
from analysis.forecast.slippage import Slippage
from analysis.present.formatting import (
    format_count,
    format_days,
    format_money,
    format_p_value,
    format_points,
    format_rate,
    is_missing,
)

__all__ = [
    "FORECAST_KEY",
    "backtest_sentences",
    "calibration_sentences",
    "coverage_sentences",
    "forecast_headline",
    "forecast_record",
    "slippage_sentences",
]
_WINDOW_WORD = {"quarter": "quarters", "month": "months"}
FORECAST_KEY = "forecast"  # the forecast's entry in its page's summary.json


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


def _signed_share(value: float) -> str:
    """``0.26 -> '26% high'``, ``-0.1 -> '10% low'``."""
    return f"{abs(value):.0%} {'high' if value >= 0 else 'low'}"


def _last_day(end: pd.Timestamp) -> str:
    day = end - pd.Timedelta(days=1)
    return f"{day.day} {day:%B %Y}"


def forecast_headline(forecast: WindowForecast, backtest: Backtest | None = None) -> str:
    """The forecast in one sentence, with the CRM's answer and its track record when known.

    "By 30 September 2026: $1.01M expected [P10 $0.81M – P90 $1.22M], $91k of it from deals
    not yet created; the reps' probabilities would say $1.34M and ran 26% high over the
    last 4 quarters (the model: 8% high, its 80% interval held the actual in 4 of 4)."
    """
    table = forecast.table.set_index(c.GROUP)
    total = table.loc[c.TOTAL]
    level = f"P{100 * forecast.alpha / 2:g}", f"P{100 * (1 - forecast.alpha / 2):g}"
    head = (
        f"By {_last_day(forecast.end)}: {format_money(total[c.MEAN])} expected "
        f"[{level[0]} {format_money(total[c.PI_LOW])} – {level[1]} "
        f"{format_money(total[c.PI_HIGH])}]"
    )
    parts = []
    if c.WON_SO_FAR in table.index:
        parts.append(f"{format_money(table.loc[c.WON_SO_FAR, c.MEAN])} of it already won")
    if c.NEW_DEALS in table.index:
        parts.append(f"{format_money(table.loc[c.NEW_DEALS, c.MEAN])} from deals not yet created")
    if parts:
        head += ", " + " and ".join(parts)
    if is_missing(total[c.REP_WEIGHTED]):
        return f"{head} (the export has no rep probabilities to set beside it)."
    rep = f"the reps' probabilities would say {format_money(total[c.REP_WEIGHTED])}"
    scores = None if backtest is None else backtest.summary.set_index(c.METHOD)
    if scores is None or backtest.table.empty or is_missing(scores.loc[c.MEAN, c.BIAS]):
        return f"{head}; {rep} (no past window with a win to check either against)."
    n = len(backtest.table)
    words = _WINDOW_WORD.get(backtest.freq, "windows")
    model, reps = scores.loc[c.MEAN], scores.loc[c.REP_WEIGHTED]
    if is_missing(reps[c.BIAS]):
        return (
            f"{head}; {rep} (the model ran {_signed_share(model[c.BIAS])} over the last {n} "
            f"{words}; the pipeline of their starts won nothing to score the reps against)."
        )
    covered = int(backtest.table[c.COVERED].sum())
    track = f"over the last {n} {words}" if n > 1 else f"in the last {words[:-1]}"
    return (
        f"{head}; {rep} and ran {_signed_share(reps[c.BIAS])} {track} (the model: "
        f"{_signed_share(model[c.BIAS])}, its {1 - backtest.alpha:.0%} interval held the actual "
        f"in {covered} of {n})."
    )


def backtest_sentences(backtest: Backtest) -> list[str]:
    """Bias, error and interval coverage of the model and of the CRM's two answers."""
    if backtest.table.empty:
        return ["No past window has a year of history before it: the forecast is not backtested."]
    words = _WINDOW_WORD.get(backtest.freq, "windows")
    scores = backtest.summary.set_index(c.METHOD)
    level = f"{1 - backtest.alpha:.0%}"
    out = []
    names = {
        c.MEAN: "The model (pipeline and new deals)",
        c.REP_WEIGHTED: "The reps' probabilities (deals due in the window)",
        c.STAGE_WEIGHTED: "The stages' win rates (deals due in the window)",
    }
    for method, name in names.items():
        r = scores.loc[method]
        if is_missing(r[c.BIAS]):
            continue
        coverage = format_rate(r[c.COVERAGE], r[c.CI_LOW], r[c.CI_HIGH])
        out.append(
            f"{name} ran {_signed_share(r[c.BIAS])} on average over {int(r[c.WINDOWS])} {words} "
            f"(mean absolute error {r[c.MAPE]:.0%}); its {level} interval held the actual in "
            f"{coverage} of them."
        )
    return out


def calibration_sentences(calibration: Calibration) -> list[str]:
    """The Brier scores of the methods scored, and how the CRM's compare with the model's."""
    scores = calibration.scores.set_index(c.METHOD)
    if scores.empty or is_missing(scores.loc[c.MODEL, c.BRIER]):
        return []
    level = f"{1 - calibration.alpha:.0%}"
    names = {c.MODEL: "the model", c.REP: "the reps' probabilities",
             c.STAGE_DEFAULT: "the stages' win rates"}  # fmt: skip

    def score(method: str) -> str:
        r = scores.loc[method]
        if is_missing(r[c.CI_LOW]) or is_missing(r[c.CI_HIGH]):
            return f"{r[c.BRIER]:.3f} for {names[method]}"
        return f"{r[c.BRIER]:.3f} [{r[c.CI_LOW]:.3f}–{r[c.CI_HIGH]:.3f}] for {names[method]}"

    listed = [score(m) for m in names if m in scores.index]
    joined = listed[0] if len(listed) == 1 else ", ".join(listed[:-1]) + " and " + listed[-1]
    out = [
        f"Per deal and window ({format_count(scores.loc[c.MODEL, c.DEAL_WINDOWS])} of them), "
        f"the Brier score (lower is better, {level} intervals) was {joined}."
    ]
    for method in (c.REP, c.STAGE_DEFAULT):
        if method not in scores.index or is_missing(scores.loc[method, c.DIFF_LOW]):
            continue
        r = scores.loc[method]
        if r[c.DIFF_LOW] > 0:
            verdict = "the model is better"
        elif r[c.DIFF_HIGH] < 0:
            verdict = "the model is worse"
        else:
            verdict = "no clear difference"
        out.append(
            f"Against {names[method]}: {verdict} (difference {r[c.VERSUS_MODEL]:+.3f} "
            f"[{r[c.DIFF_LOW]:+.3f} to {r[c.DIFF_HIGH]:+.3f}], {format_p_value(r[c.P_VALUE])})."
        )
    return out


def coverage_sentences(coverage: TargetCoverage | None) -> list[str]:
    """The target's coverage now, what history says is needed and the chance of the target."""
    if coverage is None:
        return ["No target for this window: coverage is not computed (config/targets.yaml)."]
    r = coverage.table.iloc[0]
    if r[c.NOTE] == c.NOTE_TARGET_MET:
        return [
            f"Target {format_money(r[c.TARGET_AMOUNT])}: already won "
            f"({format_money(r[c.WON_SO_FAR_AMOUNT])} so far)."
        ]
    head = (
        f"Target {format_money(r[c.TARGET_AMOUNT])}: the pipeline due in the window, "
        f"{format_money(r[c.DUE_PIPELINE])}, covers it {r[c.COVERAGE_NOW]:.1f}×"
    )
    if r[c.WON_SO_FAR_AMOUNT] > 0:
        head = head.replace(
            "covers it", f"covers what is left after {format_money(r[c.WON_SO_FAR_AMOUNT])} won"
        )
    chance = f"the model gives a {r[c.CHANCE_OF_TARGET]:.0%} chance of reaching it"
    if r[c.NOTE] == c.NOTE_NOTHING_WON:
        return [f"{head}; in the past windows, the pipeline due won nothing; {chance}."]
    if is_missing(r[c.NEEDED_COVERAGE]):
        return [f"{head}; no past window says what coverage is needed; {chance}."]
    conf = f"{coverage.confidence:.0%}"
    gap = r[c.PIPELINE_GAP]
    short = f", {format_money(gap)} short" if gap > 0 else ", enough"
    rough = " (a rough guide: few windows)" if r[c.NOTE] == c.NOTE_FEW_WINDOWS else ""
    return [
        f"{head}; the last {int(r[c.WINDOWS])} windows say {r[c.NEEDED_COVERAGE]:.1f}× is "
        f"needed to meet it with {conf} confidence{rough}{short}; {chance}."
    ]


def forecast_record(forecast: WindowForecast | None, headline: str | None) -> dict:
    """The forecast's entry in ``summary.json``: ``sentence``, ``window`` and ``mean``.

    The executive summary copies the sentence and the review compares the
    mean of the same window between runs (:mod:`analysis.report.outlook`).
    """
    if forecast is None:
        return {"sentence": None, "window": None, "mean": None}
    total = forecast.table.set_index(c.GROUP).loc[c.TOTAL, c.MEAN]
    return {
        "sentence": headline,
        "window": [f"{forecast.start:%Y-%m-%d}", f"{forecast.end:%Y-%m-%d}"],
        "mean": float(total),
    }
