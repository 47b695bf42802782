"""One ingest run: locate files, read, map, validate, derive, write.

Structural problems (a file that cannot be read, a missing required column, a
file the run cannot place, no deals) raise :class:`~analysis.core.errors.InputError`
and nothing is written: tables go to a staging folder that replaces the output
folder only when every table is done. Row-level problems never stop the run:
the row goes to the quarantine with a reason code, and the manifest counts it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import ConfigError, InputError
from analysis.core.paths import STAGES_COPY_FILENAME, STAGES_FILE
from analysis.core.stages import Pipeline, StageConfig, load_stages
from analysis.ingest import read
from analysis.ingest.canonical import build_canonical, resolve_columns
from analysis.ingest.colmap import ColumnMap, TableMap, identity_map, load_column_map
from analysis.ingest.derive import derive_stage_events
from analysis.ingest.manifest import (
    IngestResult,
    derived_entry,
    input_entry,
    now_utc,
    table_entry,
)
from analysis.ingest.validate import (
    DEAL_LINKS,
    DealIndex,
    deal_link_flags,
    merge_flags,
    split,
    table_flags,
)
from analysis.ingest.write import OutputStage, check_out_dir, sort_table


def _plan(
    files: Mapping[str, Path], cmap: ColumnMap | None, source: Path
) -> tuple[ColumnMap, dict[str, Path], list[str]]:
    """Which file holds which table, and which files are ignored."""
    if cmap is None:
        unknown = [stem for stem in files if stem not in c.TABLES]
        if unknown:
            raise InputError(
                "the file is not named after a canonical table "
                f"({', '.join(c.TABLES)}); rename it, remove it, or use a column map (--map) "
                "that names the files to read.",
                file=files[unknown[0]],
            )
        cmap = identity_map(list(files))
    paths: dict[str, Path] = {}
    for table, tmap in cmap.tables.items():
        stem = (
            Path(tmap.file).stem
            if Path(tmap.file).suffix.lower() in read.SUPPORTED_SUFFIXES
            else tmap.file
        )
        if stem not in files:
            raise InputError(
                f"the column map ({cmap.path}) reads table {table!r} from file {stem!r} "
                f"(any of {', '.join(read.SUPPORTED_SUFFIXES)}), which is not in the source "
                f"folder; files found: {', '.join(sorted(files)) or 'none'}.",
                file=source / stem,
            )
        paths[table] = files[stem]
    if c.DEALS not in paths:
        raise InputError(
            "no deals file: the source folder needs a deals table (deals.csv, .xlsx, "
            f".parquet, ...); files found: {', '.join(sorted(files)) or 'none'}.",
            file=source,
        )
    used = {p.name for p in paths.values()}
    ignored = sorted(p.name for p in files.values() if p.name not in used)
    return cmap, paths, ignored


def _pipeline(stages: StageConfig, cmap: ColumnMap) -> Pipeline:
    """The pipeline to use, with the map's extra stage aliases."""
    try:
        pipeline = stages.pipeline(cmap.pipeline)
    except ValueError as exc:
        raise ConfigError(str(exc), file=cmap.path, column="pipeline") from None
    for label, target in cmap.stage_aliases.items():
        if target not in pipeline.all_stages:
            raise ConfigError(
                f"stage alias {label!r} points to {target!r}, which is not a stage of pipeline "
                f"{pipeline.name!r} ({', '.join(pipeline.all_stages)}).",
                file=cmap.path,
                column=f"stage_aliases.{label}",
            )
    aliases = {**pipeline.aliases, **cmap.stage_aliases}
    return replace(pipeline, aliases=MappingProxyType(aliases))


def _read(table: str, path: Path, tmap: TableMap) -> pd.DataFrame:
    """Read one file and check its columns (structural errors surface here)."""
    raw = read.read_table_file(
        path, encoding=tmap.options.encoding, delimiter=tmap.options.delimiter
    )
    resolve_columns(table, raw.columns, tmap, path)
    if table == c.DEALS and len(raw) == 0:
        raise InputError(
            "the deals file has a header but no data rows; export the deals again.", file=path
        )
    return raw


def _deal_notes(
    deals: pd.DataFrame, allow_null: tuple[str, ...], currency_filled: int
) -> list[str]:
    notes = []
    closed = deals[c.OUTCOME].isin([c.WON, c.LOST])
    if c.CLOSED_AT in deals:
        no_date = int((closed & deals[c.CLOSED_AT].isna()).sum())
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


def _with_derived_flag(table: str, clean: pd.DataFrame) -> pd.DataFrame:
    """Stage events read from a file get ``derived = False``."""
    if table == c.STAGE_EVENTS and c.DERIVED not in clean:
        return clean.assign(**{c.DERIVED: pd.array(np.zeros(len(clean), bool), dtype="boolean")})
    return clean


def ingest(
    source: str | Path,
    out: str | Path,
    *,
    map_path: str | Path | None = None,
    stages_path: str | Path | None = None,
) -> IngestResult:
    """Validate a CRM export and write canonical Parquet, quarantine and manifest.

    Parameters
    ----------
    source : str or Path
        Folder with one file per table (``deals`` is mandatory).
    out : str or Path
        Output folder, replaced atomically (never inside ``data/raw``).
    map_path : str or Path, optional
        Column map (``docs/column-maps.md``); without one, files and columns
        carry canonical names.
    stages_path : str or Path, optional
        Stage config; defaults to ``config/stages.yaml``.

    Returns
    -------
    IngestResult

    Raises
    ------
    InputError
        On structural problems (unreadable or empty file, missing required
        column, unknown table, no deals, a map that names a missing file or
        column); nothing is written then.

    Notes
    -----
    Tables are processed one at a time, deals first (the others are checked
    against the clean deals), and each is written to the staging folder as
    soon as it is done, so memory holds one table at a time.
    """
    source = Path(source)
    out_dir = check_out_dir(out, source)
    stage_config = load_stages(stages_path)
    user_map = load_column_map(map_path) if map_path is not None else None
    cmap, paths, ignored_files = _plan(read.find_table_files(source), user_map, source)
    pipeline = _pipeline(stage_config, cmap)
    stage_order = {s: pipeline.order(s) for s in pipeline.all_stages}
    inputs = [input_entry(t, p) for t, p in paths.items()]

    counts: dict[str, dict] = {}
    ignored_columns: dict[str, list[str]] = {}
    notes: list[str] = []
    derived: dict[str, dict] = {}
    deals_index: DealIndex | None = None
    with OutputStage(out_dir) as stage:
        stage.copy_file(Path(stages_path or STAGES_FILE), STAGES_COPY_FILENAME)
        for table in (t for t in c.TABLES if t in paths):
            tmap = cmap.tables[table]
            raw = _read(table, paths[table], tmap)
            canon = build_canonical(table, raw, tmap, pipeline, source_file=paths[table])
            flags = table_flags(canon, pipeline, tmap.allow_null)
            positions = None
            link = DEAL_LINKS.get(table)
            if deals_index is not None and link in canon.frame:
                positions = deals_index.lookup(canon.frame[link])
                merge_flags(flags, deal_link_flags(table, canon.frame, positions, deals_index))
            parts = split(canon, flags, pipeline.all_stages, tmap.allow_null)
            if table == c.DEALS:
                deals_index = DealIndex.from_deals(canon.frame[c.DEAL_ID], parts.clean[c.DEAL_ID])
                positions = deals_index.lookup(parts.clean[c.DEAL_ID])
                notes += _deal_notes(parts.clean, tmap.allow_null, canon.currency_filled)
                if canon.closes_at_end_of_day:
                    notes.append(
                        f"{canon.closes_at_end_of_day} deals closed on the day they were created "
                        "have a date-only close date; it is read as the end of that day (not "
                        "quarantined as closed_before_created)."
                    )
                if tmap.derive is not None and c.STAGE_EVENTS not in paths:
                    events = derive_stage_events(
                        parts.clean,
                        raw.iloc[parts.clean_rows],
                        tmap.derive,
                        pipeline,
                        options=tmap.options,
                        file=paths[table],
                    )
                    codes = deals_index.lookup(events.frame[c.DEAL_ID])
                    frame = sort_table(c.STAGE_EVENTS, events.frame, stage_order, deal_codes=codes)
                    stage.write_table(c.STAGE_EVENTS, frame)
                    derived[c.STAGE_EVENTS] = derived_entry(
                        f"{c.DEALS}.{tmap.derive.stage_column}",
                        len(frame),
                        events.note,
                        last_open_stage=events.last_open_stage,
                    )
                    notes.append(events.note)
                elif tmap.derive is not None:
                    notes.append("stage_events read from its file; derive_stage_events not used.")
            elif positions is not None:
                positions = positions[parts.clean_rows]
            clean = _with_derived_flag(table, parts.clean)
            stage.write_table(table, sort_table(table, clean, stage_order, deal_codes=positions))
            stage.write_quarantine(table, parts.quarantine)
            counts[table] = table_entry(len(raw), len(parts.clean), parts.reason_counts)
            ignored_columns[table] = list(canon.ignored_columns)
            del raw, canon, parts, clean, flags, positions
        if c.STAGE_EVENTS not in counts and c.STAGE_EVENTS not in derived:
            notes.append(
                "no stage_events file and no derive_stage_events in the column map: no "
                "stage_events table was written; stage-based metrics are unavailable."
            )
        manifest = {
            "created_at": now_utc(),
            "source": str(source.resolve()),
            "map": None if cmap.path is None else str(Path(cmap.path).resolve()),
            "map_sha256": cmap.sha256,
            "stage_config_sha256": stage_config.sha256,
            "pipeline": pipeline.name,
            "inputs": inputs,
            "ignored_files": ignored_files,
            "ignored_columns": ignored_columns,
            "tables": {t: counts[t] for t in c.TABLES if t in counts},
            "derived": derived,
            "notes": notes,
        }
        stage.commit(manifest)
    return IngestResult(out_dir=out_dir, manifest=manifest)
