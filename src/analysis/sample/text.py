"""Loss reasons and free-text feedback drawn from planted themes.

Every feedback phrase contains its theme's name literally (``price``,
``champion left``, ``ease of use`` ...), so a keyword tagger recovers the
planted themes; phrases differ between won and lost deals. A few comments
carry an e-mail address or a phone number, for testing redaction.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample.context import SampleContext
from analysis.sample.draws import SampleDraws
from analysis.sample.journeys import LOST_CODE, WON_CODE
from analysis.sample.params import (
    CHAMPION_LEFT,
    COMPETITOR_REASON,
    EASE_OF_USE,
    IMPLEMENTATION,
    LOSS_REASONS,
    MISSING_FEATURE,
    NO_DECISION,
    PRICE,
    SUPPORT,
    THEMES,
    TIMING,
)

# Loss-reason weights by segment and stage third (early, middle, late), without "competitor".
_NON_COMPETITOR = tuple(r for r in LOSS_REASONS if r != COMPETITOR_REASON)
LOSS_WEIGHTS = {
    c.B2B: {
        PRICE: (0.10, 0.15, 0.30),
        TIMING: (0.25, 0.15, 0.10),
        MISSING_FEATURE: (0.10, 0.25, 0.10),
        CHAMPION_LEFT: (0.05, 0.15, 0.20),
        NO_DECISION: (0.40, 0.15, 0.15),
        IMPLEMENTATION: (0.10, 0.15, 0.15),
    },
    c.B2C: {
        PRICE: (0.25, 0.40, 0.55),
        TIMING: (0.30, 0.20, 0.15),
        MISSING_FEATURE: (0.05, 0.20, 0.10),
        CHAMPION_LEFT: (0.0, 0.0, 0.0),
        NO_DECISION: (0.35, 0.15, 0.15),
        IMPLEMENTATION: (0.05, 0.05, 0.05),
    },
}
COMPETITOR_REASON_PROB = 0.55  # lost deals with a known competitor
MISSING_REASON_PROB = 0.04

# Share of closed deals that reached the qualification-position stage with a comment.
COMMENT_PROB = {
    c.FEEDBACK_CUSTOMER: {c.WON: 0.30, c.LOST: 0.15},
    c.FEEDBACK_REP: {c.WON: 0.20, c.LOST: 0.40},
}
REASON_AS_THEME_PROB = 0.7  # a lost deal's comment is about its loss reason
SECOND_THEME_PROB = 0.25
PII_PROB = 0.015
LINE_BREAK_PROB = 0.02  # comments written over two lines (a quoted CSV field with a newline)
THEME_WEIGHTS = {
    c.LOST: {
        PRICE: 0.25,
        TIMING: 0.15,
        MISSING_FEATURE: 0.20,
        CHAMPION_LEFT: 0.10,
        COMPETITOR_REASON: 0.15,
        IMPLEMENTATION: 0.10,
        SUPPORT: 0.03,
        EASE_OF_USE: 0.02,
    },
    c.WON: {
        PRICE: 0.15,
        TIMING: 0.05,
        MISSING_FEATURE: 0.05,
        CHAMPION_LEFT: 0.0,
        COMPETITOR_REASON: 0.05,
        IMPLEMENTATION: 0.15,
        SUPPORT: 0.25,
        EASE_OF_USE: 0.30,
    },
}
RATINGS = {c.WON: ((3, 4, 5), (0.15, 0.45, 0.40)), c.LOST: ((1, 2, 3, 4), (0.30, 0.35, 0.25, 0.10))}

PHRASES = {
    PRICE: {
        c.LOST: (
            "The price was more than we could justify.",
            "Too expensive for us; the price did not fit our budget.",
            "We could not get the price approved.",
        ),
        c.WON: (
            "The price was fair for what we get.",
            "Good value for the price.",
            "The price fit our budget after the discount.",
        ),
    },
    TIMING: {
        c.LOST: (
            "The timing was wrong for us this year.",
            "Bad timing: we are in the middle of a reorganisation.",
            "We will revisit when the timing is better.",
        ),
        c.WON: (
            "The timing worked well with our budget cycle.",
            "Good timing, we needed this before the season.",
            "The timing of the rollout suited us.",
        ),
    },
    MISSING_FEATURE: {
        c.LOST: (
            "A missing feature (single sign-on) was a deal breaker.",
            "The missing feature for reporting ruled it out.",
            "We needed an integration; that missing feature decided it.",
        ),
        c.WON: (
            "One missing feature, but nothing critical.",
            "Despite a missing feature, it covers what we need.",
            "The roadmap covers the missing feature we asked about.",
        ),
    },
    CHAMPION_LEFT: {
        c.LOST: (
            "Our champion left the company and the project stalled.",
            "The deal died when the champion left.",
            "After our champion left nobody owned the decision.",
        ),
        c.WON: (
            "Our first champion left, but the new lead pushed it through.",
            "The champion left midway but the team stayed committed.",
            "A champion left, yet the business case held.",
        ),
    },
    COMPETITOR_REASON: {
        c.LOST: (
            "We went with a competitor that was already in place.",
            "A competitor offered a bigger discount.",
            "The competitor had a better demo for our use case.",
        ),
        c.WON: (
            "We compared it with a competitor and this was stronger.",
            "Better fit than the competitor we trialled.",
            "The competitor could not match the service.",
        ),
    },
    IMPLEMENTATION: {
        c.LOST: (
            "The implementation effort was too much for our small team.",
            "We worried about the implementation effort of the migration.",
            "The implementation effort would have tied up IT for months.",
        ),
        c.WON: (
            "The implementation effort was lower than expected.",
            "Low implementation effort, we were live in two weeks.",
            "Your team took on most of the implementation effort.",
        ),
    },
    SUPPORT: {
        c.LOST: (
            "Support did not answer our questions quickly enough.",
            "We were unsure about the level of support.",
            "Support during the trial was slow.",
        ),
        c.WON: (
            "Support was responsive during the trial.",
            "Great support from the whole team.",
            "The support we got during onboarding was excellent.",
        ),
    },
    EASE_OF_USE: {
        c.LOST: (
            "Ease of use was a concern for our less technical staff.",
            "The product felt complex, and ease of use matters to us.",
            "Our users struggled with ease of use in the trial.",
        ),
        c.WON: (
            "Ease of use convinced our team.",
            "Ease of use is the big win for us.",
            "The ease of use made adoption simple.",
        ),
    },
}
OPENERS = {
    c.FEEDBACK_CUSTOMER: ("", "", "Thanks for your time. ", "Quick feedback. "),
    c.FEEDBACK_REP: ("", "Debrief after the last call. ", "Notes from the buyer call. "),
}
CLOSERS = {
    c.FEEDBACK_CUSTOMER: ("", "", "", " Danke schön.", " Merci, à bientôt."),
    c.FEEDBACK_REP: ("", "", " Follow up next quarter."),
}
PII_NAMES = ("jane.doe", "li.wei", "joao.silva", "anna.schmidt", "sam.patel")


def loss_reasons(
    rng: np.random.Generator, context: SampleContext, draws: SampleDraws
) -> np.ndarray:
    """Loss reason of each deal (object array; None unless lost, sometimes None when lost).

    Notes
    -----
    A lost deal with a competitor known at the stage it was lost from gives
    ``competitor`` with probability ``COMPETITOR_REASON_PROB``; otherwise the
    reason is drawn from ``LOSS_WEIGHTS[segment]`` for the third of the
    pipeline it was lost in (``3 * stage // n_stages``). ``MISSING_REASON_PROB``
    of lost deals have no recorded reason.
    """
    deals, journeys, stage_plan = draws.deals, draws.journeys, context.stage_plan
    n = deals.created.size
    reason = np.full(n, None, dtype=object)
    lost = journeys.outcome == LOST_CODE
    third = np.clip(3 * journeys.lost_stage // stage_plan.n_stages, 0, 2)
    names = np.array(_NON_COMPETITOR, dtype=object)
    for s, seg in enumerate(context.plan.segments):
        for g in range(3):
            m = np.flatnonzero(lost & (deals.segment == s) & (third == g))
            w = np.array([LOSS_WEIGHTS[seg][r][g] for r in _NON_COMPETITOR])
            reason[m] = names[rng.choice(w.size, size=m.size, p=w / w.sum())]
    known = (
        lost & (deals.competitor >= 0) & (journeys.lost_stage >= stage_plan.competitor_known_from)
    )
    reason[known & (rng.random(n) < COMPETITOR_REASON_PROB)] = COMPETITOR_REASON
    reason[lost & (rng.random(n) < MISSING_REASON_PROB)] = None
    return reason


def feedback(
    rng: np.random.Generator, context: SampleContext, draws: SampleDraws, reasons: np.ndarray
) -> tuple[dict[str, np.ndarray], dict]:
    """Comments of customers and reps on closed deals, and the realised theme counts.

    Only deals that reached open stage ``plan.qual_from_stage`` get comments
    (nobody writes feedback on a lead that never qualified); comments collected
    after the cutoff are dropped.

    Returns
    -------
    (arrays, realised) : arrays ``deal``, ``source`` (index into
    ``columns.FEEDBACK_SOURCES``), ``text``, ``time``, ``rating`` (NaN for reps);
    ``realised`` counts comments and themes by outcome and the planted PII.
    """
    journeys = draws.journeys
    cutoff, engaged_from = context.timeline.cutoff, context.plan.qual_from_stage
    theme_names = np.array(THEMES, dtype=object)
    parts: dict[str, list] = {k: [] for k in ("deal", "source", "text", "time", "rating")}
    theme_counts = {o: dict.fromkeys(THEMES, 0) for o in (c.WON, c.LOST)}
    comments = {o: 0 for o in (c.WON, c.LOST)}
    pii = {"email": 0, "phone": 0}
    line_breaks = 0
    for src_code, source in enumerate(c.FEEDBACK_SOURCES):
        for outcome, code in ((c.WON, WON_CODE), (c.LOST, LOST_CODE)):
            closed = np.flatnonzero(
                (journeys.outcome == code) & (journeys.max_reached >= engaged_from)
            )
            deal = closed[rng.random(closed.size) < COMMENT_PROB[source][outcome]]
            delay = rng.lognormal(
                np.log(2.0 if source == c.FEEDBACK_CUSTOMER else 0.2), 0.8, size=deal.size
            )
            time = journeys.closed[deal] + delay
            deal, time = deal[time < cutoff], time[time < cutoff]
            k = deal.size
            w = np.array([THEME_WEIGHTS[outcome][t] for t in THEMES])
            first = theme_names[rng.choice(w.size, size=k, p=w / w.sum())]
            if outcome == c.LOST:
                is_theme = pd.Series(reasons[deal], dtype=object).isin(THEMES).to_numpy()
                use_reason = (rng.random(k) < REASON_AS_THEME_PROB) & is_theme
                first = np.where(use_reason, reasons[deal], first)
            second = theme_names[rng.choice(w.size, size=k, p=w / w.sum())]
            second = np.where((rng.random(k) < SECOND_THEME_PROB) & (second != first), second, None)
            text = _compose(rng, source, outcome, first, second)
            has_pii = rng.random(k) < PII_PROB
            is_mail = rng.random(k) < 0.5
            who = np.array(PII_NAMES, dtype=object)[rng.integers(0, len(PII_NAMES), size=k)]
            digits = rng.integers(100, 200, size=k).astype(str).astype(object)
            mail = " You can reach me at " + who + "@example.com."
            phone = " Call me on +1 555 0" + digits + "."
            text = np.where(has_pii, text + np.where(is_mail, mail, phone), text)
            wrap = (rng.random(k) < LINE_BREAK_PROB) & pd.Series(text, dtype=object).str.contains(
                ". ", regex=False
            ).to_numpy(dtype=bool)
            text[wrap] = [t.replace(". ", ".\n", 1) for t in text[wrap]]
            line_breaks += int(wrap.sum())
            pii["email"] += int((has_pii & is_mail).sum())
            pii["phone"] += int((has_pii & ~is_mail).sum())
            if source == c.FEEDBACK_CUSTOMER:
                values, probs = RATINGS[outcome]
                rating = np.asarray(values, dtype=float)[rng.choice(len(values), size=k, p=probs)]
            else:
                rating = np.full(k, np.nan)
            for name, vals in (
                ("deal", deal),
                ("source", np.full(k, src_code)),
                ("text", text),
                ("time", time),
                ("rating", rating),
            ):
                parts[name].append(vals)
            comments[outcome] += k
            for theme in THEMES:
                theme_counts[outcome][theme] += int(((first == theme) | (second == theme)).sum())
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.lexsort((arrays["time"], arrays["deal"]))
    arrays = {k: v[order] for k, v in arrays.items()}
    realised = {
        "comments_by_outcome": comments,
        "theme_mentions_by_outcome": theme_counts,
        "pii": pii,
        "multi_line_comments": line_breaks,
    }
    return arrays, realised


def _compose(
    rng: np.random.Generator, source: str, outcome: str, first: np.ndarray, second: np.ndarray
) -> np.ndarray:
    """Opener + phrase of the first theme [+ phrase of the second] + closer.

    Every first phrase is written before any second phrase is appended, so both
    drawn themes appear in the text whatever their order in ``THEMES``.
    """
    k = first.size
    n_var = 3
    bank = {t: np.array(PHRASES[t][outcome], dtype=object) for t in THEMES}
    text = np.full(k, "", dtype=object)
    pick1 = rng.integers(0, n_var, size=k)
    pick2 = rng.integers(0, n_var, size=k)
    for theme in THEMES:
        m1 = first == theme
        text[m1] = bank[theme][pick1[m1]]
    for theme in THEMES:
        m2 = second == theme
        text[m2] = text[m2] + " " + bank[theme][pick2[m2]]
    openers = np.array(OPENERS[source], dtype=object)
    closers = np.array(CLOSERS[source], dtype=object)
    return (
        openers[rng.integers(0, openers.size, size=k)]
        + text
        + closers[rng.integers(0, closers.size, size=k)]
    )


def text_truth() -> dict:
    """The planted loss-reason and feedback parameters (JSON-ready)."""
    return {
        "loss_reasons": {
            "values": list(LOSS_REASONS),
            "weights_by_segment_and_stage_third": {
                seg: {r: list(w) for r, w in table.items()} for seg, table in LOSS_WEIGHTS.items()
            },
            "competitor_reason_prob": COMPETITOR_REASON_PROB,
            "missing_reason_prob": MISSING_REASON_PROB,
            "stage_third": "3 * open-stage position // number of open stages (0 early .. 2 late)",
        },
        "feedback": {
            "themes": list(THEMES),
            "comment_prob": COMMENT_PROB,
            "commented_deals": "closed deals that reached the qualification-position stage",
            "theme_weights_by_outcome": THEME_WEIGHTS,
            "reason_as_theme_prob": REASON_AS_THEME_PROB,
            "second_theme_prob": SECOND_THEME_PROB,
            "pii_prob": PII_PROB,
            "line_break_prob": LINE_BREAK_PROB,
            "ratings_by_outcome": {
                o: {"values": list(v), "probs": list(p)} for o, (v, p) in RATINGS.items()
            },
            "phrases_contain_theme_name": True,
            "collected_delay_days": {
                "customer": "lognormal median 2, sigma 0.8",
                "rep": "lognormal median 0.2, sigma 0.8",
            },
            "dropped": "comments whose collection time falls after the cutoff",
        },
    }
