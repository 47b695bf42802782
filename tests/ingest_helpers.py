"""Small export folders for the ingest tests (written by hand, so every value is known)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd

from analysis.core import paths

DEALS_HEADER = "deal_id,created_at,outcome,amount,segment,closed_at,stage,owner_id"
DEALS_ROWS = [
    "D1,2024-01-05,won,1000,B2B,2024-02-01,won,R1",
    "D2,2024-01-06,lost,2500.5,B2C,2024-03-01,lost,R2",
    "D3,2024-01-07,open,,B2B,,proposal,R1",
    "D4,2024-01-08,open,300,B2C,,prospecting,R2",
]
EVENTS_HEADER = "deal_id,stage,entered_at"
EVENTS_ROWS = [
    "D1,prospecting,2024-01-05",
    "D1,qualification,2024-01-10",
    "D1,won,2024-02-01",
    "D2,prospecting,2024-01-06",
    "D2,lost,2024-03-01",
    "D3,prospecting,2024-01-07",
    "D3,proposal,2024-01-20",
    "D4,prospecting,2024-01-08",
]


def write_csv(
    folder: Path, name: str, header: str, rows: list[str], encoding: str = "utf-8"
) -> Path:
    """Write ``header`` and ``rows`` as a CSV file ``folder/name`` and return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(("\n".join([header, *rows]) + "\n").encode(encoding))
    return path


def clean_export(folder: Path, *, events: bool = True) -> Path:
    """A small valid export with canonical names: deals (and stage_events)."""
    write_csv(folder, "deals.csv", DEALS_HEADER, DEALS_ROWS)
    if events:
        write_csv(folder, "stage_events.csv", EVENTS_HEADER, EVENTS_ROWS)
    return folder


def tree_digest(folder: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``folder`` (for 'nothing changed')."""
    if not folder.exists():
        return {}
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def read_quarantine(out: Path, table: str) -> pd.DataFrame:
    """The quarantine of ``table`` (an empty frame when none was written)."""
    path = out / paths.QUARANTINE_DIRNAME / f"{table}.parquet"
    return pd.read_parquet(path) if path.exists() else pd.DataFrame()
