"""The ingest manifest and the result of an ingest run.

``<out>/manifest.json`` records what was read (files with checksums), how
(column map and stage config checksums), and what came out: per table the
rows in, clean and quarantined, with quarantine counts per reason code, and
which tables were derived rather than read. Reports read it to say how much
of the export they rest on.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from analysis import config
from analysis.errors import InputError

_CHUNK = 1 << 20


def file_sha256(path: str | Path) -> str:
    """SHA-256 hex digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for block in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def input_entry(table: str, path: Path) -> dict:
    """The manifest's record of one input file."""
    return {
        "table": table,
        "file": path.name,
        "sha256": file_sha256(path),
        "bytes": path.stat().st_size,
    }


def table_entry(
    rows_in: int, rows_clean: int, reasons: dict[str, int], *, derived: bool = False
) -> dict:
    """The manifest's counts for one table.

    Raises
    ------
    RuntimeError
        When an input table's rows do not reconcile (``rows_in`` must equal
        ``rows_clean + rows_quarantined``); that is a bug, never bad input.
    """
    quarantined = int(sum(reasons.values()))
    if not derived and rows_in != rows_clean + quarantined:
        raise RuntimeError(
            f"rows do not reconcile: {rows_in} in, {rows_clean} clean, {quarantined} quarantined."
        )
    entry = {
        "rows_in": int(rows_in),
        "rows_clean": int(rows_clean),
        "rows_quarantined": quarantined,
        "quarantine_reasons": dict(reasons),
    }
    if derived:
        entry["derived"] = True
    return entry


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
        """One row per table: ``table, rows_in, rows_clean, rows_quarantined, derived``."""
        rows = [
            {
                "table": name,
                "rows_in": info["rows_in"],
                "rows_clean": info["rows_clean"],
                "rows_quarantined": info["rows_quarantined"],
                "derived": bool(info.get("derived", False)),
            }
            for name, info in self.manifest["tables"].items()
        ]
        cols = ["table", "rows_in", "rows_clean", "rows_quarantined", "derived"]
        return pd.DataFrame(rows, columns=cols)

    def summary(self, top: int = 3) -> str:
        """A few human-readable lines: per table rows in/clean/quarantined and top reasons."""
        lines = [f"Ingested {self.manifest['source']} -> {self.out_dir}"]
        for name, info in self.manifest["tables"].items():
            if info.get("derived"):
                lines.append(f"  {name}: {info['rows_clean']:,} rows derived (no input rows)")
                continue
            line = (
                f"  {name}: {info['rows_in']:,} in, {info['rows_clean']:,} clean, "
                f"{info['rows_quarantined']:,} quarantined"
            )
            reasons = list(info["quarantine_reasons"].items())[:top]
            if reasons:
                line += " (" + ", ".join(f"{code} {n:,}" for code, n in reasons) + ")"
            lines.append(line)
        if self.manifest.get("ignored_files"):
            lines.append("  ignored files: " + ", ".join(self.manifest["ignored_files"]))
        return "\n".join(lines)


def read_manifest(processed_dir: str | Path | None = None) -> dict:
    """Read the manifest of a processed data folder.

    Parameters
    ----------
    processed_dir : str or Path, optional
        Defaults to ``config.PROCESSED_DIR``.

    Returns
    -------
    dict

    Raises
    ------
    InputError
        When the folder has no manifest (ingest has not run there) or it is
        not valid JSON.
    """
    folder = Path(processed_dir) if processed_dir is not None else config.PROCESSED_DIR
    path = folder / config.MANIFEST_FILENAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            "no ingest manifest here; run `sales-workbench ingest` first.", file=path
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"the manifest is not valid JSON ({exc.msg}).", file=path) from None
