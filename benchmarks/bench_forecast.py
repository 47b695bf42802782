"""Benchmark: the pipeline as it stood, its waterfall and slippage on a large change history.

Generates the sample CRM (default 1M deals, about 13M deal changes) and
writes ``deals``, ``stage_events`` and ``deal_changes`` to Parquet; then, each
in its own process so that its peak resident memory is its own, times
``forecast.pipeline_as_of`` for one date, ``forecast.pipeline_waterfall`` over
one quarter, ``forecast.slippage`` by segment, ``forecast.forecast_window``
for Q2 2026 (10,000 simulations) and ``forecast.backtest_forecast`` over the
last 12 months (2,000 simulations each) on ``analysis.connect(folder)``
(DuckDB). Issue 14's aims on 1M deals with their history: ``pipeline_as_of``
for one date under 5 s, a 12-window backtest under 2 minutes, peak memory
under 3 GB.

Usage::

    .venv/bin/python benchmarks/bench_forecast.py                    # 1M deals
    .venv/bin/python benchmarks/bench_forecast.py --deals 100000
    .venv/bin/python benchmarks/bench_forecast.py --keep /tmp/forecast1m   # reuse the data

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
from pathlib import Path
from analysis.sample import generate_sample
crm = generate_sample(int(sys.argv[1]), seed=1)
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for name in ("deals", "stage_events", "deal_changes"):
    crm.tables[name].to_parquet(out / f"{name}.parquet", index=False)
"""

# argv = data folder, step name, timings file. Seconds after connecting, so imports and
# the workspace's own checks are not counted against the step.
STEP = """
import json, sys, time
import pandas as pd
import analysis
from analysis import forecast
folder, step, out = sys.argv[1], sys.argv[2], sys.argv[3]
ws = analysis.connect(folder)
start = pd.Timestamp("2026-04-01", tz="UTC")
end = pd.Timestamp("2026-07-01", tz="UTC")
t = time.perf_counter()
if step == "pipeline_as_of":
    rows = len(forecast.pipeline_as_of(ws, start).to_frame())
elif step == "pipeline_waterfall":
    rows = len(forecast.pipeline_waterfall(ws, start, end, by="segment").to_frame())
elif step == "forecast_window":
    rows = len(forecast.forecast_window(ws, start, end).deals)
elif step == "backtest_12_months":
    rows = len(forecast.backtest_forecast(ws, "month", windows=12).to_frame())
else:
    rows = len(forecast.slippage(ws).to_frame())
json.dump({"seconds": time.perf_counter() - t, "rows": rows}, open(out, "w"))
"""

STEPS = (
    "pipeline_as_of",
    "pipeline_waterfall",
    "slippage",
    "forecast_window",
    "backtest_12_months",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="data folder to reuse or keep")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_forecast_"))
    if not (folder / "deal_changes.parquet").exists():
        seconds, peak = run_in_child(GENERATE, str(args.deals), str(folder))
        print(f"generate: {seconds:.1f} s, peak {peak:,.0f} MB")
    import pyarrow.parquet as pq

    changes = pq.ParquetFile(folder / "deal_changes.parquet").metadata.num_rows
    deals = pq.ParquetFile(folder / "deals.parquet").metadata.num_rows
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"data: {deals:,} deals, {changes:,} deal changes")
    print("| step | seconds (step) | seconds (process) | peak MB | rows |")
    print("|---|---:|---:|---:|---:|")
    for step in STEPS:
        out = folder / f"{step}.json"
        seconds, peak = run_in_child(STEP, str(folder), step, str(out))
        timed = json.loads(out.read_text())
        print(
            f"| {step} | {timed['seconds']:.2f} | {seconds:.1f} | {peak:,.0f} | {timed['rows']:,} |"
        )


if __name__ == "__main__":
    main()
