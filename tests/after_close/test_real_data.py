"""Repeat purchases on the CDNOW purchase histories (real, public; Fader & Hardie).

Data and reference figures: tests/after_close/data/cdnow/README.md, from Fader, Hardie & Lee
(2005): in the 1/10 sample of 2,357 customers, counting one transaction per
customer-day, the 39-week calibration period (before 1997-10-01) holds 2,457 repeat
transactions and 1,411 customers with no repeat purchase; the holdout holds 1,882.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import analysis
from analysis.after_close import columns as c
from analysis.after_close import repeat_purchase

# Kept in the repository (README there: provenance, licence, figures), so this runs on
# every clone.
CDNOW = Path(__file__).parent / "data" / "cdnow"
SAMPLE, MASTER = CDNOW / "CDNOW_sample.txt.gz", CDNOW / "CDNOW_master.txt.gz"
CALIBRATION_END = "1997-09-30 23:59:59"  # 39 weeks from 1 January 1997, last second


def _workspace(rows: pd.DataFrame):
    """Orders one per customer-day (as the published analyses count), each customer's first
    order made by a won deal of its own (the workbench's link from sale to customer)."""
    rows = rows.assign(at=pd.to_datetime(rows["date"].astype(str), format="%Y%m%d", utc=True))
    days = rows.groupby(["customer", "at"], as_index=False)["dollars"].sum()
    days = days.sort_values(["customer", "at"]).reset_index(drop=True)
    first = ~days["customer"].duplicated()
    deal_ids = "D" + days["customer"].astype(str)
    orders = pd.DataFrame({
        c.ORDER_ID: [f"O{i}" for i in range(len(days))],
        c.CUSTOMER_ID: days["customer"].astype(str),
        c.ORDERED_AT: days["at"],
        c.DEAL_ID: deal_ids.where(first),
        c.AMOUNT: days["dollars"],
        c.CURRENCY: "USD",
    })  # fmt: skip
    firsts = days[first]
    deals = pd.DataFrame({
        c.DEAL_ID: deal_ids[first], c.CREATED_AT: firsts["at"], c.CLOSED_AT: firsts["at"],
        c.OUTCOME: c.WON, c.AMOUNT: firsts["dollars"], c.SEGMENT: c.B2C,
    })  # fmt: skip
    return analysis.connect({c.ORDERS: orders, c.DEALS: deals}), len(days)


@pytest.fixture(scope="module")
def sample():
    rows = pd.read_csv(SAMPLE, sep=r"\s+", header=None,
                       names=["customer", "sample_id", "date", "cds", "dollars"])  # fmt: skip
    return _workspace(rows)


def test_calibration_period_matches_the_published_counts(sample):
    ws, _ = sample
    table = repeat_purchase(ws, as_of=CALIBRATION_END).to_frame().iloc[0]
    # Fader, Hardie & Lee (2005): 2,357 customers, 1,411 without a repeat purchase in the
    # calibration period, 2,457 repeat transactions (orders = first orders + repeats).
    assert table[c.N_CUSTOMERS] == 2_357
    assert table[c.N_CUSTOMERS] - table[c.N_REPEAT] == 1_411
    assert table[c.N_ORDERS] == 2_357 + 2_457


def test_whole_period_counts_and_a_sane_repeat_curve(sample):
    ws, n_transactions = sample
    r = repeat_purchase(ws, as_of="1998-06-30 23:59:59")
    t = r.to_frame().set_index(c.HORIZON_DAYS)
    # data README: 6,696 customer-day transactions, of which 1,882 in the holdout.
    assert n_transactions == 6_696 and t.loc[365.0, c.N_ORDERS] == 6_696
    assert t.loc[365.0, c.N_ORDERS] - (2_357 + 2_457) == 1_882
    # Everyone is watched at least 15 months, so the 365-day rate is nearly the plain
    # share: the interval must hold it.
    assert t.loc[90.0, c.REPEAT_RATE] < t.loc[180.0, c.REPEAT_RATE] < t.loc[365.0, c.REPEAT_RATE]
    assert (
        t.loc[365.0, c.REPEAT_CI_LOW] < t.loc[365.0, c.REPEAT_RATE] < t.loc[365.0, c.REPEAT_CI_HIGH]
    )
    assert r.cohorts[c.AT_RISK].iloc[0] == 2_357  # every customer's first month has passed


def test_master_file_holds_the_published_cohort():
    rows = pd.read_csv(MASTER, sep=r"\s+")
    rows = rows.rename(columns={"customer_id": "customer", "dollar_value": "dollars"})
    ws, _ = _workspace(rows)
    table = repeat_purchase(ws, as_of="1998-06-30 23:59:59").to_frame().iloc[0]
    # data README: the 23,570 customers of the Q1 1997 cohort, 69,659 purchase rows.
    assert len(rows) == 69_659
    assert table[c.N_CUSTOMERS] == 23_570
