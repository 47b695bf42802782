"""Where the data lives: a workspace of ibis tables over one backend.

Metric code is written once as ibis expressions against a :class:`Workspace`
and runs wherever the workspace points: DuckDB in-process over the processed
Parquet files (the default), pandas DataFrames (as memtables), or any ibis
backend connection (Spark, a SQL warehouse). Only small aggregates come back
to pandas for the statistics.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import ibis
import pandas as pd

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import InputError
from analysis.core.stages import Pipeline, StageConfig, load_stages
from analysis.engine.money import Money, comparable_amounts, read_money
from analysis.engine.spark import (
    BACKEND_VARIABLE,
    folder_on_spark,
    frames_on_spark,
    is_spark_session,
    spark_backend,
)
from analysis.ingest.manifest import read_manifest

# ... or a pyspark SparkSession (not named here: pyspark is optional).
WorkspaceSource = str | Path | Mapping[str, pd.DataFrame] | ibis.BaseBackend | None


@dataclass(frozen=True)
class Workspace:
    """The canonical tables of one data source, as ibis tables.

    Attributes
    ----------
    backend : ibis.BaseBackend
        The connection expressions execute on.
    tables : Mapping[str, ibis.Table]
        Canonical tables present in the source, by name (``columns.TABLES``).
    stages : StageConfig
        The pipeline definition used to interpret stage names.
    source : str
        Human-readable description of where the data came from.
    manifest : dict or None
        The ingest manifest, when the source is a processed folder.
    money : Money
        The currency of ``deals.amount`` and whether amounts can be added up
        (:mod:`analysis.engine.money`); when they cannot, ``amount`` is null.
    unrecorded_stages : tuple of str
        Open stages of the configured pipeline that the data never records,
        left out of :attr:`pipeline` by :meth:`without_unrecorded_stages`.

    Examples
    --------
    >>> ws = connect()                    # doctest: +SKIP
    >>> ws.deals.count().execute()        # doctest: +SKIP
    """

    backend: ibis.BaseBackend
    tables: Mapping[str, ibis.Table]
    stages: StageConfig
    source: str
    manifest: dict | None = field(default=None, repr=False)
    money: Money = field(default=Money(None), repr=False)
    unrecorded_stages: tuple[str, ...] = ()

    def __getattr__(self, name: str) -> ibis.Table:
        # Only reached for names that are not dataclass fields.
        if name in c.TABLES:
            tables = object.__getattribute__(self, "tables")
            if name not in tables:
                have = ", ".join(sorted(tables)) or "none"
                raise AttributeError(
                    f"The workspace ({self.source}) has no {name!r} table; it has: {have}."
                )
            return tables[name]
        raise AttributeError(name)

    def has(self, table: str) -> bool:
        """Whether the source provides ``table``."""
        return table in self.tables

    @property
    def pipeline(self) -> Pipeline:
        """The default pipeline of the stage configuration."""
        return self.stages.pipeline()

    def with_table(self, name: str, table: ibis.Table) -> Workspace:
        """A copy of the workspace in which ``name`` is replaced by ``table``.

        Lets a metric hand a derived view (e.g. deals with a period column)
        to another metric that takes a workspace, on the same backend.
        """
        if name not in c.TABLES:
            raise ValueError(f"Unknown table {name!r}; canonical tables are {', '.join(c.TABLES)}.")
        return replace(self, tables=MappingProxyType({**self.tables, name: table}))

    def deals_where(self, column: str, values: str | list | tuple | None) -> Workspace:
        """A copy restricted to deals whose ``column`` is one of ``values``.

        ``None`` or an empty list keeps every deal, so a notebook parameter
        ``segments = None`` means "all segments"; a single string is one value
        (``"B2B"``, as ``-p segments=B2B`` passes it). Other tables are left as
        they are; metrics join them to the deals they analyse.
        """
        if not values:
            return self
        if isinstance(values, str):
            values = [values]
        deals = self.tables[c.DEALS]
        if column not in deals.columns:
            raise ValueError(
                f"Deals have no column {column!r}; they have {', '.join(deals.columns)}."
            )
        return self.with_table(c.DEALS, deals.filter(deals[column].isin(list(values))))

    @property
    def other_pipelines(self) -> tuple[str, ...]:
        """Pipelines of the stage configuration other than the one analysed."""
        return tuple(p for p in self.stages.pipelines if p != self.stages.default)

    def for_pipeline(self, name: str | None = None) -> Workspace:
        """A copy restricted to the deals of one pipeline, analysed with that pipeline.

        A CRM with several pipelines (a HubSpot or Pipedrive export) keeps each
        deal's in ``deals.pipeline``; stages, conversion and time in stage only
        make sense within one. Deals without a pipeline belong to the default
        one. Stage events, activities and feedback follow their deals.

        Raises
        ------
        InputError
            When ``name`` is not a pipeline of the stage configuration.
        """
        config = self.stages
        name = config.default if name is None else str(name)
        if name not in config.pipelines:
            raise InputError(
                f"there is no pipeline {name!r}; this data has: {', '.join(config.pipelines)}.",
                column="pipeline",
            )
        ws = replace(self, stages=replace(config, default=name))
        deals = self.tables[c.DEALS]
        if c.PIPELINE not in deals.columns or len(config.pipelines) < 2:
            return ws
        keep = deals[c.PIPELINE] == name
        if name == config.default:
            keep = keep | deals[c.PIPELINE].isnull()
        deals = deals.filter(keep)
        tables = {**self.tables, c.DEALS: deals}
        for table in (c.STAGE_EVENTS, c.ACTIVITIES, c.FEEDBACK):
            if table in tables:
                t = tables[table]
                tables[table] = t.filter(t[c.DEAL_ID].isin(deals[c.DEAL_ID]))
        return replace(ws, tables=MappingProxyType(tables))

    def without_unrecorded_stages(self) -> Workspace:
        """A copy whose pipeline leaves out the open stages the data never records.

        A stage is recorded when some deal's current stage is it, or some stage
        event (other than one ingest derived) enters it. Implied reach counts a
        deal that reached a later stage as having passed every earlier one, so
        a stage that the export's process does not have would show as passed
        by every deal, at 100% conversion. Report pages use this copy and say
        which stages they left out (:attr:`unrecorded_stages`).
        """
        if not self.has(c.STAGE_EVENTS):
            return self
        ev = self.stage_events
        if c.DERIVED in ev.columns:
            ev = ev.filter(ev[c.DERIVED].isnull() | ~ev[c.DERIVED])
        seen = set(self.execute(ev.select(c.STAGE).distinct())[c.STAGE].dropna())
        if c.STAGE in self.deals.columns:
            seen |= set(self.execute(self.deals.select(c.STAGE).distinct())[c.STAGE].dropna())
        pipeline = self.pipeline
        recorded = tuple(s for s in pipeline.stages if s in seen)
        if not recorded or len(recorded) == len(pipeline.stages):
            return self
        narrowed = replace(pipeline, stages=recorded)
        pipelines = MappingProxyType({**self.stages.pipelines, pipeline.name: narrowed})
        unrecorded = tuple(s for s in pipeline.stages if s not in seen)
        return replace(
            self, stages=replace(self.stages, pipelines=pipelines), unrecorded_stages=unrecorded
        )

    def execute(self, expr: ibis.Expr) -> pd.DataFrame:
        """Run an expression on the workspace's backend and return pandas."""
        return self.backend.execute(expr)


def _from_folder(folder: Path, stages: StageConfig | None, engine: str = "duckdb") -> Workspace:
    if not folder.is_dir():
        raise InputError(
            "no processed data folder here. Run `make ingest` (sample data) or "
            "`sales-workbench ingest --source DIR --out DIR` on your export first.",
            file=folder,
        )
    files = {p.stem: p for p in sorted(folder.glob("*.parquet")) if p.stem in c.TABLES}
    if c.DEALS not in files:
        raise InputError(
            "the processed folder has no deals.parquet; run `sales-workbench ingest` first.",
            file=folder,
        )
    if stages is None:
        # The pipeline the data was ingested with, not whatever config/ holds now.
        copied = folder / paths.STAGES_COPY_FILENAME
        stages = load_stages(copied if copied.exists() else None)
    if engine == "spark":
        backend = folder_on_spark(files)
        tables = {name: backend.table(name) for name in files}
    else:
        backend = ibis.duckdb.connect()
        tables = {name: backend.read_parquet(path, table_name=name) for name, path in files.items()}
    has_manifest = (folder / paths.MANIFEST_FILENAME).exists()
    manifest = read_manifest(folder) if has_manifest else None
    where = f"processed folder {folder}" + (" on Spark" if engine == "spark" else "")
    return Workspace(backend, tables, stages, where, manifest)


def _from_frames(
    frames: Mapping[str, pd.DataFrame], stages: StageConfig, engine: str = "duckdb"
) -> Workspace:
    unknown = sorted(set(frames) - set(c.TABLES))
    if unknown:
        raise ValueError(
            f"Unknown table name {unknown[0]!r}; canonical tables are {', '.join(c.TABLES)}."
        )
    if engine == "spark":
        backend = frames_on_spark(dict(frames))
        tables = {name: backend.table(name) for name in frames}
        return Workspace(backend, tables, stages, "in-memory DataFrames on Spark")
    tables = {name: ibis.memtable(frame) for name, frame in frames.items()}
    return Workspace(ibis.duckdb.connect(), tables, stages, "in-memory DataFrames")


def _from_backend(backend: ibis.BaseBackend, stages: StageConfig) -> Workspace:
    present = set(backend.list_tables())
    tables = {name: backend.table(name) for name in c.TABLES if name in present}
    if c.DEALS not in tables:
        raise InputError(f"the connection ({backend.name}) has no 'deals' table.")
    return Workspace(backend, tables, stages, f"{backend.name} connection")


def _with_labels(ws: Workspace) -> Workspace:
    """Blank labels become the explicit group ``unknown``.

    A missing segment, source or region is a fact about the export, not a
    value; results show it as a group called unknown rather than "nan". (Lost
    deals without a loss reason are left out of the reason shares and counted.)
    """
    deals = ws.deals
    fills = {
        col: deals[col].fill_null(c.UNKNOWN)
        for col in c.LABEL_COLUMNS
        if col in deals.columns and deals[col].type().is_string()
    }
    return ws.with_table(c.DEALS, deals.mutate(**fills)) if fills else ws


def _with_money(ws: Workspace) -> Workspace:
    """Read the amounts' currency; set amounts aside when they cannot be added up."""
    if c.AMOUNT not in ws.deals.columns:
        return ws
    reporting = (ws.manifest or {}).get("reporting_currency")
    money = read_money(ws.deals, ws.execute, reporting)
    return replace(ws, money=money).with_table(c.DEALS, comparable_amounts(ws.deals, money))


def _with_usable_entry_times(ws: Workspace) -> Workspace:
    """Stage entries flagged ``before_created`` get an unknown entry time.

    Ingest flags an entry dated more than a day before its deal was created:
    the deal did reach the stage, but the time is wrong, and a stay measured
    from it would run for years. With the time unknown the entry still counts
    for reach and keeps its place first in the deal's history, and every
    duration leaves it out, as for a derived entry without a time.
    """
    if not ws.has(c.STAGE_EVENTS) or c.BEFORE_CREATED not in ws.stage_events.columns:
        return ws
    ev = ws.stage_events
    unknown = ibis.null().cast(ev[c.ENTERED_AT].type())
    entered = ev[c.BEFORE_CREATED].fill_null(False).ifelse(unknown, ev[c.ENTERED_AT])
    return ws.with_table(c.STAGE_EVENTS, ev.mutate(**{c.ENTERED_AT: entered}))


def _prepared(ws: Workspace) -> Workspace:
    """What every source gets on opening: money read, blank labels named, bad times unknown."""
    return _with_usable_entry_times(_with_labels(_with_money(ws)))


ENGINES = ("duckdb", "spark")


def connect(
    source: WorkspaceSource = None,
    *,
    stages: StageConfig | None = None,
    pipeline: str | None = None,
    backend: str | None = None,
) -> Workspace:
    """Open the canonical tables of a data source as a :class:`Workspace`.

    Parameters
    ----------
    source : path, mapping of DataFrames, ibis backend, or None
        ``None`` opens ``data/processed`` (see ``analysis.core.paths``); a path
        opens that processed folder with in-process DuckDB; a mapping of
        table name to pandas DataFrame wraps each frame as an ibis memtable;
        an ibis backend connection uses its tables named after the canonical
        tables, so Spark or a warehouse works without changing metric code.
    stages : StageConfig, optional
        Stage configuration; defaults to the copy an ingest keeps in the
        processed folder (``stages.yaml``), else ``config/stages.yaml``.
    pipeline : str, optional
        With several pipelines, the one to analyse (default: the stage
        configuration's default); the workspace holds that pipeline's deals
        alone (:meth:`Workspace.for_pipeline`), since stages, conversion and
        even win rates differ between pipelines (new business, renewals).
        ``sales-workbench report`` runs each report once per pipeline.
    backend : {"duckdb", "spark"}, optional
        Where a folder or DataFrames are read: in-process DuckDB (the default),
        or Spark (a local session, or Spark Connect when ``$SPARK_REMOTE`` is
        set; :mod:`analysis.engine.spark`). Default ``$WORKBENCH_BACKEND``,
        else DuckDB. A Spark session given as ``source`` uses its catalog
        tables with the canonical names.

    Returns
    -------
    Workspace

    Raises
    ------
    InputError
        When the folder or connection holds no deals table.
    """
    engine = (backend or os.environ.get(BACKEND_VARIABLE) or "duckdb").lower()
    if engine not in ENGINES:
        raise ValueError(f"backend must be one of {', '.join(ENGINES)}, not {engine!r}.")
    if source is None:
        ws = _from_folder(paths.PROCESSED_DIR, stages, engine)
    elif isinstance(source, str | Path):
        ws = _from_folder(Path(source), stages, engine)
    elif isinstance(source, ibis.BaseBackend):
        ws = _from_backend(source, stages if stages is not None else load_stages())
    elif is_spark_session(source):
        ws = _from_backend(spark_backend(source), stages if stages is not None else load_stages())
    elif isinstance(source, Mapping):
        ws = _from_frames(source, stages if stages is not None else load_stages(), engine)
    else:
        ws = None
    if ws is not None:
        return _prepared(ws.for_pipeline(pipeline))
    raise TypeError(
        "connect() takes a processed folder path, a dict of DataFrames, an ibis backend or a "
        "Spark session, "
        f"not {type(source).__name__}."
    )
