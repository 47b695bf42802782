"""Benchmark: funnel and cycle tables at 10M stage events, library vs hand SQL vs pandas.

Generates the sample CRM (default 2.75M deals, about 10M stage events) and
writes its canonical ``deals`` and ``stage_events`` tables straight to Parquet.
Then three implementations compute the same numbers, each in its own process
so that its peak resident memory is its own:

1. **library**: ``analysis.connect(folder)``, then
   ``funnel.stage_conversion(ws, by="segment", reach="observed")``,
   ``cycle.time_in_stage(ws, by="segment")`` and
   ``cycle.time_to_close(ws, by="segment")`` (statistics included);
2. **hand SQL**: DuckDB over ``read_parquet``, three queries written by hand;
3. **pandas**: ``sort_values`` by deal and time, ``groupby().shift``, ``groupby``.

Compared tables: per segment and stage the observed-reach counts ``entered,
advanced, lost, open``; the time-in-stage table ``(segment, stage, days, event,
count)``; the time-to-close table ``(segment, days, cause, count)``. Counts must
agree exactly and durations to the library's 0.01-day rounding.

Usage::

    .venv/bin/python benchmarks/bench_funnel.py                       # 2.75M deals
    .venv/bin/python benchmarks/bench_funnel.py --deals 300000
    .venv/bin/python benchmarks/bench_funnel.py --keep /tmp/funnel10m  # reuse the data

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

import pandas as pd
from child import run_in_child  # benchmarks/child.py, beside this script

from analysis.core.stages import load_stages

# The hand-written versions take the open stages from config/stages.yaml, as the library does.
OPEN_STAGES = load_stages().pipeline().stages

GENERATE = """
import sys
from pathlib import Path
from analysis.sample import generate_sample
crm = generate_sample(int(sys.argv[1]), seed=1)
out = Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
for name in ("deals", "stage_events"):
    crm.tables[name].to_parquet(out / f"{name}.parquet", index=False)
"""

# Each child: argv = data folder, output folder. It writes conversion.parquet,
# stage.parquet, close.parquet and timings.json (seconds after imports).
LIBRARY = """
import json, sys, time
from pathlib import Path
import analysis
from analysis.pipeline import cycle
from analysis.pipeline import funnel
from analysis.engine.workspace import Workspace

# Instrumentation only: time every query the library sends to the engine.
calls = []
_execute = Workspace.execute
def _timed(self, expr):
    t = time.perf_counter()
    out = _execute(self, expr)
    calls.append(time.perf_counter() - t)
    return out
Workspace.execute = _timed

folder, out = sys.argv[1], Path(sys.argv[2])
t0 = time.perf_counter()
ws = analysis.connect(folder)
ws.backend.raw_sql("SET enable_progress_bar = false")  # quiet output only
parts = {}
t = time.perf_counter()
conv = funnel.stage_conversion(ws, by="segment", reach="observed")
parts["stage_conversion"] = (time.perf_counter() - t, sum(calls), len(calls))
n, q = len(calls), sum(calls)
t = time.perf_counter()
stay = cycle.time_in_stage(ws, by="segment")
parts["time_in_stage"] = (time.perf_counter() - t, sum(calls) - q, len(calls) - n)
n, q = len(calls), sum(calls)
t = time.perf_counter()
close = cycle.time_to_close(ws, by="segment")
parts["time_to_close"] = (time.perf_counter() - t, sum(calls) - q, len(calls) - n)
total = time.perf_counter() - t0
conv.to_frame()[["segment", "stage", "entered", "advanced", "lost", "open"]].to_parquet(
    out / "conversion.parquet")
stay.durations.to_parquet(out / "stage.parquet")
close.durations.to_parquet(out / "close.parquet")
(out / "timings.json").write_text(json.dumps({"compute_s": total, "parts": parts}))
"""

SQL = """
import json, sys, time
from pathlib import Path
import duckdb

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
STAGES = __STAGES__
ORDER = "CASE stage " + " ".join(
    f"WHEN '{s}' THEN {i}" for i, s in enumerate(STAGES)
) + f" WHEN 'won' THEN {len(STAGES)} WHEN 'lost' THEN {len(STAGES)} ELSE -1 END"
NAME = "CASE ord " + " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(STAGES)) + " END"
LAST = len(STAGES) - 1

t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"CREATE VIEW deals AS SELECT * FROM read_parquet('{folder / 'deals.parquet'}')")
con.execute(
    f"CREATE VIEW events AS SELECT * FROM read_parquet('{folder / 'stage_events.parquet'}')"
)
con.execute(
    "CREATE TEMP TABLE cut AS SELECT greatest((SELECT max(created_at) FROM deals),"
    " (SELECT max(closed_at) FROM deals), (SELECT max(entered_at) FROM events)) AS cutoff"
)
CUTOFF = "(SELECT cutoff FROM cut)"

# Observed reach: a deal entered stage s if it has an event for s; it advanced if it
# won or has an event at a later open stage; it was lost at s if s is its furthest
# open stage and it lost; otherwise it is still open at s. One pass per deal: the
# stages entered as a bit mask and the furthest one.
conversion = con.execute(f'''
    WITH per_deal AS (
        SELECT deal_id, bit_or(1 << ord) AS entered_mask, max(ord) AS furthest
        FROM (SELECT deal_id, {ORDER} AS ord FROM events)
        WHERE ord BETWEEN 0 AND {LAST}
        GROUP BY deal_id
    ), flags AS (
        SELECT d.segment, s.ord,
               coalesce(d.outcome = 'won', false) OR p.furthest > s.ord AS later,
               coalesce(d.outcome = 'lost', false) AS is_lost
        FROM per_deal p JOIN deals d USING (deal_id) CROSS JOIN range({LAST + 1}) s(ord)
        WHERE (p.entered_mask >> s.ord) & 1 = 1
    )
    SELECT segment, {NAME} AS stage, count(*) AS entered,
           count(*) FILTER (WHERE later) AS advanced,
           count(*) FILTER (WHERE NOT later AND is_lost) AS lost,
           count(*) FILTER (WHERE NOT later AND NOT is_lost) AS open
    FROM flags GROUP BY segment, ord
''').df()

# Stays: each event with the next event's time; an open deal's last stay is
# censored at the cutoff, a closed deal's last stay ends at closed_at.
stage = con.execute(f'''
    WITH stays AS (
        SELECT deal_id, stage, ord, entered_at,
               lead(entered_at) OVER (PARTITION BY deal_id
                                      ORDER BY entered_at ASC NULLS FIRST, ord) AS left_at
        FROM (SELECT deal_id, stage, entered_at, {ORDER} AS ord FROM events)
    ), durations AS (
        SELECT d.segment, s.stage,
               CAST(round((epoch(coalesce(s.left_at, CASE WHEN d.outcome = 'open'
                            THEN {CUTOFF} ELSE d.closed_at END)) - epoch(s.entered_at))
                          / 864.0) AS BIGINT) AS hundredths,
               CASE WHEN s.left_at IS NOT NULL OR d.outcome <> 'open' THEN 1 ELSE 0 END AS event
        FROM stays s JOIN deals d USING (deal_id)
        WHERE s.ord BETWEEN 0 AND {LAST}
    )
    SELECT segment, stage, hundredths / 100.0 AS days, event, count(*) AS count
    FROM durations WHERE hundredths >= 0 GROUP BY ALL
''').df()

close = con.execute(f'''
    WITH durations AS (
        SELECT segment,
               CAST(round((epoch(CASE WHEN outcome = 'open' THEN {CUTOFF} ELSE closed_at END)
                           - epoch(created_at)) / 864.0) AS BIGINT) AS hundredths,
               CASE outcome WHEN 'won' THEN 1 WHEN 'lost' THEN 2 ELSE 0 END AS cause
        FROM deals
    )
    SELECT segment, hundredths / 100.0 AS days, cause, count(*) AS count
    FROM durations WHERE hundredths >= 0 GROUP BY ALL
''').df()
total = time.perf_counter() - t0
conversion.to_parquet(out / "conversion.parquet")
stage.to_parquet(out / "stage.parquet")
close.to_parquet(out / "close.parquet")
(out / "timings.json").write_text(json.dumps({"compute_s": total}))
""".replace("__STAGES__", repr(OPEN_STAGES))

PANDAS = """
import json, sys, time
from pathlib import Path
import numpy as np
import pandas as pd

from analysis.core.stages import load_stages

folder, out = Path(sys.argv[1]), Path(sys.argv[2])
STAGES = __STAGES__
ORDER = {s: i for i, s in enumerate(STAGES)} | {"won": len(STAGES), "lost": len(STAGES)}


def hundredths(seconds):
    # DuckDB's round(): half away from zero (numpy's rint rounds half to even).
    x = seconds / 864.0
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype("Int64")


t0 = time.perf_counter()
deals = pd.read_parquet(folder / "deals.parquet",
                        columns=["deal_id", "segment", "outcome", "created_at", "closed_at"])
ev = pd.read_parquet(folder / "stage_events.parquet", columns=["deal_id", "stage", "entered_at"])
ev["ord"] = ev["stage"].map(ORDER).fillna(-1).astype("int64")
cutoff = max(deals["created_at"].max(), deals["closed_at"].max(), ev["entered_at"].max())
is_open_stage = ev["ord"].between(0, len(STAGES) - 1)

# Conversion (observed reach).
reach = ev.loc[is_open_stage, ["deal_id", "ord"]].drop_duplicates()
reach["furthest"] = reach.groupby("deal_id")["ord"].transform("max")
reach = reach.merge(deals[["deal_id", "segment", "outcome"]], on="deal_id")
later = (reach["outcome"] == "won").fillna(False) | (reach["furthest"] > reach["ord"])
lost = ~later & (reach["outcome"] == "lost").fillna(False)
reach = reach.assign(advanced=later.astype("int64"), lost=lost.astype("int64"),
                     open=(~later & ~lost).astype("int64"))
conversion = reach.groupby(["segment", "ord"], as_index=False).agg(
    entered=("deal_id", "size"), advanced=("advanced", "sum"), lost=("lost", "sum"),
    open=("open", "sum"))
conversion["stage"] = conversion["ord"].map(dict(enumerate(STAGES)))
conversion = conversion.drop(columns="ord")

# Time in stage.
ev = ev.sort_values(["deal_id", "entered_at", "ord"], na_position="first")
ev["left_at"] = ev.groupby("deal_id", sort=False)["entered_at"].shift(-1)
stays = ev[ev["ord"].between(0, len(STAGES) - 1)].merge(
    deals[["deal_id", "segment", "outcome", "closed_at"]], on="deal_id")
is_open = stays["outcome"] == "open"
end = stays["left_at"].fillna(stays["closed_at"].mask(is_open, cutoff))
stays["hundredths"] = hundredths((end - stays["entered_at"]).dt.total_seconds())
stays["event"] = (stays["left_at"].notna() | ~is_open).astype("int64")
stays = stays[stays["hundredths"] >= 0]
stage = stays.groupby(["segment", "stage", "hundredths", "event"]).size().reset_index(name="count")
stage["days"] = stage.pop("hundredths").astype("int64") / 100.0

# Time to close.
end = deals["closed_at"].mask(deals["outcome"] == "open", cutoff)
deals["hundredths"] = hundredths((end - deals["created_at"]).dt.total_seconds())
deals["cause"] = deals["outcome"].map({"won": 1, "lost": 2}).fillna(0).astype("int64")
d = deals[deals["hundredths"] >= 0]
close = d.groupby(["segment", "hundredths", "cause"]).size().reset_index(name="count")
close["days"] = close.pop("hundredths").astype("int64") / 100.0
total = time.perf_counter() - t0
conversion.to_parquet(out / "conversion.parquet")
stage.to_parquet(out / "stage.parquet")
close.to_parquet(out / "close.parquet")
(out / "timings.json").write_text(json.dumps({"compute_s": total}))
""".replace("__STAGES__", repr(OPEN_STAGES))

IMPLEMENTATIONS = {"library": LIBRARY, "hand SQL": SQL, "pandas": PANDAS}
KEYS = {
    "conversion": ["segment", "stage"],
    "stage": ["segment", "stage", "hundredths", "event"],
    "close": ["segment", "hundredths", "cause"],
}
VALUES = {
    "conversion": ["entered", "advanced", "lost", "open"],
    "stage": ["count"],
    "close": ["count"],
}


def _load(folder: Path, name: str) -> pd.DataFrame:
    """A result table with durations as integer hundredths of a day, keys sorted."""
    df = pd.read_parquet(folder / f"{name}.parquet")
    if "days" in df.columns:
        df["hundredths"] = (df.pop("days").astype(float) * 100).round().astype("int64")
    for col in KEYS[name]:
        df[col] = df[col].astype(str) if col in ("segment", "stage") else df[col].astype("int64")
    df = df[df[VALUES[name]].sum(axis=1) > 0]  # the library's skeleton adds zero rows
    cols = [*KEYS[name], *VALUES[name]]
    return df[cols].astype({v: "int64" for v in VALUES[name]}).sort_values(KEYS[name])


def agree(outputs: dict[str, Path]) -> list[str]:
    """Compare every implementation's tables with the library's; return the differences."""
    problems = []
    base = "library"
    for name in KEYS:
        ref = _load(outputs[base], name)
        for impl, folder in outputs.items():
            if impl == base:
                continue
            other = _load(folder, name)
            merged = ref.merge(
                other, on=KEYS[name], how="outer", suffixes=("", "_o"), indicator=True
            )
            only = merged["_merge"] != "both"
            diff = pd.Series(False, index=merged.index)
            for v in VALUES[name]:
                diff |= merged[v].fillna(-1) != merged[f"{v}_o"].fillna(-1)
            if only.any() or diff.any():
                problems.append(
                    f"{name}: {impl} differs from {base} in {int((only | diff).sum())} of "
                    f"{len(merged)} rows, e.g.\n{merged[only | diff].head(5).to_string()}"
                )
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2_750_000)
    parser.add_argument(
        "--keep", type=Path, help="data folder to reuse (generated there if it holds no data)"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        data = args.keep or Path(tmp) / "data"
        have = all((data / f"{t}.parquet").exists() for t in ("deals", "stage_events"))
        if have:
            print(f"reusing {data} (--deals ignored)")
        else:
            gen_s, gen_mb = run_in_child(GENERATE, str(args.deals), str(data))
            print(f"generated {args.deals:,} deals in {gen_s:.1f} s, peak {gen_mb:,.0f} MB")
        import pyarrow.parquet as pq

        n_deals = pq.ParquetFile(data / "deals.parquet").metadata.num_rows
        n_events = pq.ParquetFile(data / "stage_events.parquet").metadata.num_rows
        print(f"data: {n_deals:,} deals, {n_events:,} stage events")
        results, outputs = {}, {}
        for impl, code in IMPLEMENTATIONS.items():
            out = Path(tmp) / impl.replace(" ", "_")
            out.mkdir()
            seconds, mb = run_in_child(code, str(data), str(out))
            timings = json.loads((out / "timings.json").read_text())
            results[impl] = (seconds, timings["compute_s"], mb, timings.get("parts"))
            outputs[impl] = out
            print(f"  {impl}: {seconds:.1f} s, peak {mb:,.0f} MB", flush=True)
        problems = agree(outputs)

    sql_s, sql_compute = results["hand SQL"][0], results["hand SQL"][1]
    print()
    print(
        f"{'implementation':<15} {'seconds':>8} {'compute s':>10} {'peak MB':>8} "
        f"{'x SQL':>6} {'x SQL (compute)':>16}"
    )
    for impl, (seconds, compute, mb, _) in results.items():
        print(
            f"{impl:<15} {seconds:>8.1f} {compute:>10.1f} {mb:>8,.0f} "
            f"{seconds / sql_s:>6.2f} {compute / sql_compute:>16.2f}"
        )
    print("\n(seconds: whole child process, imports included; compute: after imports)")
    parts = results["library"][3] or {}
    print("\nlibrary by call:   total s   in engine s   queries")
    for name, (total, engine, n) in parts.items():
        print(f"  {name:<17} {total:>7.1f} {engine:>13.1f} {n:>9}")
    if problems:
        print("\nDISAGREEMENT:\n" + "\n\n".join(problems))
        raise SystemExit(1)
    print(
        "\nagreement: library, hand SQL and pandas give identical conversion counts, "
        "time-in-stage and time-to-close (days, event/cause, count) tables"
    )


if __name__ == "__main__":
    main()
