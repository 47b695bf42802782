"""The ingest manifest's notes, warnings and counts, and money conversion of a mapped export."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.paths import STAGES_FILE
from analysis.core.stages import Pipeline
from analysis.ingest import reasons as r
from analysis.ingest.colmap import ColumnMap
from analysis.ingest.fx import convert_amounts
from analysis.ingest.read import UNCALCULATED_CELLS

MAX_CELLS_LISTED = 10


def deal_notes(deals: pd.DataFrame, allow_null: tuple[str, ...], currency_filled: int) -> list[str]:
    notes = []
    closed = deals[c.OUTCOME].isin([c.WON, c.LOST])
    if c.CLOSED_AT in deals:
        backdated = deals[c.BACKDATED].fillna(False) if c.BACKDATED in deals else False
        no_date = int((closed & deals[c.CLOSED_AT].isna() & ~backdated).sum())
        open_dated = int((~closed & deals[c.CLOSED_AT].notna()).sum())
    else:
        no_date, open_dated = int(closed.sum()), 0
    if no_date:
        notes.append(f"{no_date:,} won/lost deals have no closed_at; kept (durations skip them).")
    if open_dated:
        notes.append(f"{open_dated:,} open deals have a closed_at; kept as exported.")
    for name in allow_null:
        n = int(deals[name].isna().sum())
        if n:
            notes.append(f"{n:,} clean deals have no {name} (allowed by the column map).")
    if currency_filled:
        notes.append(f"currency filled from the amount's symbol for {currency_filled:,} deals.")
    return notes


def convert_deals(deals: pd.DataFrame, rates, reporting: str, path: Path) -> list[str]:
    """Convert a mapped export's amounts with an ``--fx-rates`` file (in place)."""
    if c.CURRENCY not in deals:
        raise InputError(
            "--fx-rates needs each deal's currency, and the column map gives none; map "
            "deals.currency (and amount_original if amount is already converted).",
            file=path,
            column=c.CURRENCY,
        )
    if c.AMOUNT_ORIGINAL not in deals:
        deals[c.AMOUNT_ORIGINAL] = deals[c.AMOUNT]
    none = pd.Series(pd.NaT, index=deals.index, dtype="datetime64[us, UTC]")
    notes: list[str] = []
    deals[c.AMOUNT], _ = convert_amounts(
        deals[c.AMOUNT_ORIGINAL],
        deals[c.CURRENCY].fillna(reporting),  # a deal without currency is in the reporting one
        deals[c.OUTCOME],
        deals[c.CLOSED_AT] if c.CLOSED_AT in deals else none,
        deals[c.CREATED_AT],
        rates,
        reporting,
        notes,
    )
    return notes


def count_unknown_stages(
    counts: dict[str, int], frame: pd.DataFrame, flags: Mapping[str, np.ndarray]
) -> None:
    """Add the rows per stage label that no stage or alias knows (in place)."""
    mask = flags.get(r.UNKNOWN_STAGE)
    if mask is None or not mask.any() or c.STAGE not in frame:
        return
    for label, n in frame.loc[mask, c.STAGE].value_counts().items():
        counts[str(label)] = counts.get(str(label), 0) + int(n)


def unknown_stages_note(
    counts: Mapping[str, int], pipeline: Pipeline, stages_path, cmap: ColumnMap
) -> str:
    """One message listing every stage label that fits no stage, with its rows."""
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    listed = ", ".join(f"{label!r} ({n:,} row{'' if n == 1 else 's'})" for label, n in ordered)
    where = (
        f"the map's stage_aliases ({cmap.path})"
        if cmap.path is not None
        else f"the aliases of {stages_path or STAGES_FILE}"
    )
    return (
        f"{len(ordered)} stage labels fit no stage of pipeline {pipeline.name!r} and their rows "
        f"were quarantined as unknown_stage: {listed}. Add each as an alias in {where}, "
        f"pointing to one of {', '.join(pipeline.all_stages)}, and ingest again."
    )


def date_notes(canon, clean: pd.DataFrame) -> list[str]:
    notes = []
    if canon.closes_at_end_of_day:
        notes.append(
            f"{canon.closes_at_end_of_day} deals closed on the day they were created "
            "have a date-only close date; it is read as the end of that day (not "
            "quarantined as closed_before_created)."
        )
    if canon.expected_closes:
        notes.append(
            f"{canon.expected_closes:,} open deals have a close date: it is their expected "
            "close (expected_close_at), not a close, and not part of the data's cut-off."
        )
    if canon.backdated:
        n = int(clean[c.BACKDATED].fillna(False).sum()) if c.BACKDATED in clean else 0
        notes.append(
            f"{n:,} deals were closed before they were created (logged after the fact): kept "
            "for outcomes and amounts, flagged backdated, and left out of durations."
        )
    return notes


def flag_counts(clean: pd.DataFrame, canon) -> dict[str, int]:
    out = {}
    if c.BACKDATED in clean:
        out[c.BACKDATED] = int(clean[c.BACKDATED].fillna(False).sum())
    if c.EXPECTED_CLOSE_AT in clean:
        out[c.EXPECTED_CLOSE_AT] = int(clean[c.EXPECTED_CLOSE_AT].notna().sum())
    if canon.closes_at_end_of_day:
        out["closes_at_end_of_day"] = canon.closes_at_end_of_day
    return out


def uncalculated_warning(raw: pd.DataFrame, path: Path) -> list[str]:
    """A warning naming a workbook's formula cells that were never calculated (else none).

    Their value is unknown, not blank, but ingest can only read them as blank:
    the rows stay, and the warning says which cells to check.
    """
    cells = raw.attrs.get(UNCALCULATED_CELLS) or []
    if not cells:
        return []
    listed = ", ".join(cells[:MAX_CELLS_LISTED])
    more = f" and {len(cells) - MAX_CELLS_LISTED:,} more" if len(cells) > MAX_CELLS_LISTED else ""
    return [
        f"{Path(path).name}: {len(cells):,} "
        f"{'cell holds' if len(cells) == 1 else 'cells hold'} a formula that was never calculated "
        f"({listed}{more}), so they were read as blank. Open the workbook in Excel and save "
        "it (or export the values), then ingest again."
    ]
