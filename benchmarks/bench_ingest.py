"""Benchmark: generate and ingest the sample CRM at scale.

Prints, per size and export shape, the seconds, rows per second and peak
resident memory of (1) generating and writing the export and (2) ingesting
it from CSV. Each step runs in its own process so peak RSS is that step's
alone. Shapes: ``sample`` (the sample's own export, read with its column
map) and ``salesforce`` (the same CRM as a Salesforce Data Loader export,
read with ``--from salesforce``); the seconds per input row of the two are
compared (issue 12: the Salesforce path at most 1.5x the sample's).

Usage::

    .venv/bin/python benchmarks/bench_ingest.py            # 100k and 1M deals, both shapes
    .venv/bin/python benchmarks/bench_ingest.py --deals 100000 --shape salesforce

Record the figures in benchmarks/README.md with the machine they came from.
Not a test: timings belong here, not in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path

from child import run_in_child  # benchmarks/child.py, beside this script

GENERATE = """
import sys
from analysis.sample import generate_sample, write_sample
crm = generate_sample(n_deals=int(sys.argv[1]), seed=1)
write_sample(crm, sys.argv[2])
"""

INGEST = """
import sys
from analysis.core import paths
from analysis.ingest import ingest
ingest(sys.argv[1], sys.argv[2], map_path=paths.SAMPLE_MAP_FILE)
"""

GENERATE_SALESFORCE = """
import sys
from analysis.sample import generate_sample
from analysis.sample.crm_exports import write_salesforce
crm = generate_sample(n_deals=int(sys.argv[1]), seed=1)
write_salesforce(crm, sys.argv[2], seed=1)
"""

INGEST_SALESFORCE = """
import sys
from analysis.ingest import ingest
from analysis.sample.crm_exports.salesforce import TIMEZONE
ingest(sys.argv[1], sys.argv[2], vendor="salesforce", timezone=TIMEZONE)
"""

SHAPES = {"sample": (GENERATE, INGEST), "salesforce": (GENERATE_SALESFORCE, INGEST_SALESFORCE)}


def _rows(export: Path) -> dict[str, int]:
    """Data rows per table file of an export, as recorded in its ``truth.json``.

    A messy export records the rows of its files under ``messy.rows_written``
    (the canonical counts under ``rows`` leave out the planted bad rows); a clean
    export has only ``rows``. Without either, count lines, which over-counts
    tables whose quoted fields hold line breaks (feedback comments).
    """
    truth = json.loads((export / "truth.json").read_text(encoding="utf-8"))
    counts = truth.get("messy", {}).get("rows_written") or truth.get("rows") or {}
    if counts:
        return {k: int(v) for k, v in counts.items()}
    return {p.stem: sum(1 for _ in p.open("rb")) - 1 for p in export.glob("*.csv")}


def bench(n_deals: int, shape: str = "sample") -> dict[str, float]:
    generate, ingest = SHAPES[shape]
    with tempfile.TemporaryDirectory() as tmp:
        export, processed = Path(tmp) / "export", Path(tmp) / "processed"
        gen_s, gen_mb = run_in_child(generate, str(n_deals), str(export))
        ing_s, ing_mb = run_in_child(ingest, str(export), str(processed))
        manifest = json.loads((processed / "manifest.json").read_text())
        clean = {t: v["rows_clean"] for t, v in manifest["tables"].items()}
        # Input rows as ingest counted them (every row of every file it read).
        rows = {t: v["rows_in"] for t, v in manifest["tables"].items()}
        total_rows = sum(rows.values())
    return {
        "shape": shape,
        "deals": n_deals,
        "stage_events": rows.get("stage_events", 0),
        "rows_total": total_rows,
        "generate_s": gen_s,
        "generate_peak_mb": gen_mb,
        "ingest_s": ing_s,
        "ingest_rows_per_s": total_rows / ing_s,
        "ingest_us_per_row": 1e6 * ing_s / total_rows,
        "ingest_peak_mb": ing_mb,
        "deals_clean": clean.get("deals", 0),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    args = parser.parse_args()
    shapes = list(SHAPES) if args.shape == "all" else [args.shape]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    header = (
        f"{'shape':>10} {'deals':>10} {'events':>10} {'rows':>11} {'gen s':>7} {'gen MB':>7} "
        f"{'ingest s':>9} {'rows/s':>10} {'us/row':>7} {'ingest MB':>9}"
    )
    print(header)
    for n in args.deals:
        per_row = {}
        for shape in shapes:
            r = bench(n, shape)
            per_row[shape] = r["ingest_us_per_row"]
            print(
                f"{shape:>10} {r['deals']:>10,} {r['stage_events']:>10,} {r['rows_total']:>11,} "
                f"{r['generate_s']:>7.1f} {r['generate_peak_mb']:>7.0f} {r['ingest_s']:>9.1f} "
                f"{r['ingest_rows_per_s']:>10,.0f} {r['ingest_us_per_row']:>7.2f} "
                f"{r['ingest_peak_mb']:>9.0f}",
                flush=True,
            )
        if len(per_row) == 2:
            ratio = per_row["salesforce"] / per_row["sample"]
            print(f"{'':>10} salesforce / sample seconds per row: {ratio:.2f}x (aim <= 1.5x)")


if __name__ == "__main__":
    main()
