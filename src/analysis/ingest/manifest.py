"""The ingest manifest and the result of an ingest run.

``<out>/manifest.json`` records what was read (files with checksums), how
(column map and stage config checksums), and what came out: per table the
rows in, clean and quarantined, with quarantine counts per reason code
(``"tables"``, where ``rows_in == rows_clean + rows_quarantined`` always), and
the tables derived rather than read (``"derived"``: the column they were built
from and their row count). Reports read it to say how much of the export they
rest on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import InputError
from analysis.core.fileio import sha256_file


def input_entry(table: str, path: Path) -> dict:
    """The manifest's record of one input file."""
    entry = {
        "table": table,
        "file": path.name,
        "sha256": sha256_file(path),
        "bytes": path.stat().st_size,
    }
    if path.is_symlink():  # a link inside the source folder: record what was read
        entry["resolved"] = str(path.resolve())
    return entry


def table_entry(rows_in: int, rows_clean: int, reasons: dict[str, int]) -> dict:
    """The manifest's counts for one table read from an input file.

    Raises
    ------
    RuntimeError
        When the rows do not reconcile (``rows_in`` must equal
        ``rows_clean + rows_quarantined``); that is a bug, never bad input.
    """
    quarantined = int(sum(reasons.values()))
    if rows_in != rows_clean + quarantined:
        raise RuntimeError(
            f"rows do not reconcile: {rows_in} in, {rows_clean} clean, {quarantined} quarantined."
        )
    return {
        c.ROWS_IN: int(rows_in),
        c.ROWS_CLEAN: int(rows_clean),
        c.ROWS_QUARANTINED: quarantined,
        c.QUARANTINE_REASONS: dict(reasons),
    }


def derived_entry(source_column: str, rows: int, note: str, **extra: object) -> dict:
    """The manifest's record of a table derived from another table's column.

    Derived tables have no input rows, so they are listed under
    ``"derived"``, never under ``"tables"`` (whose entries reconcile).
    """
    return {"from": source_column, "rows": int(rows), **extra, "note": note}


def now_utc() -> str:
    """The current time as an ISO 8601 UTC string (seconds)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class IngestResult:
    """What an ingest run wrote.

    Attributes
    ----------
    out_dir : Path
        The processed data folder.
    manifest : dict
        The manifest written to ``out_dir/manifest.json``.
    """

    out_dir: Path
    manifest: dict

    def to_frame(self) -> pd.DataFrame:
        """One row per table read or derived.

        Columns ``table, rows_in, rows_clean, rows_quarantined, rows_derived,
        derived``: a table read from a file has ``rows_derived`` missing; a
        derived table (``derived`` true) has only ``rows_derived``.
        """
        counts = (c.ROWS_IN, c.ROWS_CLEAN, c.ROWS_QUARANTINED)
        cols = ["table", *counts, "rows_derived", "derived"]
        rows = [
            {
                "table": name,
                **{key: info[key] for key in counts},
                "rows_derived": None,
                "derived": False,
            }
            for name, info in self.manifest["tables"].items()
        ]
        rows += [
            {"table": name, "rows_derived": info["rows"], "derived": True}
            for name, info in self.manifest.get("derived", {}).items()
        ]
        frame = pd.DataFrame(rows, columns=cols)
        return frame.astype({col: "Int64" for col in cols[1:5]} | {"derived": bool})

    def summary(self, top: int = 3) -> str:
        """A few human-readable lines: per table rows in/clean/quarantined and top reasons."""
        lines = [f"Ingested {self.manifest['source']} -> {self.out_dir}"]
        for name, info in self.manifest["tables"].items():
            line = (
                f"  {name}: {info[c.ROWS_IN]:,} in, {info[c.ROWS_CLEAN]:,} clean, "
                f"{info[c.ROWS_QUARANTINED]:,} quarantined"
            )
            reasons = list(info[c.QUARANTINE_REASONS].items())[:top]
            if reasons:
                line += " (" + ", ".join(f"{code} {n:,}" for code, n in reasons) + ")"
            lines.append(line)
        for name, info in self.manifest.get("derived", {}).items():
            lines.append(f"  {name}: {info['rows']:,} rows derived from {info['from']}")
        unknown = self.manifest.get("unknown_stages") or {}
        if unknown:
            listed = ", ".join(f"{k!r} ({n:,})" for k, n in list(unknown.items())[:10])
            lines.append(f"  stage labels no stage knows (quarantined): {listed}")
        if self.manifest.get("ignored_files"):
            lines.append("  ignored files: " + ", ".join(self.manifest["ignored_files"]))
        lines += [f"  warning: {w}" for w in self.manifest.get("warnings", [])]
        return "\n".join(lines)


def read_manifest(processed_dir: str | Path | None = None) -> dict:
    """Read the manifest of a processed data folder.

    Parameters
    ----------
    processed_dir : str or Path, optional
        Defaults to ``paths.PROCESSED_DIR``.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        When the folder has no manifest (ingest has not run there) or it is
        not valid JSON.
    """
    folder = Path(processed_dir) if processed_dir is not None else paths.PROCESSED_DIR
    path = folder / paths.MANIFEST_FILENAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            "no ingest manifest here; run `sales-workbench ingest` first.", file=path
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the manifest is not valid JSON ({exc.msg}).", file=path) from None
