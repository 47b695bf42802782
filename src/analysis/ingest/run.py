"""One ingest run: locate files, read, map, validate, derive, write.

Structural problems (a file that cannot be read, a missing required column, a
file the run cannot place, no deals) raise :class:`~analysis.core.errors.InputError`
and nothing is written: tables go to a staging folder that replaces the output
folder only when every table is done. Row-level problems never stop the run:
the row goes to the quarantine with a reason code, and the manifest counts it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import ConfigError, InputError
from analysis.core.paths import STAGES_COPY_FILENAME, STAGES_FILE
from analysis.core.stages import Pipeline, StageConfig, load_stages, stages_yaml
from analysis.ingest import read, vendors
from analysis.ingest import reasons as r
from analysis.ingest.canonical import build_canonical, resolve_columns
from analysis.ingest.colmap import ColumnMap, TableMap, identity_map, known_zone, load_column_map
from analysis.ingest.derive import derive_stage_events
from analysis.ingest.fx import convert, read_rates_file
from analysis.ingest.fx import reporting_currency as fx_reporting_currency
from analysis.ingest.hygiene import strip_control_characters
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
from analysis.ingest.vendors import ExportFiles, VendorExport, VendorOptions
from analysis.ingest.vendors.adapted import combined_pipeline
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


def _with_derived_flag(table: str, clean: pd.DataFrame) -> pd.DataFrame:
    """Stage events read from a file get ``derived = False``."""
    if table == c.STAGE_EVENTS and c.DERIVED not in clean:
        return clean.assign(**{c.DERIVED: pd.array(np.zeros(len(clean), bool), dtype="boolean")})
    return clean


@dataclass(frozen=True)
class _Source:
    """Where each table's rows come from: files under a column map, or a CRM adapter."""

    cmap: ColumnMap
    stage_config: StageConfig
    stages_text: str | None
    loaders: Mapping[
        str, Callable[[], tuple[pd.DataFrame, Path, Mapping[str, np.ndarray], TableMap]]
    ]
    inputs: list[dict]
    ignored_files: list[str]
    export: VendorExport | None = None


def _from_map(source: Path, files, map_path, stages_path) -> _Source:
    stage_config = load_stages(stages_path)
    user_map = load_column_map(map_path) if map_path is not None else None
    cmap, paths, ignored = _plan(files, user_map, source)

    def loader(table: str):
        tmap = cmap.tables[table]
        return lambda: (_read(table, paths[table], tmap), paths[table], {}, tmap)

    return _Source(
        cmap=cmap,
        stage_config=stage_config,
        stages_text=Path(stages_path or STAGES_FILE).read_text(encoding="utf-8"),
        loaders={t: loader(t) for t in paths},
        inputs=[input_entry(t, p) for t, p in paths.items()],
        ignored_files=ignored,
    )


def _from_vendor(vendor: str, source: Path, files, stages_path, options: VendorOptions) -> _Source:
    if vendor not in vendors.ADAPTERS:
        raise InputError(
            f"unknown source {vendor!r} for --from; known: {', '.join(vendors.ADAPTERS)}.",
            column="--from",
        )
    export = vendors.adapt(vendor, ExportFiles(source, files), options)
    stage_config = load_stages(stages_path) if stages_path is not None else export.stages
    # Each table is built (when the adapter left it lazy) and released one at a time.
    pending = {t: export.tables[t] for t in c.TABLES if t in export.tables}
    export = replace(export, tables=MappingProxyType({}))

    def loader(table: str):
        def load():
            at = pending.pop(table)
            at = at() if callable(at) else at
            return _checked(at), at.file, at.flags, at.tmap

        return load

    header = (
        f"Pipeline read from the {vendor} export in {source} by sales-workbench ingest.\n"
        "Rename stages or add aliases here, then ingest again with --stages this file."
    )
    return _Source(
        cmap=ColumnMap(tables=MappingProxyType({})),
        stage_config=stage_config,
        stages_text=None if stages_path is not None else stages_yaml(stage_config, header),
        loaders={t: loader(t) for t in pending},
        inputs=[input_entry(obj, p) for obj, p in export.inputs.items()],
        ignored_files=list(export.ignored_files),
        export=export,
    )


def _checked(at) -> pd.DataFrame:
    resolve_columns(at.table, at.raw.columns, at.tmap, at.file)
    if at.table == c.DEALS and len(at.raw) == 0:
        raise InputError(
            "the deals file has a header but no data rows; export them again.", file=at.file
        )
    return at.raw


def _no_known_export(source: Path, files: Mapping[str, Path]) -> InputError:
    found = []
    for path in files.values():
        try:
            header = read.read_header(path)
        except InputError:
            header = ["(unreadable)"]
        found.append(
            f"{path.name} ({', '.join(map(str, header[:12]))}{', ...' if len(header) > 12 else ''})"
        )
    return InputError(
        "this folder is not an export the workbench knows, and no --map was given. Files "
        f"found: {'; '.join(found) or 'none'}. Ways forward: name the CRM with --from "
        f"({', '.join(vendors.ADAPTERS)}); write a column map (docs/column-maps.md) and pass "
        "--map; or name the files and columns after the canonical tables (docs/data-model.md).",
        file=source,
    )


def _canonical_deals(files: Mapping[str, Path]) -> bool:
    """Whether the deals file has the canonical required columns (else it may be a CRM's)."""
    if c.DEALS not in files:
        return True
    try:
        header = set(read.read_header(files[c.DEALS]))
    except InputError:
        return True  # reading it properly later gives the precise error
    return {c.DEAL_ID, c.CREATED_AT, c.OUTCOME} <= header


def _choose(source: Path, files, map_path, vendor) -> str | None:
    if vendor is not None or map_path is not None:
        return vendor
    if files and all(stem in c.TABLES for stem in files) and _canonical_deals(files):
        return None
    found = vendors.detect(ExportFiles(source, files))
    if found is None and not any(stem in c.TABLES for stem in files):
        raise _no_known_export(source, files)
    return found


def ingest(
    source: str | Path,
    out: str | Path,
    *,
    map_path: str | Path | None = None,
    stages_path: str | Path | None = None,
    vendor: str | None = None,
    timezone: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    fx_rates: str | Path | None = None,
    reporting_currency: str | None = None,
) -> IngestResult:
    """Validate a CRM export and write canonical Parquet, quarantine and manifest.

    Parameters
    ----------
    source : str or Path
        Folder of export files: a CRM's own export (``vendor``, detected
        when neither ``vendor`` nor ``map_path`` is given), files under a
        column map, or one file per canonical table (``deals`` mandatory).
    out : str or Path
        Output folder, replaced atomically (never inside ``data/raw``).
    map_path : str or Path, optional
        Column map (``docs/column-maps.md``).
    stages_path : str or Path, optional
        Stage config; defaults to the CRM's own stages for a vendor export,
        else ``config/stages.yaml``. It is copied beside the output.
    vendor : {"salesforce", ...}, optional
        The CRM the export comes from (``analysis.ingest.vendors.ADAPTERS``).
    timezone : str, optional
        Zone of a vendor export's times without offset and of its date-only
        fields (default UTC).
    as_of : str or Timestamp, optional
        The export's time (cut-off); by default a vendor export's latest
        last-modified stamp. Recorded in the manifest as ``as_of``.
    fx_rates : str or Path, optional
        Exchange-rate file (``currency, rate[, valid_from, valid_to]``) for a
        vendor export; else the export's own rates, if any.
    reporting_currency : str, optional
        Currency amounts are converted into; by default the rates' base.

    Returns
    -------
    IngestResult

    Raises
    ------
    InputError
        On structural problems (unreadable or empty file, missing required
        column, unknown table, no deals, a folder that matches no known
        export, a map that names a missing file or column); nothing is
        written then.

    Notes
    -----
    Tables are processed one at a time, deals first (the others are checked
    against the clean deals), and each is written to the staging folder as
    soon as it is done.
    """
    source = Path(source)
    out_dir = check_out_dir(out, source)
    if vendor is not None and map_path is not None:
        raise InputError(
            "give either --from (a CRM's own export) or --map (a column map), not both.",
            column="--from",
        )
    if timezone is not None and not known_zone(timezone):
        raise InputError(
            f"--timezone {timezone!r} is not a known IANA time zone; use a name such as UTC, "
            "Europe/Berlin or America/Bogota.",
            column="--timezone",
        )
    files = read.find_table_files(source)
    vendor = _choose(source, files, map_path, vendor)
    as_of = None if as_of is None else _timestamp(as_of)
    rates = read_rates_file(fx_rates) if fx_rates else None
    if vendor is not None:
        options = VendorOptions(timezone or "UTC", as_of, rates, reporting_currency)
        src = _from_vendor(vendor, source, files, stages_path, options)
    else:
        src = _from_map(source, files, map_path, stages_path)
    reporting = src.export.reporting_currency if src.export else None
    if src.export is None and rates is not None:
        reporting = fx_reporting_currency(rates, reporting_currency)
    cmap, stage_config = src.cmap, src.stage_config
    pipeline = (
        combined_pipeline(stage_config)
        if src.export is not None and len(stage_config.pipelines) > 1
        else _pipeline(stage_config, cmap)
    )
    stage_order = {s: pipeline.order(s) for s in pipeline.all_stages}

    counts: dict[str, dict] = {}
    ignored_columns: dict[str, list[str]] = {}
    notes: list[str] = list(src.export.notes) if src.export else []
    flagged: dict[str, int] = {}
    stripped: dict[str, int] = {}
    derived: dict[str, dict] = {}
    unknown_stages: dict[str, int] = {}
    deals_index: DealIndex | None = None
    with OutputStage(out_dir) as stage:
        if src.stages_text is None:
            stage.copy_file(Path(stages_path or STAGES_FILE), STAGES_COPY_FILENAME)
        else:
            stage.write_text(src.stages_text, STAGES_COPY_FILENAME)
        for table in (t for t in c.TABLES if t in src.loaders):
            raw, path, source_flags, tmap = src.loaders[table]()
            if src.export is None:
                raw, found = strip_control_characters(raw)
                stripped.update({f"{path.name}.{k}": n for k, n in found.items()})
            canon = build_canonical(table, raw, tmap, pipeline, source_file=path)
            if table == c.DEALS and src.export is None and rates is not None:
                notes += _convert_deals(canon.frame, rates, reporting, path)
            flags = table_flags(canon, pipeline, tmap.allow_null)
            merge_flags(flags, source_flags)
            positions = None
            link = DEAL_LINKS.get(table)
            if deals_index is not None and link in canon.frame:
                positions = deals_index.lookup(canon.frame[link])
                merge_flags(flags, deal_link_flags(table, canon.frame, positions, deals_index))
            parts = split(canon, flags, pipeline.all_stages, tmap.allow_null)
            _count_unknown_stages(unknown_stages, canon.frame, flags)
            if table == c.DEALS:
                deals_index = DealIndex.from_deals(canon.frame[c.DEAL_ID], parts.clean[c.DEAL_ID])
                positions = deals_index.lookup(parts.clean[c.DEAL_ID])
                notes += _deal_notes(parts.clean, tmap.allow_null, canon.currency_filled)
                notes += _date_notes(canon, parts.clean)
                flagged = _flag_counts(parts.clean, canon)
                if tmap.derive is not None and c.STAGE_EVENTS not in src.loaders:
                    events = derive_stage_events(
                        parts.clean,
                        raw.iloc[parts.clean_rows],
                        tmap.derive,
                        pipeline,
                        options=tmap.options,
                        file=path,
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
        if c.STAGE_EVENTS not in counts and c.STAGE_EVENTS not in derived and src.export is None:
            notes.append(
                "no stage_events file and no derive_stage_events in the column map: no "
                "stage_events table was written; stage-based metrics are unavailable."
            )
        if unknown_stages:
            notes.append(_unknown_stages_note(unknown_stages, pipeline, stages_path, cmap))
        export = src.export
        if as_of is None and export is not None:
            as_of = export.as_of
        manifest = {
            "created_at": now_utc(),
            "source": str(source.resolve()),
            "vendor": vendor,
            "map": None if cmap.path is None else str(Path(cmap.path).resolve()),
            "map_sha256": cmap.sha256,
            "stage_config_sha256": stage_config.sha256 or None,
            "pipeline": pipeline.name,
            "pipelines": list(stage_config.pipelines),
            "timezone": timezone or ("UTC" if vendor else None),
            "as_of": None if as_of is None else _iso(as_of),
            "reporting_currency": reporting,
            "inputs": src.inputs,
            "ignored_files": src.ignored_files,
            "ignored_columns": ignored_columns,
            "tables": {t: counts[t] for t in c.TABLES if t in counts},
            "derived": derived,
            "flags": flagged,
            "unknown_stages": unknown_stages,
            "stripped_characters": {**(export.stripped if export else {}), **stripped},
            "notes": notes,
        }
        stage.commit(manifest)
    return IngestResult(out_dir=out_dir, manifest=manifest)


def _convert_deals(deals: pd.DataFrame, rates, reporting: str, path: Path) -> list[str]:
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
    # A closed deal converts at its close, an open one at its creation.
    at = (
        deals[c.CLOSED_AT].fillna(deals[c.CREATED_AT])
        if c.CLOSED_AT in deals
        else deals[c.CREATED_AT]
    )
    result = convert(
        deals[c.AMOUNT_ORIGINAL], deals[c.CURRENCY].fillna(reporting), at, rates, reporting
    )
    deals[c.AMOUNT] = result.amount.astype("float64")
    return [
        f"{n:,} deals in {code} have no exchange rate to {reporting} at their date; their amount "
        "is left empty (amount_original keeps it)."
        for code, n in result.no_rate.items()
    ]


def _count_unknown_stages(
    counts: dict[str, int], frame: pd.DataFrame, flags: Mapping[str, np.ndarray]
) -> None:
    """Add the rows per stage label that no stage or alias knows (in place)."""
    mask = flags.get(r.UNKNOWN_STAGE)
    if mask is None or not mask.any() or c.STAGE not in frame:
        return
    for label, n in frame.loc[mask, c.STAGE].value_counts().items():
        counts[str(label)] = counts.get(str(label), 0) + int(n)


def _unknown_stages_note(
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


def _timestamp(value: str | pd.Timestamp) -> pd.Timestamp:
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError(
            f"--as-of {value!r} is not a date or time; write it as 2026-06-30 or "
            "2026-06-30T18:00:00Z.",
            column="--as-of",
        ) from None
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _iso(stamp: pd.Timestamp) -> str:
    return pd.Timestamp(stamp).tz_convert("UTC").isoformat().replace("+00:00", "Z")


def _date_notes(canon, clean: pd.DataFrame) -> list[str]:
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


def _flag_counts(clean: pd.DataFrame, canon) -> dict[str, int]:
    out = {}
    if c.BACKDATED in clean:
        out[c.BACKDATED] = int(clean[c.BACKDATED].fillna(False).sum())
    if c.EXPECTED_CLOSE_AT in clean:
        out[c.EXPECTED_CLOSE_AT] = int(clean[c.EXPECTED_CLOSE_AT].notna().sum())
    if canon.closes_at_end_of_day:
        out["closes_at_end_of_day"] = canon.closes_at_end_of_day
    return out
