"""Process adherence in words: what went with following the process, worded as association."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.pipeline.adherence import compare as k
from analysis.pipeline.adherence.process import (
    CRITERION_FIELD,
    KIND,
    KIND_CRITERION,
    KIND_OVERALL,
    KIND_SKIP,
    ProcessAdherence,
)
from analysis.present.formatting import (
    format_p_value,
    format_points,
    format_rate,
    is_missing,
)

CAVEAT = (
    "These are associations: deals that skip stages or advance without meeting a "
    "criterion may differ in ways the data does not record, so they do not show that "
    "following the process causes wins."
)


def _odds(row: pd.Series) -> str:
    ratio = row[k.ODDS_RATIO_ADJUSTED]
    if is_missing(ratio):
        return "no adjusted odds ratio (too few closed deals in common segment and size groups)"
    return (
        f"odds ratio {ratio:.2f} [{row[k.OR_CI_LOW]:.2f}–{row[k.OR_CI_HIGH]:.2f}] adjusted for "
        f"segment and deal size, {format_p_value(row[k.OR_P_ADJUSTED])}"
    )


def _cycle(row: pd.Series) -> str:
    ratio = row[k.CYCLE_RATIO]
    if is_missing(ratio):
        return ""
    return (
        f"; their won deals closed in {row[k.CYCLE_ADHERENT]:.0f} against "
        f"{row[k.CYCLE_NOT]:.0f} days (geometric means), {ratio:.2f} times as long "
        f"[{row[k.CYCLE_CI_LOW]:.2f}–{row[k.CYCLE_CI_HIGH]:.2f}] within segment and deal size"
    )


def _comparison(row: pd.Series, followed: str, deviated: str) -> str:
    rate = format_rate(row[k.WIN_RATE_ADHERENT], row[k.WR_ADH_LOW], row[k.WR_ADH_HIGH])
    if not row[k.CLOSED_ADHERENT] or not row[k.CLOSED_NOT] or is_missing(row[c.DIFFERENCE]):
        side = followed if not row[k.CLOSED_ADHERENT] else deviated
        return (
            f"{side[:1].upper()}{side[1:]} have no closed deal yet, so the two cannot be compared."
        )
    return (
        f"{followed} won {rate} "
        f"of {row[k.CLOSED_ADHERENT]:,} closed deals, {deviated} "
        f"{format_rate(row[k.WIN_RATE_NOT], row[k.WR_NOT_LOW], row[k.WR_NOT_HIGH])} of "
        f"{row[k.CLOSED_NOT]:,} (difference "
        f"{format_points(row[c.DIFFERENCE], row[c.DIFF_CI_LOW], row[c.DIFF_CI_HIGH])}, "
        f"{format_p_value(row[c.P_ADJUSTED])}; {_odds(row)}){_cycle(row)}."
    )


def adherence_sentences(result: ProcessAdherence, max_rows: int = 3) -> list[str]:
    """Findings of :func:`~analysis.pipeline.adherence.process_adherence` in words.

    The overall comparison, then the by-stage and by-rep rows whose odds ratio
    adjusted for segment and deal size differs from 1 after the multiple-test
    adjustment (at most ``max_rows`` of each, strongest first),
    then the caveat that these are associations, then the result's notes.
    """
    table = result.table
    out: list[str] = []
    overall = table[table[KIND] == KIND_OVERALL]
    if len(overall):
        row = overall.iloc[0]
        share = row[k.N_NOT] / row[c.N_UNITS] if row[c.N_UNITS] else float("nan")
        out.append(
            f"Of {row[c.N_UNITS]:,} deals that reached {result.final_stage}, "
            f"{share:.0%} skipped a stage or missed an exit criterion on the way."
            if row[c.N_UNITS]
            else f"No deal with a stage history reached {result.final_stage}."
        )
        if row[c.N_UNITS]:
            out.append(
                _comparison(
                    row,
                    "Those that followed the process",
                    "those that did not",
                )
            )
    rest = table[table[KIND] != KIND_OVERALL]
    found = rest[rest[k.OR_P_ADJUSTED] < result.alpha].sort_values(k.OR_P_ADJUSTED)
    found = found.head(max_rows)
    for _, row in found.iterrows():
        if row[KIND] == KIND_CRITERION:
            followed = f"Deals that left {row[c.STAGE]} with {row[CRITERION_FIELD]} set"
            deviated = "those without it"
        elif row[KIND] == KIND_SKIP:
            followed = f"Deals that went through {row[c.STAGE]}"
            deviated = "those that skipped it"
        else:  # pragma: no cover - every row is one of the kinds
            continue
        out.append(_comparison(row, followed, deviated))
    if len(rest) and not len(found):
        out.append(
            "No stage's exit criterion or skip goes with different odds of winning once "
            f"segment, deal size and the {len(rest)} comparisons are allowed for."
        )
    reps = result.by_rep
    if len(reps):
        hits = reps[reps[k.OR_P_ADJUSTED] < result.alpha].sort_values(k.OR_P_ADJUSTED)
        hits = hits.head(max_rows)
        for _, row in hits.iterrows():
            out.append(_comparison(row, f"Rep {row[c.OWNER_ID]}'s adherent deals", "the rest"))
    out.append(CAVEAT)
    out.extend(result.notes)
    return out
