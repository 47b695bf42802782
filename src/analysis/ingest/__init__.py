"""Ingest: turn a CRM export into canonical, validated Parquet tables.

``ingest(source, out, map_path=...)`` reads one file per canonical table,
applies a column map (``docs/column-maps.md``), parses and validates every
row, quarantines the rows that fail with a reason code, derives stage events
for current-stage-only sources, and writes ``<out>/<table>.parquet``,
``<out>/quarantine/<table>.parquet`` and ``<out>/manifest.json`` atomically.

A CRM's own export (Salesforce, HubSpot, Pipedrive) needs no map: its
adapter in ``vendors`` reads the vendor's files and field names
(``ingest(source, out, vendor="salesforce")``, or detected).

Modules: ``read`` (files), ``hygiene`` (control characters), ``parse``
(values), ``colmap`` (column maps), ``vendors`` (CRM adapters), ``sources``
(map or adapter: where each table comes from), ``canonical`` (map + parse),
``fx`` (exchange rates), ``validate`` (checks, quarantine split), ``reasons``
(reason codes and priority), ``derive`` (implied stage events),
``deal_notes`` (the manifest's notes on deals), ``manifest`` (manifest,
result), ``write`` (atomic output), ``run`` (the run).
"""

from analysis.ingest.manifest import IngestResult, read_manifest
from analysis.ingest.reasons import PRIORITY as REASON_PRIORITY
from analysis.ingest.run import ingest

__all__ = ["REASON_PRIORITY", "IngestResult", "ingest", "read_manifest"]
