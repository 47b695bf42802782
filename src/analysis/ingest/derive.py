"""Stage events implied by a current-stage-only source.

Some exports (Maven CRM, many spreadsheet pipelines) hold only each deal's
current stage. Funnel metrics need the stages a deal passed through, so
ingest derives them, assuming the pipeline is followed in order:

* an open deal at stage *s* entered every open stage up to and including *s*;
* a closed deal entered every open stage up to the one recorded in its stage
  column when that is an open stage, or up to the last open stage that the
  source uses at all when its stage column holds won/lost; then its terminal
  stage (won or lost, from ``outcome``);
* a deal without a stage gets no open-stage events (a closed one still gets
  its terminal stage).

"The last open stage the source uses" keeps a source with only two open
stages (Maven: Prospecting, Engaging) from implying presentation, proposal and
negotiation stages it never records. Every derived event has
``derived = True``; entry times come from the map's ``dates`` or stay missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core import schema
from analysis.core.errors import InputError
from analysis.core.stages import Pipeline
from analysis.ingest import parse
from analysis.ingest.colmap import DeriveSpec, ReadOptions


@dataclass(frozen=True)
class DerivedEvents:
    """Derived stage events and how they were made.

    Attributes
    ----------
    frame : pandas.DataFrame
        Canonical ``stage_events`` rows.
    note : str
        One sentence for the manifest and report.
    last_open_stage : str or None
        The last open stage the source uses; implied stages stop there.
    """

    frame: pd.DataFrame
    note: str
    last_open_stage: str | None


def _entry_times(
    column: str, deals: pd.DataFrame, raw: pd.DataFrame, options: ReadOptions, file: str | Path
) -> pd.Series:
    if column in deals and deals[column].dtype == schema.TIMESTAMP:
        return deals[column].reset_index(drop=True)
    if column in raw:
        parsed = parse.parse_timestamps(
            raw[column].reset_index(drop=True), timezone=options.timezone, dayfirst=options.dayfirst
        )
        return parsed.values.astype(schema.TIMESTAMP)
    raise InputError(
        f"derive_stage_events.dates refers to {column!r}, which is neither a timestamp column "
        "of the canonical deals nor a column of this file.",
        file=file,
        column=column,
    )


def derive_stage_events(
    deals: pd.DataFrame,
    raw: pd.DataFrame,
    spec: DeriveSpec,
    pipeline: Pipeline,
    *,
    options: ReadOptions | None = None,
    file: str | Path = "deals",
) -> DerivedEvents:
    """Derive ``stage_events`` from the current stage of clean deals.

    Parameters
    ----------
    deals : pandas.DataFrame
        Clean canonical deals, with the stage column named in ``spec``.
    raw : pandas.DataFrame
        The raw source rows of the same deals, in the same order (for dates
        taken from source columns).
    spec : DeriveSpec
        Stage column and entry-time columns per stage.
    pipeline : Pipeline
        Gives the order of stages.
    options : ReadOptions, optional
        Timezone and day-first setting for parsing source date columns.
    file : str or Path
        The deals file as found in the source folder, for error messages.

    Returns
    -------
    DerivedEvents

    Notes
    -----
    Rows are built with ``numpy.repeat`` (no loop per deal): deal *i* gets
    ``k_i`` open-stage rows, the open stages ``0 .. k_i - 1`` in pipeline
    order, plus one terminal row when it is closed.
    """
    options = options or ReadOptions()
    for stage in spec.dates:
        if stage not in pipeline.all_stages:
            raise InputError(
                f"derive_stage_events.dates names stage {stage!r}, which is not a stage of "
                f"pipeline {pipeline.name!r} ({', '.join(pipeline.all_stages)}).",
                file=file,
                column=stage,
            )
    deals = deals.reset_index(drop=True)
    raw = raw.reset_index(drop=True)
    current = deals[spec.stage_column].astype(object).where(deals[spec.stage_column].notna())
    open_pos = {s: i for i, s in enumerate(pipeline.stages)}
    used = current.map(open_pos).dropna()
    last = int(used.max()) if len(used) else -1
    pos = current.map(open_pos)
    is_terminal = current.isin(pipeline.terminal_stages)
    n_open = np.where(pos.notna(), pos.fillna(-1) + 1, np.where(is_terminal, last + 1, 0)).astype(
        np.int64
    )
    outcome = deals[c.OUTCOME]
    terminal = outcome.map({c.WON: pipeline.won, c.LOST: pipeline.lost})
    closed = terminal.notna().to_numpy()

    deal_rows = np.repeat(np.arange(len(deals)), n_open)
    starts = np.repeat(np.cumsum(n_open) - n_open, n_open)
    stage_idx = np.arange(len(deal_rows)) - starts
    open_stages = np.asarray(pipeline.stages, dtype=object)[stage_idx]
    term_rows = np.flatnonzero(closed)
    rows = np.concatenate([deal_rows, term_rows])
    stages = np.concatenate([open_stages, terminal.to_numpy(dtype=object)[term_rows]])

    entered = pd.Series(pd.NaT, index=range(len(rows)), dtype=schema.TIMESTAMP)
    stage_series = pd.Series(stages, dtype=object)
    for stage, column in spec.dates.items():
        hit = (stage_series == stage).to_numpy()
        if hit.any():
            times = _entry_times(column, deals, raw, options, file)
            entered[hit] = times.to_numpy()[rows[hit]]
    frame = pd.DataFrame(
        {
            c.DEAL_ID: deals[c.DEAL_ID].to_numpy()[rows],
            c.STAGE: stage_series.to_numpy(),
            c.ENTERED_AT: entered,
            c.DERIVED: pd.array(np.ones(len(rows), dtype=bool), dtype="boolean"),
        }
    )
    frame = frame.astype(
        {k: v for k, v in schema.column_dtypes(c.STAGE_EVENTS).items() if k in frame}
    )
    frame = schema.table_schema(c.STAGE_EVENTS, pipeline.all_stages).validate(frame)
    last_stage = pipeline.stages[last] if last >= 0 else None
    note = (
        f"stage_events derived from deals.{spec.stage_column}: {len(frame):,} events for "
        f"{len(deals):,} deals. The stages before each deal's current one are implied in "
        f"pipeline order (up to {last_stage or 'no open stage'}, the last open stage the "
        "source uses), not observed; entry times come from "
        + (", ".join(f"{s}={col}" for s, col in spec.dates.items()) or "nowhere")
        + " and are missing for other stages."
    )
    return DerivedEvents(frame=frame, note=note, last_open_stage=last_stage)
