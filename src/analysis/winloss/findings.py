"""Win/loss findings in words, generated from results.

Sentences are plain text with data labels redacted; :func:`findings_markdown`
escapes them for display, so a competitor or reason named ``<script>`` in a
CRM shows as text. Numbers are never typed: each comes from a result table.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.present.formatting import format_percent, format_rate
from analysis.present.page import no_sentence_for_skipped
from analysis.present.redaction import escape_markdown, redact
from analysis.stats.rates import rate_with_interval
from analysis.winloss import columns as c

__all__ = [
    "decision_maker_sentence",
    "driver_sentences",
    "findings_markdown",
    "head_to_head_sentence",
    "loss_reason_sentences",
    "scorecard_sentence",
    "theme_sentences",
    "win_rate_sentences",
]


def _ok(value: object) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def _name(value: object) -> str:
    return str(redact(str(value)))


def findings_markdown(sentences: list[str]) -> str:
    """Sentences as a Markdown bullet list, each escaped (HTML, Markdown, URL schemes)."""
    return "\n".join(f"- {escape_markdown(s)}" for s in sentences)


@no_sentence_for_skipped
def win_rate_sentences(rates: pd.DataFrame, group: str = c.SEGMENT) -> list[str]:
    """Win rate by count and by amount per group, from :func:`analysis.pipeline.funnel.win_rates`."""
    out = []
    for _, row in rates.iterrows():
        if not _ok(row.get(c.WIN_RATE)):
            continue
        label = f"{_name(row[group])} deals" if group in rates else "Deals"
        text = (
            f"{label} win {format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH], 0)} "
            f"of {int(row[c.N_CLOSED]):,} closed"
        )
        if _ok(row.get(c.AMOUNT_WIN_RATE)):
            amount = format_rate(row[c.AMOUNT_WIN_RATE], row[c.AMOUNT_CI_LOW],
                                 row[c.AMOUNT_CI_HIGH], 0)  # fmt: skip
            text += f", and {amount} of the closed amount"
        out.append(text + ".")
    return out


@no_sentence_for_skipped
def decision_maker_sentence(
    rates: pd.DataFrame, band: str = c.DM_BAND, level: str = "5+", alpha: float = 0.05
) -> list[str]:
    """ "Deals with 5+ decision makers win 18% [15–21] vs 31% [29–33] with fewer."

    ``rates`` is :func:`analysis.pipeline.funnel.win_rates` by ``band`` (no other key).
    """
    if band not in rates or level not in set(rates[band]):
        return []
    hit = rates[rates[band] == level]
    rest = rates[(rates[band] != level) & rates[band].notna()]
    won_in, closed_in = hit[c.N_WON].sum(), hit[c.N_CLOSED].sum()
    won_out, closed_out = rest[c.N_WON].sum(), rest[c.N_CLOSED].sum()
    if closed_in == 0 or closed_out == 0:
        return []
    r1, lo1, hi1 = (v[0] for v in rate_with_interval(won_in, closed_in, alpha=alpha))
    r0, lo0, hi0 = (v[0] for v in rate_with_interval(won_out, closed_out, alpha=alpha))
    return [
        f"Deals with {level} decision makers win {format_rate(r1, lo1, hi1, 0)} vs "
        f"{format_rate(r0, lo0, hi0, 0)} with fewer ({int(closed_in):,} and "
        f"{int(closed_out):,} closed deals)."
    ]


@no_sentence_for_skipped
def loss_reason_sentences(pareto: pd.DataFrame, group: str | None = c.SEGMENT) -> list[str]:
    """The leading loss reason(s) per group, from :func:`analysis.winloss.outcomes.loss_reason_pareto`."""
    data = pareto[pareto[c.LOSS_REASON].notna()] if c.LOSS_REASON in pareto else pareto.iloc[:0]
    out = []
    groups = data.groupby(group, sort=True) if group and group in data else [(None, data)]
    for g, part in groups:
        if part.empty:
            continue
        top = part.sort_values(c.RANK).head(2)
        first = top.iloc[0]
        where = f"In {_name(g)}, the" if g is not None else "The"
        text = (
            f"{where} most common loss reason is {_name(first[c.LOSS_REASON])} "
            f"({format_rate(first[c.SHARE], first[c.CI_LOW], first[c.CI_HIGH], 0)} of "
            f"{int(first[c.N_LOST_WITH_REASON]):,} lost deals with a reason)"
        )
        if len(top) > 1:
            second = top.iloc[1]
            text += (
                f", then {_name(second[c.LOSS_REASON])} "
                f"({format_rate(second[c.SHARE], second[c.CI_LOW], second[c.CI_HIGH], 0)})"
            )
        out.append(text + ".")
    return out


@no_sentence_for_skipped
def head_to_head_sentence(table: pd.DataFrame, alpha: float = 0.05) -> list[str]:
    """The competitor we lose to most, and whether that differs from the others."""
    data = table[table[c.WIN_RATE].notna()] if c.WIN_RATE in table else table.iloc[:0]
    if data.empty:
        return []
    worst = data.sort_values(c.WIN_RATE).iloc[0]
    rate = format_rate(worst[c.WIN_RATE], worst[c.CI_LOW], worst[c.CI_HIGH], 0)
    text = f"Against {_name(worst[c.COMPETITOR])} we win {rate} of {int(worst[c.N_CLOSED]):,} closed deals"
    if _ok(worst.get(c.DIFFERENCE)):
        gap, lo, hi = (100 * worst[k] for k in (c.DIFFERENCE, c.DIFF_CI_LOW, c.DIFF_CI_HIGH))
        side = "below" if gap < 0 else "above"
        signif = _ok(worst.get(c.P_ADJUSTED)) and worst[c.P_ADJUSTED] < alpha
        text += (
            f", {abs(gap):.0f} points {side} the other competitors "
            f"(interval {lo:+.0f} to {hi:+.0f} points; "
            + ("significant after adjustment)" if signif else "not significant after adjustment)")
        )
    return [text + "."]


@no_sentence_for_skipped
def driver_sentences(terms: pd.DataFrame, alpha: float = 0.05, top: int = 3) -> list[str]:
    """The strongest significant drivers, from :meth:`analysis.winloss.drivers.model.WinDrivers.to_frame`."""
    if terms.empty or c.P_ADJUSTED not in terms:
        return []
    sig = terms[terms[c.P_ADJUSTED] < alpha].copy()
    if sig.empty:
        return ["No deal attribute in the model changes the odds of winning significantly "
                "after adjusting for multiple tests."]  # fmt: skip
    sig["_strength"] = (sig[c.COEF]).abs()
    out = []
    for _, row in sig.sort_values("_strength", ascending=False).head(top).iterrows():
        odds = f"{row[c.ODDS_RATIO]:.2f}x [{row[c.CI_LOW]:.2f}–{row[c.CI_HIGH]:.2f}]"
        if _ok(row.get(c.LEVEL)) and isinstance(row[c.LEVEL], str):
            subject = f"Deals with {_name(row[c.FEATURE])} = {_name(row[c.LEVEL])}"
            versus = f" those with {_name(row[c.REFERENCE_LEVEL])}"
        else:
            subject = f"Each extra unit of {_name(row[c.FEATURE])}"
            versus = " one unit fewer"
        out.append(f"{subject} have {odds} the odds of winning of{versus}, other features equal.")
    return out


@no_sentence_for_skipped
def scorecard_sentence(scorecard, max_wins_lost: float = 0.1) -> list[str]:
    """AUC out of time and the threshold that saves most deals losing at most ``max_wins_lost`` of wins."""
    if not _ok(scorecard.auc):
        return ["The scorecard could not be validated: no newer closed deals to score."]
    text = (
        f"Out of time ({scorecard.n_test:,} deals closed from {scorecard.split_at:%Y-%m-%d}), "
        f"the qualification scorecard ranks deals with AUC {scorecard.auc:.2f} "
        f"[{scorecard.auc_ci_low:.2f}–{scorecard.auc_ci_high:.2f}] and calibration error "
        f"{format_percent(scorecard.calibration_error)}."
    )
    wi = scorecard.what_if
    ok = wi[(wi[c.WINS_DISQUALIFIED] <= max_wins_lost) & (wi[c.DEALS_SAVED] > 0)]
    if ok.empty:
        return [text]
    best = ok.sort_values(c.DEALS_SAVED).iloc[-1]
    acts = best[c.ACTIVITIES_SAVED]
    text += (
        f" Disqualifying deals scoring below {best[c.THRESHOLD]:g} would have saved "
        f"{format_percent(best[c.DEALS_SAVED], 0)} of deals"
        + (f" and {format_percent(acts, 0)} of rep activities" if _ok(acts) else "")
        + f" at the cost of {format_rate(best[c.WINS_DISQUALIFIED], best[c.CI_LOW], best[c.CI_HIGH], 0)}"
        " of wins."
    )
    return [text]


@no_sentence_for_skipped
def theme_sentences(shares: pd.DataFrame, phrases: pd.DataFrame | None = None) -> list[str]:
    """The most mentioned theme per outcome, and the most distinguishing phrases."""
    out = []
    if c.OUTCOME in shares:
        for outcome, part in shares.groupby(c.OUTCOME, sort=True):
            part = part[part[c.N_COMMENTS] > 0]
            if part.empty:
                continue
            top = part.sort_values(c.SHARE).iloc[-1]
            out.append(
                f"Comments on {_name(outcome)} deals most often mention {_name(top[c.THEME])} "
                f"({format_rate(top[c.SHARE], top[c.CI_LOW], top[c.CI_HIGH], 0)} of "
                f"{int(top[c.N_COMMENTS]):,} comments)."
            )
    if phrases is not None and not phrases.empty:
        pos = phrases[phrases[c.Z_SCORE] > 1.96].head(3)[c.PHRASE]
        neg = phrases[phrases[c.Z_SCORE] < -1.96].tail(3).iloc[::-1][c.PHRASE]
        if len(pos) and len(neg):
            out.append(
                "Words that most distinguish won from lost comments (weighted log-odds, |z| > 1.96): "
                f"won {', '.join(repr(_name(p)) for p in pos)}; "
                f"lost {', '.join(repr(_name(p)) for p in neg)}."
            )
    return out
