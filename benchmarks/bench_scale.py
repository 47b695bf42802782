"""Benchmark: a scale ladder of the funnel and cycle tables, DuckDB and Spark local.

Issue 15, item 4. Builds with seeded numpy (the sample generator is too slow
at 100M), in chunks of 2.5M deals so memory stays flat, a processed folder of
canonical Parquet tables with about four stage events a deal (1M events =
250k deals):

* ``deals``: ``deal_id, created_at, closed_at, outcome, stage, amount,
  currency, segment, source, region``; created over two years, B2B or B2C;
* ``stage_events``: ``deal_id, stage, entered_at``: each deal enters the open
  stages in order up to its furthest one (a few skip a stage, a few move back
  to an earlier one afterwards), then ``won`` or ``lost`` unless still open.

Then, each in its own process (seconds and peak memory are that process's;
peak memory is the summed ``VmHWM`` of the process tree, Spark's JVM included), on
``analysis.connect(folder)`` (DuckDB with ``memory_limit`` and a spill
``temp_directory``) and ``analysis.connect(folder, backend="spark")`` (local):
``pipeline.stage_conversion(ws, by="segment", reach="observed")``,
``pipeline.stage_accounting(ws, by="segment", reach="observed")``,
``pipeline.time_in_stage(ws, by="segment")`` and
``pipeline.time_to_close(ws, by="segment")``, each timed on its own after
connecting. Each also runs as a DuckDB query written by hand (same memory
limit) giving the same counts; the parent checks that the library's counts
equal the hand query's, and that Spark's ``to_frame()`` equals DuckDB's
(``check_dtype=False, rtol=1e-9``).

Aims: each step within 1.5x of the hand query at 1M and 10M; DuckDB at 100M
within 12x its 10M time and under 6 GB; Spark equal to DuckDB.

Usage::

    .venv/bin/python benchmarks/bench_scale.py                          # 1M, 10M; both engines
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e8 --engines duckdb --keep /tmp/scale
    .venv/bin/python benchmarks/bench_scale.py --sizes 1e6 --steps stage_conversion

Record the figures in benchmarks/README.md with the machine they came from.
Not a test: timings belong here, not in the suite.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from analysis.core import columns as c
from analysis.core.stages import load_stages

STEPS = ("stage_conversion", "stage_accounting", "time_in_stage", "time_to_close")
ENGINES = ("duckdb", "spark")
OPEN_STAGES = list(load_stages().pipeline().stages)
N_OPEN = len(OPEN_STAGES)
WON, LOST = "won", "lost"
CHUNK_DEALS = 2_500_000
EVENTS_PER_DEAL = 4.0  # about; the exact count is what the data holds
START = "2024-07-01T00:00:00"
US_DAY = 86_400 * 1_000_000
MEMORY_LIMIT = "4GB"
SPILL = "/tmp/duck_spill"
SPARK_DRIVER_MEMORY = "8g"
TARGET_RATIO = 1.5
TARGET_GROWTH = 12.0
TARGET_MB = 6_000.0

# Furthest open stage reached (1..6), closed share and win chance by furthest stage.
FURTHEST_MIX = (0.2, 0.2, 0.2, 0.15, 0.1, 0.15)
CLOSED_SHARE = 0.85
SKIP_SHARE = 0.05  # one intermediate stage skipped
BACK_SHARE = 0.03  # one move back to an earlier stage after the furthest
TS = pa.timestamp("us", tz="UTC")

# argv = data folder, engine, step, output folder. Seconds after connecting; every
# query sent to the engine is timed too (instrumentation only).
LIBRARY = """
import json, os, sys, time
from pathlib import Path
import analysis
from analysis import pipeline
from analysis.engine.workspace import Workspace

calls = []
_execute = Workspace.execute
def _timed(self, expr):
    t = time.perf_counter()
    out = _execute(self, expr)
    calls.append(time.perf_counter() - t)
    return out
Workspace.execute = _timed

folder, engine, step, out = sys.argv[1], sys.argv[2], sys.argv[3], Path(sys.argv[4])
t0 = time.perf_counter()
ws = analysis.connect(folder, backend=engine)
if engine == "duckdb":
    ws.backend.raw_sql("SET enable_progress_bar = false")
    ws.backend.raw_sql("SET memory_limit = '__LIMIT__'")
    ws.backend.raw_sql("SET temp_directory = '__SPILL__'")
connect_s = time.perf_counter() - t0
n_connect = len(calls)
t = time.perf_counter()
if step == "stage_conversion":
    res = pipeline.stage_conversion(ws, by="segment", reach="observed")
elif step == "stage_accounting":
    res = pipeline.stage_accounting(ws, by="segment", reach="observed")
elif step == "time_in_stage":
    res = pipeline.time_in_stage(ws, by="segment")
else:
    res = pipeline.time_to_close(ws, by="segment")
seconds = time.perf_counter() - t
res.to_frame().to_pickle(out / "frame.pkl")
if hasattr(res, "durations"):
    res.durations.to_pickle(out / "durations.pkl")
q = calls[n_connect:]
(out / "timings.json").write_text(json.dumps({
    "seconds": seconds, "connect_s": connect_s, "queries": len(q),
    "query_seconds": [round(s, 3) for s in q]}))
""".replace("__LIMIT__", MEMORY_LIMIT).replace("__SPILL__", SPILL)

# The hand-written queries: DuckDB over read_parquet, observed reach, by segment.
_ORDER = (
    "CASE stage "
    + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(OPEN_STAGES))
    + f" WHEN '{WON}' THEN {N_OPEN} WHEN '{LOST}' THEN {N_OPEN} ELSE -1 END"
)
_NAME = "CASE ord " + " ".join(f"WHEN {i} THEN '{s}'" for i, s in enumerate(OPEN_STAGES)) + " END"
_LAST = N_OPEN - 1
_CUTOFF = "(SELECT cutoff FROM cut)"
HAND = {
    # Bench_funnel's query: stages entered as a bit mask and the furthest, one GROUP BY.
    "stage_conversion": f"""
        WITH per_deal AS (
            SELECT deal_id, bit_or(1 << ord) AS entered_mask, max(ord) AS furthest
            FROM (SELECT deal_id, {_ORDER} AS ord FROM events)
            WHERE ord BETWEEN 0 AND {_LAST}
            GROUP BY deal_id
        ), flags AS (
            SELECT d.segment, s.ord,
                   coalesce(d.outcome = '{WON}', false) OR p.furthest > s.ord AS later,
                   coalesce(d.outcome = '{LOST}', false) AS is_lost
            FROM per_deal p JOIN deals d USING (deal_id) CROSS JOIN range({N_OPEN}) s(ord)
            WHERE (p.entered_mask >> s.ord) & 1 = 1
        )
        SELECT segment, {_NAME} AS stage, count(*) AS entered,
               count(*) FILTER (WHERE later) AS advanced,
               count(*) FILTER (WHERE NOT later AND is_lost) AS lost,
               count(*) FILTER (WHERE NOT later AND NOT is_lost) AS open
        FROM flags GROUP BY segment, ord""",
    # Accounting needs the current stage and backward moves: one LEAD over the events,
    # then one GROUP BY deal_id (entries per stage packed in one integer, a moved-back mask).
    "stage_accounting": f"""
        WITH ev AS (
            SELECT deal_id, ord,
                   lead(ord) OVER w AS next_ord, lead(ord) OVER w IS NULL AS is_last
            FROM (SELECT deal_id, entered_at, {_ORDER} AS ord FROM events)
            WINDOW w AS (PARTITION BY deal_id ORDER BY entered_at ASC NULLS FIRST, ord)
        ), per_deal AS (
            SELECT deal_id,
                   -- entries per open stage, four bits a stage
                   sum(1::BIGINT << (4 * ord)) FILTER (WHERE ord BETWEEN 0 AND {_LAST}) AS n,
                   max(ord) FILTER (WHERE ord BETWEEN 0 AND {_LAST}) AS furthest,
                   max(ord) FILTER (WHERE is_last) AS cur,
                   bit_or(1 << ord) FILTER (WHERE ord BETWEEN 0 AND {_LAST}
                                           AND next_ord >= 0 AND next_ord < ord) AS back_mask
            FROM ev GROUP BY deal_id
        ), flags AS (
            SELECT d.segment, s.ord,
                   coalesce((p.n::BIGINT >> (4 * s.ord)) & 15, 0) AS entries,
                   entries > 0 AS has_entry,
                   coalesce(d.outcome = '{WON}', false)
                       OR coalesce(p.furthest, -1) > s.ord AS later,
                   coalesce(d.outcome = '{LOST}', false) AS is_lost,
                   coalesce(p.cur >= 0 AND p.cur < s.ord, false) AS back_now,
                   coalesce((p.back_mask >> s.ord) & 1 = 1, false) AS moved_back,
                   entries > 1 AS reentered
            FROM deals d LEFT JOIN per_deal p USING (deal_id) CROSS JOIN range({N_OPEN}) s(ord)
        )
        SELECT segment, {_NAME} AS stage,
               count(*) FILTER (WHERE has_entry) AS entered,
               count(*) FILTER (WHERE has_entry AND later) AS advanced,
               count(*) FILTER (WHERE has_entry AND NOT later AND is_lost) AS lost_here,
               count(*) FILTER (WHERE has_entry AND NOT later AND NOT is_lost AND back_now)
                   AS regressed,
               count(*) FILTER (WHERE has_entry AND NOT later AND NOT is_lost AND NOT back_now)
                   AS still_open,
               count(*) FILTER (WHERE NOT has_entry AND later) AS skipped,
               count(*) FILTER (WHERE has_entry AND reentered) AS reentered,
               count(*) FILTER (WHERE has_entry AND moved_back) AS moved_back
        FROM flags WHERE has_entry OR later GROUP BY segment, ord""",
    # Bench_funnel's stays: the next event's time; an open deal's last stay is censored.
    "time_in_stage": f"""
        WITH stays AS (
            SELECT deal_id, stage, ord, entered_at,
                   lead(entered_at) OVER (PARTITION BY deal_id
                                          ORDER BY entered_at ASC NULLS FIRST, ord) AS left_at
            FROM (SELECT deal_id, stage, entered_at, {_ORDER} AS ord FROM events)
        ), durations AS (
            SELECT d.segment, s.stage,
                   CAST(round((epoch(coalesce(s.left_at, CASE WHEN d.outcome = 'open'
                                THEN {_CUTOFF} ELSE d.closed_at END)) - epoch(s.entered_at))
                              / 864.0) AS BIGINT) AS hundredths,
                   CASE WHEN s.left_at IS NOT NULL OR d.outcome <> 'open' THEN 1 ELSE 0 END
                       AS event
            FROM stays s JOIN deals d USING (deal_id)
            WHERE s.ord BETWEEN 0 AND {_LAST}
        )
        SELECT segment, stage, hundredths / 100.0 AS days, event, count(*) AS count
        FROM durations WHERE hundredths >= 0 GROUP BY ALL""",
    "time_to_close": f"""
        WITH durations AS (
            SELECT segment,
                   CAST(round((epoch(CASE WHEN outcome = 'open' THEN {_CUTOFF} ELSE closed_at END)
                               - epoch(created_at)) / 864.0) AS BIGINT) AS hundredths,
                   CASE outcome WHEN '{WON}' THEN 1 WHEN '{LOST}' THEN 2 ELSE 0 END AS cause
            FROM deals
        )
        SELECT segment, hundredths / 100.0 AS days, cause, count(*) AS count
        FROM durations WHERE hundredths >= 0 GROUP BY ALL""",
}
NEEDS_CUTOFF = {"time_in_stage", "time_to_close"}

HAND_CHILD = """
import json, sys, time
from pathlib import Path
import duckdb

folder, step, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
query = json.loads(sys.argv[4])
t0 = time.perf_counter()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET memory_limit = '__LIMIT__'")
con.execute("SET temp_directory = '__SPILL__'")
con.execute(f"CREATE VIEW deals AS SELECT * FROM read_parquet('{folder / 'deals.parquet'}')")
con.execute(
    f"CREATE VIEW events AS SELECT * FROM read_parquet('{folder / 'stage_events.parquet'}')"
)
if query["cutoff"]:
    con.execute(
        "CREATE TEMP TABLE cut AS SELECT greatest((SELECT max(created_at) FROM deals),"
        " (SELECT max(closed_at) FROM deals WHERE outcome <> 'open'),"
        " (SELECT max(entered_at) FROM events)) AS cutoff"
    )
frame = con.execute(query["sql"]).df()
seconds = time.perf_counter() - t0
frame.to_pickle(out / "hand.pkl")
(out / "timings.json").write_text(json.dumps({"seconds": seconds}))
""".replace("__LIMIT__", MEMORY_LIMIT).replace("__SPILL__", SPILL)

# Counts compared between the library and the hand query: (table, keys, values).
COMPARED = {
    "stage_conversion": (
        "frame",
        ["segment", "stage"],
        [c.N_ENTERED, c.N_ADVANCED, c.N_LOST, c.N_OPEN],
    ),
    "stage_accounting": (
        "frame",
        ["segment", "stage"],
        [
            c.N_ENTERED,
            c.N_ADVANCED,
            c.N_LOST_HERE,
            c.N_REGRESSED,
            c.N_STILL_OPEN,
            c.N_SKIPPED,
            c.N_REENTERED,
            c.N_MOVED_BACK,
        ],
    ),
    "time_in_stage": ("durations", ["segment", "stage", "hundredths", "event"], ["count"]),
    "time_to_close": ("durations", ["segment", "hundredths", "cause"], ["count"]),
}


# --- data -----------------------------------------------------------------------------


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers as strings, built in Arrow (no Python strings)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _labels(values: tuple[str, ...] | list[str], codes: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, pa.string()), pa.array(codes))


def _chunk(rng: np.random.Generator, first: int, n: int) -> tuple[pa.Table, pa.Table]:
    """``n`` deals numbered from ``first`` with their stage events."""
    start = int(np.datetime64(START, "us").astype("int64"))
    # Whole seconds, as CRM exports (and the sample) give them: Spark's epoch_seconds()
    # drops the fraction of a second, so finer times would not compare across engines.
    created = start + (rng.random(n) * 730 * 86_400).astype("int64") * 1_000_000
    b2b = rng.random(n) < 0.4
    k = rng.choice(N_OPEN, n, p=FURTHEST_MIX) + 1  # open stages 0..k-1
    closed = rng.random(n) < CLOSED_SHARE
    won = closed & (rng.random(n) < 0.1 + 0.12 * k)
    # Columns 0..5 the open stages, 6 a move back, 7 won (6) or lost (7); -1 absent.
    width = N_OPEN + 2
    code = np.full((n, width), -1, dtype=np.int8)
    col = np.arange(N_OPEN)
    code[:, :N_OPEN] = np.where(col[None, :] < k[:, None], col[None, :], -1)
    skip = (rng.random(n) < SKIP_SHARE) & (k >= 3)
    gone = 1 + (rng.random(n) * np.maximum(k - 2, 1)).astype("int64")  # 1..k-2
    code[np.flatnonzero(skip), gone[skip]] = -1
    back = (rng.random(n) < BACK_SHARE) & (k >= 2)
    code[back, N_OPEN] = (rng.random(int(back.sum())) * (k[back] - 1)).astype(np.int8)
    code[closed, N_OPEN + 1] = np.where(won[closed], N_OPEN, N_OPEN + 1)
    # Times: the first entry at creation, then gamma gaps (whole seconds, at least one).
    scale = np.where(b2b, 9.0, 2.0)[:, None] * US_DAY
    gaps = ((rng.gamma(1.5, 1.0, (n, width)) * scale) // 1_000_000 + 1).astype("int64") * 1_000_000
    gaps[:, 0] = 0
    at = created[:, None] + np.cumsum(np.where(code >= 0, gaps, 0), axis=1)
    keep = code >= 0
    closed_at = np.where(closed, at[:, -1], 0)
    last_col = width - 1 - np.argmax(keep[:, ::-1], axis=1)
    current = code[np.arange(n), last_col]
    names = [*OPEN_STAGES, WON, LOST]
    deal_ids = _ids("D", np.arange(first, first + n), 9)
    outcome = np.where(won, 0, np.where(closed, 1, 2))
    deals = pa.table(
        {
            c.DEAL_ID: deal_ids,
            c.CREATED_AT: pa.array(created, pa.int64()).cast(TS),
            c.CLOSED_AT: pa.array(closed_at, pa.int64(), mask=~closed).cast(TS),
            c.OUTCOME: _labels((WON, LOST, "open"), outcome),
            c.STAGE: _labels(names, current.astype("int64")),
            c.AMOUNT: np.round(rng.lognormal(np.where(b2b, 10.0, 6.0), 0.6), 2),
            c.CURRENCY: _labels(("USD",), np.zeros(n, dtype="int64")),
            c.SEGMENT: _labels(("B2C", "B2B"), b2b.astype("int64")),
            c.SOURCE: _labels(("inbound", "outbound", "referral"), rng.integers(0, 3, n)),
            c.REGION: _labels(("North America", "EMEA", "APAC"), rng.integers(0, 3, n)),
        }
    )
    rows, cols = np.nonzero(keep)  # row-major: each deal's events in time order
    events = pa.table(
        {
            c.DEAL_ID: pc.take(deal_ids, pa.array(rows)),
            c.STAGE: _labels(names, code[rows, cols].astype("int64")),
            c.ENTERED_AT: pa.array(at[rows, cols], pa.int64()).cast(TS),
        }
    )
    return deals, events


def build(n_events: int, folder: Path, seed: int = 15) -> None:
    """Write ``deals.parquet`` and ``stage_events.parquet`` (about ``n_events`` events)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    n_deals = int(round(n_events / EVENTS_PER_DEAL))
    writers: dict[str, pq.ParquetWriter] = {}
    try:
        for first in range(0, n_deals, CHUNK_DEALS):
            for name, table in zip(
                (c.DEALS, c.STAGE_EVENTS),
                _chunk(rng, first, min(CHUNK_DEALS, n_deals - first)),
                strict=True,
            ):
                if name not in writers:
                    writers[name] = pq.ParquetWriter(folder / f"{name}.parquet", table.schema)
                writers[name].write_table(table, row_group_size=1_000_000)
    finally:
        for writer in writers.values():
            writer.close()


# --- measuring ------------------------------------------------------------------------


def _high_water(proc: psutil.Process) -> int:
    """A process's peak resident memory so far (``VmHWM``), in bytes; its RSS if unreadable."""
    try:
        for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return proc.memory_info().rss


def run_measured(code: str, *args: str) -> tuple[float, float]:
    """Run ``code`` in a child Python; (seconds, peak MB of its whole process tree).

    Every 0.1 s the peak resident memory (``VmHWM``) of the child and of each of
    its descendants is read and summed (Spark's JVM is a grandchild the child
    never waits for). Not ``wait4``'s ``ru_maxrss``: Linux carries the parent's
    high-water mark into a child at ``exec``, and this driver holds the data it
    generated, so that figure would be the driver's, not the step's.
    """
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    root = psutil.Process(proc.pid)
    peaks: dict[int, int] = {}
    while proc.poll() is None:
        try:
            for p in [root, *root.children(recursive=True)]:
                peaks[p.pid] = max(peaks.get(p.pid, 0), _high_water(p))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed: {args}")
    return seconds, sum(peaks.values()) / 2**20


def _load(path: Path, step: str, hand: bool) -> pd.DataFrame:
    """Counts of a library or hand table, keys sorted, durations as integer hundredths."""
    _, keys, values = COMPARED[step]
    df = pd.read_pickle(path)
    if "days" in df.columns:
        df["hundredths"] = (df.pop("days").astype(float) * 100).round().astype("Int64")
        df = df[df["hundredths"].notna()]  # the library keeps unusable durations aside
    for col in keys:
        df[col] = df[col].astype(str) if col in ("segment", "stage") else df[col].astype("int64")
    df = df[df[values].sum(axis=1) > 0]  # the library's skeleton adds zero rows
    out = df[[*keys, *values]].astype(dict.fromkeys(values, "int64"))
    return out.sort_values(keys).reset_index(drop=True)


def hand_differs(out: Path, step: str) -> str | None:
    """Compare the library's counts with the hand query's; a message when they differ."""
    table = COMPARED[step][0]
    lib, hand = _load(out / f"{table}.pkl", step, False), _load(out / "hand.pkl", step, True)
    try:
        pd.testing.assert_frame_equal(lib, hand, check_dtype=False)
    except AssertionError as err:
        return f"{step}: library and hand query differ: {str(err)[:400]}"
    return None


def spark_differs(duck: Path, spark: Path, step: str) -> str | None:
    """Spark's ``to_frame()`` against DuckDB's (and the duration tables, sorted)."""
    problems = []
    for name in ("frame", "durations"):
        if not (duck / f"{name}.pkl").exists():
            continue
        a, b = pd.read_pickle(duck / f"{name}.pkl"), pd.read_pickle(spark / f"{name}.pkl")
        if name == "durations":
            a = a.sort_values(list(a.columns)).reset_index(drop=True)
            b = b.sort_values(list(b.columns)).reset_index(drop=True)
        try:
            pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
        except AssertionError as err:
            problems.append(f"{step} {name}: spark differs from duckdb: {str(err)[:400]}")
    return "\n".join(problems) or None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e7])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    parser.add_argument("--steps", nargs="+", choices=STEPS, default=list(STEPS))
    parser.add_argument("--keep", type=Path, help="folder for the data, one sub-folder a size")
    parser.add_argument("--no-hand", action="store_true", help="skip the hand-written queries")
    parser.add_argument("--json", type=Path, help="append each result row to this JSON lines file")
    args = parser.parse_args()
    os.environ.setdefault("SPARK_MASTER", "local[2]")
    os.environ.setdefault(
        "PYSPARK_SUBMIT_ARGS",
        f"--driver-memory {SPARK_DRIVER_MEMORY} --conf spark.ui.showConsoleProgress=false pyspark-shell",
    )
    Path(SPILL).mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB, Python {platform.python_version()}; "
        f"DuckDB memory_limit {MEMORY_LIMIT}, spill {SPILL}; Spark {os.environ['SPARK_MASTER']}, "
        f"{os.environ['PYSPARK_SUBMIT_ARGS']}"
    )
    rows, problems = [], []
    with tempfile.TemporaryDirectory() as tmp:
        base = args.keep or Path(tmp) / "data"
        for size in args.sizes:
            n = int(size)
            data = base / f"events_{n}"
            if all((data / f"{t}.parquet").exists() for t in (c.DEALS, c.STAGE_EVENTS)):
                print(f"reusing {data}")
            else:
                t = time.perf_counter()
                build(n, data)
                print(f"generated {data} in {time.perf_counter() - t:.1f} s", flush=True)
            n_deals = pq.ParquetFile(data / f"{c.DEALS}.parquet").metadata.num_rows
            n_ev = pq.ParquetFile(data / f"{c.STAGE_EVENTS}.parquet").metadata.num_rows
            print(f"data: {n_deals:,} deals, {n_ev:,} stage events", flush=True)
            for step in args.steps:
                outs, hand_s = {}, None
                for engine in args.engines:
                    out = Path(tmp) / f"{n}_{step}_{engine}"
                    out.mkdir()
                    load = os.getloadavg()[0]
                    seconds, mb = run_measured(LIBRARY, str(data), engine, step, str(out))
                    timing = json.loads((out / "timings.json").read_text())
                    outs[engine] = out
                    row = {
                        "engine": engine,
                        "events": n_ev,
                        "deals": n_deals,
                        "step": step,
                        "seconds": timing["seconds"],
                        "process_s": seconds,
                        "peak_mb": mb,
                        "queries": timing["queries"],
                        "slowest_query_s": max(timing["query_seconds"], default=0.0),
                        "load": load,
                    }
                    if engine == "duckdb" and not args.no_hand:
                        spec = json.dumps({"sql": HAND[step], "cutoff": step in NEEDS_CUTOFF})
                        run_measured(HAND_CHILD, str(data), step, str(out), spec)
                        hand_s = json.loads((out / "timings.json").read_text())["seconds"]
                        (out / "timings.json").write_text(json.dumps(timing))
                        problem = hand_differs(out, step)
                        if problem:
                            problems.append(f"{n_ev:,} events: {problem}")
                    row["hand_s"] = hand_s
                    rows.append(row)
                    print(
                        f"  {engine:<6} {step:<17} {row['seconds']:8.2f} s "
                        f"(process {seconds:.1f} s) {mb:8,.0f} MB  queries {row['queries']} "
                        f"(slowest {row['slowest_query_s']:.2f} s)  hand "
                        + (f"{hand_s:.2f} s" if hand_s else "-")
                        + f"  load {load:.2f}",
                        flush=True,
                    )
                    if args.json:
                        with args.json.open("a") as fh:
                            fh.write(json.dumps(row) + "\n")
                if len(outs) == 2:
                    problem = spark_differs(outs["duckdb"], outs["spark"], step)
                    if problem:
                        problems.append(f"{n_ev:,} events: {problem}")
                for out in outs.values():
                    shutil.rmtree(out, ignore_errors=True)
    _report(rows, problems)


def _report(rows: list[dict], problems: list[str]) -> None:
    duck = {(r["events"], r["step"]): r["seconds"] for r in rows if r["engine"] == "duckdb"}
    print(
        f"\n{'engine':<7} {'events':>12} {'step':<17} {'seconds':>8} {'peak MB':>8} "
        f"{'hand s':>7} {'x hand':>7} {'x duckdb':>8} {'load':>5}"
    )
    for r in rows:
        hand = r["hand_s"]
        base = duck.get((r["events"], r["step"]))
        print(
            f"{r['engine']:<7} {r['events']:>12,} {r['step']:<17} {r['seconds']:>8.2f} "
            f"{r['peak_mb']:>8,.0f} "
            + (f"{hand:>7.2f} {r['seconds'] / hand:>7.2f} " if hand else f"{'-':>7} {'-':>7} ")
            + (
                f"{r['seconds'] / base:>8.2f} "
                if base and r["engine"] != "duckdb"
                else f"{'-':>8} "
            )
            + f"{r['load']:>5.2f}"
        )
    sizes = sorted({r["events"] for r in rows if r["engine"] == "duckdb"})
    for small, big in zip(sizes, sizes[1:], strict=False):
        for step in STEPS:
            if (small, step) in duck and (big, step) in duck:
                print(
                    f"duckdb {step}: {big / small:.1f}x the events, "
                    f"{duck[(big, step)] / duck[(small, step)]:.1f}x the seconds"
                )
    if problems:
        print("\nDISAGREEMENT:\n" + "\n\n".join(problems))
        raise SystemExit(1)
    checked = [
        *(["library counts = hand query counts"] if any(r["hand_s"] for r in rows) else []),
        *(
            ["Spark's tables = DuckDB's (rtol 1e-9)"]
            if {r["engine"] for r in rows} >= {*ENGINES}
            else []
        ),
    ]
    print("\nagreement: " + ("; ".join(checked) or "nothing compared in this run"))


if __name__ == "__main__":
    main()
