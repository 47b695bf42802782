"""Benchmark: repeat-purchase and revenue-retention tables at 10M orders.

Builds, with seeded numpy (the sample generator is too slow at this size), a
processed folder of canonical Parquet tables:

* ``deals``: one won B2C deal per customer (a third of ``--orders``: 3.3M at
  10M orders) and won B2B deals, one per account (3% of ``--orders``: 300k),
  closed over the two (B2C) or three (B2B) years before the cut-off;
* ``orders``: exactly ``--orders`` rows: each B2C customer's first order at
  its deal's close (naming the deal), then repeat orders (35% never return;
  the others order as a Poisson process with a gamma-distributed rate) up to
  the cut-off, ``deal_id`` null;
* ``subscriptions``: per B2B account a "new" change at the deal's close
  (discount 0, 10, 20 or 30%), then per month a churn, expansion or
  contraction draw and a renewal every 12 months (about 7 rows an account).

Then, each in its own process so that its peak resident memory is its own,
times on ``analysis.connect(folder)`` (DuckDB) ``after_close.repeat_purchase``
(overall and by channel), ``after_close.revenue_retention`` (overall and by
region) and, for information, ``after_close.value_after_sale`` and
``after_close.customer_value``, all ``as_of`` the cut-off. Issue 17's aim on
10M orders: the retention and repeat-purchase tables under 30 s each, peak
memory under 3 GB.

Usage::

    .venv/bin/python benchmarks/bench_after_close.py                   # 10M orders
    .venv/bin/python benchmarks/bench_after_close.py --orders 200000   # a quick check
    .venv/bin/python benchmarks/bench_after_close.py --keep /tmp/after10m   # reuse the data

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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from child import run_in_child  # benchmarks/child.py, beside this script

from analysis.core import columns as c

CUTOFF = "2026-07-01T00:00:00+00:00"
TARGET_SECONDS = 30.0
TARGET_MB = 3_000.0
TIMED = ("repeat_purchase", "repeat_by_channel", "revenue_retention", "retention_by_region")
STEPS = (*TIMED, "value_after_sale", "customer_value")

B2C_SHARE = 0.33  # B2C customers (won deals) per order
B2B_SHARE = 0.03  # B2B accounts (won deals) per order
CHANNELS = ("inbound", "outbound", "referral", "paid", "events")
CHANNEL_MIX = (0.28, 0.32, 0.15, 0.10, 0.15)
REGIONS = ("North America", "EMEA", "APAC", "LATAM")
REGION_MIX = (0.4, 0.3, 0.2, 0.1)
PRODUCTS = ("starter", "standard", "premium")
DISCOUNTS = (0.0, 0.1, 0.2, 0.3)
DISCOUNT_MIX = (0.4, 0.3, 0.2, 0.1)
NEVER_RETURN = 0.35
REPEAT_PER_DAY = 1.0 / 120.0  # mean rate of a returning customer (gamma, shape 2)
CHURN, DEEP_CHURN = 0.02, 0.04  # per month; DEEP_CHURN at a discount of 20% or more
EXPANSION = (0.20, 0.30, 0.20, 0.20)  # per month, by region
CONTRACTION = 0.12  # per month
US_DAY = 86_400 * 1_000_000
US_MONTH = int(365.0 / 12.0 * US_DAY)

TS = pa.timestamp("us", tz="UTC")
TEXT = pa.large_string()

# argv = data folder, step name, timings file. Seconds after connecting, so imports and
# the workspace's own checks are not counted against the step. Every query sent to the
# engine is timed too (instrumentation only), to say where a step's time goes.
STEP = """
import json, sys, time
import analysis
from analysis import after_close
from analysis.engine.workspace import Workspace

calls = []
_execute = Workspace.execute
def _timed(self, expr):
    t = time.perf_counter()
    out = _execute(self, expr)
    calls.append(time.perf_counter() - t)
    return out
Workspace.execute = _timed

folder, step, out, cutoff = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ws = analysis.connect(folder)
ws.backend.raw_sql("SET enable_progress_bar = false")  # quiet output only
t = time.perf_counter()
if step == "repeat_purchase":
    rows = len(after_close.repeat_purchase(ws, as_of=cutoff).to_frame())
elif step == "repeat_by_channel":
    rows = len(after_close.repeat_purchase(ws, by="channel", as_of=cutoff).to_frame())
elif step == "revenue_retention":
    rows = len(after_close.revenue_retention(ws, as_of=cutoff).to_frame())
elif step == "retention_by_region":
    rows = len(after_close.revenue_retention(ws, by="region", as_of=cutoff).to_frame())
elif step == "value_after_sale":
    rows = len(after_close.value_after_sale(ws, as_of=cutoff).to_frame())
else:
    rows = len(after_close.customer_value(ws, as_of=cutoff).to_frame())
seconds = time.perf_counter() - t
json.dump({"seconds": seconds, "rows": rows, "queries": len(calls),
           "query_seconds": [round(s, 3) for s in calls]}, open(out, "w"))
"""


def _ids(prefix: str, numbers: np.ndarray, width: int) -> pa.Array:
    """``prefix`` + zero-padded numbers as large strings, built in Arrow (no Python strings)."""
    digits = pc.utf8_lpad(pc.cast(pa.array(numbers), pa.string()), width=width, padding="0")
    return pc.cast(pc.binary_join_element_wise(prefix, digits, ""), TEXT)


def _labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    return pc.take(pa.array(values, TEXT), pa.array(codes))


def _times(us: np.ndarray) -> pa.Array:
    return pa.array(us.astype("int64"), pa.int64()).cast(TS)


def build(n_orders: int, folder: str | Path, seed: int = 17) -> None:
    """Write ``deals``, ``orders`` and ``subscriptions`` Parquet files into ``folder``."""
    rng = np.random.default_rng(seed)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    cut = int(np.datetime64(CUTOFF[:19], "us").astype("int64"))
    n_c = int(round(n_orders * B2C_SHARE))
    n_b = int(round(n_orders * B2B_SHARE))
    n = n_c + n_b
    b2b = np.arange(n) >= n_c

    # Deals: B2C closed over the two years before the cut-off, B2B over three.
    span = np.where(b2b, 3 * 365, 2 * 365) * US_DAY
    closed = cut - 1 - (rng.random(n) * span).astype("int64")
    cycle = (rng.gamma(2.0, np.where(b2b, 30.0, 5.0)) * US_DAY).astype("int64")
    amount = np.round(
        np.where(b2b, rng.lognormal(np.log(24_000), 0.6, n), rng.lognormal(np.log(150), 0.5, n)),
        2,
    )
    channel = rng.choice(len(CHANNELS), n, p=CHANNEL_MIX)
    region = rng.choice(len(REGIONS), n, p=REGION_MIX)
    deal_ids = _ids("D", np.arange(n), 9)
    account = pc.if_else(pa.array(b2b), _ids("A", np.arange(n), 9), pa.nulls(n, TEXT))
    deals = pa.table(
        {
            c.DEAL_ID: deal_ids,
            c.CREATED_AT: _times(closed - cycle),
            c.CLOSED_AT: _times(closed),
            c.OUTCOME: _labels((c.WON,), np.zeros(n, dtype="int64")),
            c.AMOUNT: amount,
            c.AMOUNT_ORIGINAL: amount,
            c.CURRENCY: _labels(("USD",), np.zeros(n, dtype="int64")),
            c.SOURCE: _labels(CHANNELS, channel),
            c.OWNER_ID: _ids("R", rng.integers(0, 50, n), 3),
            c.SEGMENT: _labels(("B2C", "B2B"), b2b.astype("int64")),
            c.REGION: _labels(REGIONS, region),
            c.ACCOUNT_ID: account,
            c.PRODUCT: _labels(PRODUCTS, rng.integers(0, len(PRODUCTS), n)),
        }
    )
    pq.write_table(deals, out / f"{c.DEALS}.parquet")
    del deals, account

    # Orders: the first at the close; repeats uniform over (close, cut-off) given their
    # Poisson count, rates scaled so that a little more than the target is drawn, the
    # surplus dropped at random so that there are exactly n_orders rows.
    watched = (cut - closed[:n_c]).astype("float64")
    rate = rng.gamma(2.0, REPEAT_PER_DAY / 2.0, n_c) / US_DAY
    rate[rng.random(n_c) < NEVER_RETURN] = 0.0
    want = n_orders - n_c
    scale = 1.02 * want / max(float((rate * watched).sum()), 1.0)
    while True:
        counts = rng.poisson(rate * watched * scale)
        if counts.sum() >= want:
            break
        scale *= 1.05
    who = np.repeat(np.arange(n_c), counts)
    keep = np.sort(rng.permutation(len(who))[:want])
    who = who[keep]
    when = closed[who] + 1 + (rng.random(want) * (watched[who] - 2)).astype("int64")
    customer = np.concatenate([np.arange(n_c), who])
    at = np.concatenate([closed[:n_c], when])
    first_amount = amount[:n_c]
    money = np.concatenate(
        [first_amount, np.round(first_amount[who] * rng.lognormal(-0.3, 0.4, want), 2)]
    )
    order = np.argsort(at, kind="stable")
    customer, at, money = customer[order], at[order], money[order]
    is_first = order < n_c
    orders = pa.table(
        {
            c.ORDER_ID: _ids("O", np.arange(n_orders), 10),
            c.CUSTOMER_ID: _ids("C-D", customer, 9),
            c.ORDERED_AT: _times(at),
            c.DEAL_ID: pc.if_else(
                pa.array(is_first), _ids("D", customer, 9), pa.nulls(n_orders, TEXT)
            ),
            c.AMOUNT: money,
            c.CURRENCY: _labels(("USD",), np.zeros(n_orders, dtype="int64")),
            c.PRODUCT: _labels(PRODUCTS, rng.integers(0, len(PRODUCTS), n_orders)),
        }
    )
    pq.write_table(orders, out / f"{c.ORDERS}.parquet")
    del orders, customer, at, money, order, is_first, who, when

    # Subscriptions: one per B2B account, month by month from the close.
    start = closed[n_c:]
    mrr = np.round(amount[n_c:] / 12.0, 2)
    discount = np.asarray(DISCOUNTS)[rng.choice(len(DISCOUNTS), n_b, p=DISCOUNT_MIX)]
    hazard = np.where(discount >= 0.2 - 1e-9, DEEP_CHURN, CHURN)
    grow = np.asarray(EXPANSION)[region[n_c:]]
    types = (c.CHANGE_NEW, c.CHANGE_EXPANSION, c.CHANGE_CONTRACTION, c.CHANGE_CHURN,
             c.CHANGE_RENEWAL)  # fmt: skip
    acct = np.arange(n_b)
    parts = [(acct, start, np.zeros(n_b, dtype="int64"), np.zeros(n_b), mrr.copy(), True)]
    alive = np.ones(n_b, dtype=bool)
    for month in range(1, 37):
        renewal = month % 12 == 0
        inside = ((month - 1) + rng.uniform(0.05, 0.95, n_b)) * US_MONTH
        t = start + (month * US_MONTH if renewal else inside.astype("int64"))
        u = rng.random(n_b)
        live = alive & (t < cut)
        churn = live & (u < hazard)
        if renewal:
            kind = np.where(churn, 3, 4)
            row = live
        else:
            kind = np.where(churn, 3, np.where(u < hazard + grow, 1, 2))
            row = live & (u < hazard + grow + CONTRACTION)
        before = mrr.copy()
        after = np.select(
            [kind == 3, kind == 1, kind == 2],
            [0.0, np.round(mrr * 1.25, 2), np.round(mrr * 0.75, 2)],
            mrr,
        )
        mrr = np.where(row, after, mrr)
        alive &= ~churn
        parts.append((acct[row], t[row], kind[row], before[row], after[row], False))
    sub_acct = np.concatenate([p[0] for p in parts])
    sub_new = np.concatenate([np.full(len(p[0]), p[5]) for p in parts])
    rows = len(sub_acct)
    subscriptions = pa.table(
        {
            c.CUSTOMER_ID: _ids("A", n_c + sub_acct, 9),
            c.EFFECTIVE_AT: _times(np.concatenate([p[1] for p in parts])),
            c.CHANGE_TYPE: _labels(types, np.concatenate([p[2] for p in parts])),
            c.MRR_BEFORE: np.concatenate([p[3] for p in parts]),
            c.MRR_AFTER: np.concatenate([p[4] for p in parts]),
            c.DEAL_ID: pc.if_else(
                pa.array(sub_new), _ids("D", n_c + sub_acct, 9), pa.nulls(rows, TEXT)
            ),
            c.DISCOUNT: pa.array(np.where(sub_new, discount[sub_acct], np.nan), from_pandas=True),
            c.CURRENCY: _labels(("USD",), np.zeros(rows, dtype="int64")),
        }
    )
    pq.write_table(subscriptions, out / f"{c.SUBSCRIPTIONS}.parquet")


GENERATE = f"""
import sys
sys.path.insert(0, {str(Path(__file__).resolve().parent)!r})
from bench_after_close import build
build(int(sys.argv[1]), sys.argv[2])
"""


def _machine() -> str:
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    cpu = platform.processor() or platform.machine()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GB RAM; load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--keep", type=Path, default=None, help="data folder to reuse or keep")
    parser.add_argument("--steps", nargs="*", default=list(STEPS), choices=STEPS)
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench_after_close_"))
    if not (folder / f"{c.SUBSCRIPTIONS}.parquet").exists():
        seconds, peak = run_in_child(GENERATE, str(args.orders), str(folder))
        print(f"generate: {seconds:.1f} s, peak {peak:,.0f} MB")
    counts = {
        name: pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows
        for name in (c.DEALS, c.ORDERS, c.SUBSCRIPTIONS)
    }
    print(f"machine: {_machine()}")
    print(
        f"data: {counts[c.ORDERS]:,} orders, {counts[c.DEALS]:,} won deals, "
        f"{counts[c.SUBSCRIPTIONS]:,} subscription changes; as_of {CUTOFF}"
    )
    print(f"targets: under {TARGET_SECONDS:.0f} s (the call) and {TARGET_MB:,.0f} MB peak")
    print("| step | seconds (step) | seconds (process) | peak MB | queries | slowest query s |"
          " rows | meets target |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for step in args.steps:
        out = folder / f"{step}.json"
        seconds, peak = run_in_child(STEP, str(folder), step, str(out), CUTOFF)
        timed = json.loads(out.read_text())
        slowest = max(timed["query_seconds"], default=0.0)
        ok = timed["seconds"] < TARGET_SECONDS and peak < TARGET_MB
        verdict = ("yes" if ok else "**no**") if step in TIMED else "(informational)"
        print(
            f"| `{step}` | {timed['seconds']:.2f} | {seconds:.1f} | {peak:,.0f} | "
            f"{timed['queries']} | {slowest:.2f} | {timed['rows']:,} | {verdict} |",
            flush=True,
        )
    print(f"load average after: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
