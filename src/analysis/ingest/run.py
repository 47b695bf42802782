"""One ingest run: locate files, read, map, validate, derive, write.

Structural problems (a file that cannot be read, a missing required column, a
file the run cannot place, no deals) raise :class:`~analysis.core.errors.InputError`
and nothing is written: tables go to a staging folder that replaces the output
folder only when every table is done. Row-level problems never stop the run:
the row goes to the quarantine with a reason code, and the manifest counts it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.paths import STAGES_COPY_FILENAME, STAGES_FILE
from analysis.ingest import read
from analysis.ingest import reasons as r
from analysis.ingest.canonical import build_canonical
from analysis.ingest.colmap import known_zone
from analysis.ingest.deal_notes import (
    convert_deals,
    count_unknown_stages,
    date_notes,
    deal_notes,
    flag_counts,
    uncalculated_warning,
    unknown_stages_note,
)
from analysis.ingest.derive import derive_stage_events
from analysis.ingest.fx import convert_post_sale, read_rates_file
from analysis.ingest.fx import reporting_currency as fx_reporting_currency
from analysis.ingest.hygiene import strip_control_characters
from analysis.ingest.leads import lead_notes
from analysis.ingest.manifest import (
    IngestResult,
    derived_entry,
    now_utc,
    table_entry,
)
from analysis.ingest.post_sale import (
    before_deal_closed,
    earliest_time,
    post_sale_notes,
    unknown_customer,
)
from analysis.ingest.sources import choose_vendor, map_pipeline, source_from_map, source_from_vendor
from analysis.ingest.validate import (
    DEAL_LINKS,
    DealIndex,
    before_created,
    deal_link_flags,
    merge_flags,
    split,
    table_flags,
)
from analysis.ingest.vendors import VendorOptions
from analysis.ingest.vendors.stages import combined_pipeline, stage_changes
from analysis.ingest.write import OutputStage, check_out_dir, sort_table


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
    vendor: str | None = None,
    timezone: str | None = None,
    as_of: str | pd.Timestamp | None = None,
    fx_rates: str | Path | None = None,
    reporting_currency: str | None = None,
    amount_months: float = 12.0,
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
    amount_months : float
        Months a won opportunity's amount pays for, where a vendor export's
        monthly recurring revenue comes from the amount (Salesforce without
        an MRR or ARR field: MRR = Amount / ``amount_months``); 12 by default,
        an annual contract value.

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
    if not (pd.notna(amount_months) and amount_months > 0):
        raise InputError(
            f"--amount-months must be a positive number of months (12 for annual contract "
            f"values, 1 for monthly amounts), not {amount_months!r}.",
            column="--amount-months",
        )
    files = read.find_table_files(source)
    vendor = choose_vendor(source, files, map_path, vendor)
    as_of = None if as_of is None else _timestamp(as_of)
    rates = read_rates_file(fx_rates) if fx_rates else None
    if vendor is not None:
        options = VendorOptions(
            timezone or "UTC", as_of, rates, reporting_currency, float(amount_months)
        )
        src = source_from_vendor(vendor, source, files, stages_path, options)
    else:
        src = source_from_map(source, files, map_path, stages_path, timezone)
    reporting = src.export.reporting_currency if src.export else None
    if src.export is None and rates is not None:
        reporting = fx_reporting_currency(rates, reporting_currency)
    cmap, stage_config = src.cmap, src.stage_config
    pipeline = (
        combined_pipeline(stage_config)
        if src.export is not None and len(stage_config.pipelines) > 1
        else map_pipeline(stage_config, cmap)
    )
    stage_order = {s: pipeline.order(s) for s in pipeline.all_stages}

    counts: dict[str, dict] = {}
    ignored_columns: dict[str, list[str]] = {}
    notes: list[str] = list(src.export.notes) if src.export else list(src.notes)
    warnings: list[str] = []
    flagged: dict[str, int] = {}
    stripped: dict[str, int] = {}
    derived: dict[str, dict] = {}
    unknown_stages: dict[str, int] = {}
    deals_index: DealIndex | None = None
    customers: list[pd.Series] = []  # known customer ids: deals' accounts, orders' buyers
    with OutputStage(out_dir) as stage:
        notes += stage.recovered
        if src.stages_text is None:
            stage.copy_file(Path(stages_path or STAGES_FILE), STAGES_COPY_FILENAME)
        else:
            stage.write_text(src.stages_text, STAGES_COPY_FILENAME)
        for table in (t for t in c.TABLES if t in src.loaders):
            raw, path, source_flags, tmap = src.loaders[table]()
            warnings += uncalculated_warning(raw, path)
            if src.export is None:
                raw, found = strip_control_characters(raw)
                stripped.update({f"{path.name}.{k}": n for k, n in found.items()})
            canon = build_canonical(table, raw, tmap, pipeline, source_file=path)
            if table == c.DEALS and src.export is None and rates is not None:
                notes += convert_deals(canon.frame, rates, reporting, path)
            flags = table_flags(canon, pipeline, tmap.allow_null)
            merge_flags(flags, source_flags)
            if tmap.changes_only:
                merge_flags(flags, _not_stage_changes(canon.frame))
            if table == c.SUBSCRIPTIONS:  # a change for no known customer has no owner
                known = pd.concat(customers) if customers else None
                merge_flags(flags, {r.ORPHAN_EVENT: unknown_customer(canon.frame, known)})
            positions = None
            link = DEAL_LINKS.get(table)
            if deals_index is not None and link in canon.frame:
                positions = deals_index.lookup(canon.frame[link])
                merge_flags(flags, deal_link_flags(table, canon.frame, positions, deals_index))
            parts = split(canon, flags, pipeline.all_stages, tmap.allow_null)
            count_unknown_stages(unknown_stages, canon.frame, flags)
            if table == c.DEALS:
                deals_index = DealIndex.from_deals(
                    canon.frame[c.DEAL_ID],
                    parts.clean[c.DEAL_ID],
                    parts.clean[c.CREATED_AT],
                    parts.clean.get(c.CLOSED_AT),
                )
                if c.ACCOUNT_ID in parts.clean:
                    customers.append(parts.clean[c.ACCOUNT_ID].dropna())
                positions = deals_index.lookup(parts.clean[c.DEAL_ID])
                notes += deal_notes(parts.clean, tmap.allow_null, canon.currency_filled)
                notes += date_notes(canon, parts.clean)
                flagged = flag_counts(parts.clean, canon)
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
            if table == c.STAGE_EVENTS and deals_index is not None and positions is not None:
                clean, early = _with_before_created(clean, positions, deals_index)
                if early:
                    flagged[c.BEFORE_CREATED] = early
                    notes.append(
                        f"{early:,} stage events are dated more than a day before their deal "
                        "was created: kept (the deal reached the stage), flagged before_created, "
                        "and their time is left out of durations."
                    )
            if table == c.LEADS:
                lead_flags, found_notes = lead_notes(clean)
                flagged.update(lead_flags)
                notes += found_notes
            if table in (c.ORDERS, c.SUBSCRIPTIONS, c.ONBOARDING):
                clean = _with_before_deal_closed(table, clean, positions, deals_index)
                sale_flags, found_notes = post_sale_notes(table, clean)
                flagged.update(sale_flags)
                notes += found_notes
                if table == c.ORDERS:
                    customers.append(clean[c.CUSTOMER_ID])
                if rates is not None and src.export is None and table != c.ONBOARDING:
                    clean, fx_notes = convert_post_sale(table, clean, rates, reporting)
                    notes += fx_notes
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
            notes.append(unknown_stages_note(unknown_stages, pipeline, stages_path, cmap))
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
            "timezone": timezone or ("UTC" if vendor else _map_zone(cmap)),
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
            "warnings": warnings,
        }
        stage.commit(manifest)
    return IngestResult(out_dir=out_dir, manifest=manifest)


def _with_before_created(
    events: pd.DataFrame, positions: np.ndarray, index: DealIndex
) -> tuple[pd.DataFrame, int]:
    """Clean stage events with the ``before_created`` flag, and how many carry it."""
    early = before_created(events, positions, index)
    flag = pd.array(early, dtype="boolean")
    return events.assign(**{c.BEFORE_CREATED: flag}), int(early.sum())


def _with_before_deal_closed(
    table: str, clean: pd.DataFrame, positions: np.ndarray | None, index: DealIndex | None
) -> pd.DataFrame:
    """Clean orders, subscriptions or onboarding with the ``before_deal_closed`` flag
    (ingest.post_sale; onboarding by its earlier milestone)."""
    if positions is None or index is None or index.closed is None:
        return clean
    times = earliest_time(table, clean)
    early = before_deal_closed(times, index.closed, positions)
    return clean.assign(**{c.BEFORE_DEAL_CLOSED: pd.array(early, dtype="boolean")})


def _not_stage_changes(events: pd.DataFrame) -> dict[str, np.ndarray]:
    """``not_a_stage_change`` for history rows that repeat their deal's stage (map option)."""
    dated = (events[c.ENTERED_AT].notna() & events[c.STAGE].notna()).to_numpy()
    changes = stage_changes(events[c.DEAL_ID], events[c.STAGE], events[c.ENTERED_AT], dated)
    return {r.NOT_A_STAGE_CHANGE: dated & ~changes}


def _map_zone(cmap) -> str | None:
    """The time zone a column map reads its deals in (None without a deals entry)."""
    deals = cmap.tables.get(c.DEALS)
    return None if deals is None else deals.options.timezone


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
