"""The scorecard in sentences: what moved beyond noise, and where we stand against benchmarks."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from analysis.engine.money import Money
from analysis.present.formatting import is_missing
from analysis.scorecard import columns as c
from analysis.scorecard.card import ProcessScorecard
from analysis.scorecard.view import (
    format_change,
    format_value,
    measure_label,
    period_label,
    verdict,
)


def _scope(row: dict) -> str:
    return "" if row[c.SEGMENT] == c.ALL_SEGMENTS else f" in {row[c.SEGMENT]}"


def _moved(row: dict, baseline: str, symbol: str) -> str:
    measure = row[c.MEASURE]
    word = verdict(measure, row[c.baseline_column(baseline, c.CHANGE)], True)
    was = format_value(measure, row[c.baseline_column(baseline, c.BASE_VALUE)], symbol)
    now = format_value(measure, row[c.VALUE], symbol)
    low = format_change(measure, row[c.baseline_column(baseline, c.CHANGE_LOW)], symbol)
    high = format_change(measure, row[c.baseline_column(baseline, c.CHANGE_HIGH)], symbol)
    return (
        f"{measure_label(row)}{_scope(row)} went from {was} to {now} ({word}; "
        f"the change is between {low} and {high})"
    )


def scorecard_sentences(card: ProcessScorecard) -> list[str]:
    """Findings of the scorecard: changes beyond noise per baseline, then benchmark gaps.

    A change is named only when it is beyond noise after the adjustment over
    all the scorecard's changes against that baseline; otherwise one sentence
    says that nothing moved, so a quiet quarter reads as quiet.
    """
    table = card.to_frame()
    if card.current is None:
        return list(card.notes)
    if table.empty:
        return ["No scorecard measure could be computed for this period.", *card.notes]
    symbol = Money(card.currency).symbol
    now = period_label(card.current)
    out = []
    for baseline, window in ((c.PREVIOUS, card.previous), (c.LAST_YEAR, card.last_year)):
        label = period_label(window)
        compared = table[table[c.baseline_column(baseline, c.BASE_VALUE)].notna()]
        moved = compared[compared[c.baseline_column(baseline, c.BEYOND_NOISE)]]
        if compared.empty:
            out.append(f"{now} cannot be compared with {label}: the data has nothing then.")
        elif moved.empty:
            out.append(
                f"No measure changed beyond noise from {label} to {now} ({len(compared)} compared)."
            )
        else:
            changes = "; ".join(_moved(r, baseline, symbol) for r in moved.to_dict("records"))
            out.append(
                f"From {label} to {now}, {len(moved)} of {len(compared)} measures changed "
                f"beyond noise: {changes}."
            )
    benchmarked = table[table[c.BENCHMARK].notna() & table[c.VALUE].notna()]
    for row in benchmarked.to_dict("records"):
        caveat = (
            " (defined differently, so indicative only)"
            if row[c.BENCHMARK_DEFINITION_DIFFERS]
            else ""
        )
        inside = (
            not is_missing(row[c.CI_LOW]) and row[c.CI_LOW] <= row[c.BENCHMARK] <= row[c.CI_HIGH]
        )
        side = (
            "in line with" if inside else ("above" if row[c.VALUE] > row[c.BENCHMARK] else "below")
        )
        out.append(
            f"{measure_label(row)}{_scope(row)} in {now} was "
            f"{format_value(row[c.MEASURE], row[c.VALUE], symbol)}, {side} the published "
            f"{format_value(row[c.MEASURE], row[c.BENCHMARK], symbol)} "
            f"({row[c.BENCHMARK_SOURCE]}){caveat}."
        )
    return out + list(card.notes)


def headline_figures(card: ProcessScorecard) -> pd.DataFrame:
    """The scorecard's values and changes in machine form, for ``summary.json``."""
    keep = [
        c.MEASURE, c.STAGE, c.SEGMENT, c.VALUE, c.CI_LOW, c.CI_HIGH, c.BASIS,
        *[c.baseline_column(b, p) for b in c.BASELINES for p in (c.CHANGE, c.BEYOND_NOISE)],
    ]  # fmt: skip
    return card.to_frame()[keep]


def scorecards_sentences(cards: Mapping[str, ProcessScorecard]) -> list[str]:
    """:func:`scorecard_sentences` of every pipeline, prefixed by its name when there are several."""
    if len(cards) == 1:
        return scorecard_sentences(next(iter(cards.values())))
    return [
        f"Pipeline {name}: {s}" for name, card in cards.items() for s in scorecard_sentences(card)
    ]


def scorecards_frame(cards: Mapping[str, ProcessScorecard]) -> pd.DataFrame:
    """Every pipeline's scorecard table in one frame with a ``pipeline`` column (for the CSV).

    The trend becomes text (values oldest first, separated by ``;``), so the
    table is flat enough for a spreadsheet.
    """
    frames = [card.to_frame().assign(**{c.PIPELINE: name}) for name, card in cards.items()]
    if not frames:
        return pd.DataFrame()
    table = pd.concat(frames, ignore_index=True)
    table[c.TREND] = table[c.TREND].map(lambda vs: "; ".join(f"{v:.6g}" for v in vs))
    return table
