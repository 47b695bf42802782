"""Where an ingest run's tables come from: files under a column map, or a CRM adapter.

:func:`choose_vendor` decides (``--from``, ``--map``, canonical file names,
or detection); :func:`source_from_map` and :func:`source_from_vendor` give a
:class:`Source`: per table a loader that returns the rows, the file they came
from, the reasons the source itself gives for setting rows aside, and the
table's column map. Loaders run one at a time, so memory holds one table.
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
from analysis.core.paths import STAGES_FILE
from analysis.core.stages import Pipeline, StageConfig, load_stages, stages_yaml
from analysis.ingest import read, vendors
from analysis.ingest.canonical import resolve_columns
from analysis.ingest.colmap import ColumnMap, TableMap, identity_map, load_column_map
from analysis.ingest.manifest import input_entry
from analysis.ingest.vendors import ExportFiles, VendorExport, VendorOptions


def plan_files(
    files: Mapping[str, Path], cmap: ColumnMap | None, source: Path
) -> tuple[ColumnMap, dict[str, Path], list[str]]:
    """Which file holds which table, and which files are ignored.

    A table the map marks ``optional`` whose file is absent gets no entry
    (:func:`source_from_map` notes it).
    """
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
        if stem not in files and tmap.optional:
            continue
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


def map_pipeline(stages: StageConfig, cmap: ColumnMap) -> Pipeline:
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


def read_mapped(table: str, path: Path, tmap: TableMap) -> pd.DataFrame:
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


@dataclass(frozen=True)
class Source:
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
    notes: tuple[str, ...] = ()  # for the manifest (a vendor export carries its own)


def source_from_map(
    source: Path, files, map_path, stages_path, timezone: str | None = None
) -> Source:
    """Files under a column map (or named after the canonical tables).

    ``timezone`` (``--timezone``) replaces the map's own for every table.
    """
    stage_config = load_stages(stages_path)
    user_map = load_column_map(map_path) if map_path is not None else None
    cmap, paths, ignored = plan_files(files, user_map, source)

    def loader(table: str):
        tmap = cmap.tables[table]
        if timezone is not None:
            tmap = replace(tmap, options=replace(tmap.options, timezone=timezone))
        return lambda: (read_mapped(table, paths[table], tmap), paths[table], {}, tmap)

    return Source(
        cmap=cmap,
        stage_config=stage_config,
        stages_text=Path(stages_path or STAGES_FILE).read_text(encoding="utf-8"),
        loaders={t: loader(t) for t in paths},
        inputs=[input_entry(t, p) for t, p in paths.items()],
        ignored_files=ignored,
        notes=tuple(
            f"no {tmap.file} file for the optional table {t}: it was skipped; analyses "
            "that need it say so on their pages."
            for t, tmap in cmap.tables.items()
            if t not in paths
        ),
    )


def source_from_vendor(
    vendor: str, source: Path, files, stages_path, options: VendorOptions
) -> Source:
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
    return Source(
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


def choose_vendor(source: Path, files, map_path, vendor) -> str | None:
    if vendor is not None or map_path is not None:
        return vendor
    if files and all(stem in c.TABLES for stem in files) and _canonical_deals(files):
        return None
    found = vendors.detect(ExportFiles(source, files))
    if found is None and not any(stem in c.TABLES for stem in files):
        raise _no_known_export(source, files)
    return found
