"""Tests for analysis.ingest.vendors.hubspot_post_sale: the orders export and deals' MRR.

Expected values are computed by hand from the rows written here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.sample import generate_sample
from analysis.sample.crm_exports import write_hubspot


def _export(tmp_path):
    """A sample HubSpot export (UI labels) whose deals gain Deal Type, Monthly recurring
    revenue and Associated Company IDs, plus an orders export written by hand.

    Deals: the two earliest-closing won deals belong to company C1, the earlier one New
    Business (MRR 100), the later Existing Business (MRR 50); one lost deal of New Business
    (MRR 70) for C2 is not a change. Orders: O1 by C1 on the first won deal; O2 by C7 on no
    deal, in EUR; O3 names a deal the export lacks; O4 archived.
    """
    planted = write_hubspot(generate_sample(40, seed=2), tmp_path / "export", seed=2)
    deals_file = next(p for p in planted.folder.iterdir() if "deal" in p.name.lower())
    deals = pd.read_csv(deals_file, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    won = deals[deals["Is Closed Won"].str.lower() == "true"]
    won = won.assign(_t=pd.to_datetime(won["Close Date"], utc=True, format="mixed"))
    first, second = won.sort_values("_t")["Record ID"].iloc[:2]
    lost = deals.loc[
        (deals["Is Closed Won"].str.lower() != "true")
        & (deals["Is Deal Closed?"].str.lower() == "true"),
        "Record ID",
    ].iloc[0]
    ids = deals["Record ID"]
    deals["Associated Company IDs"] = ids.map({first: "C1;C9", second: "C1", lost: "C2"})
    deals["Deal Type"] = ids.map(
        {first: "newbusiness", second: "existingbusiness", lost: "newbusiness"}
    )
    deals["Monthly recurring revenue"] = ids.map({first: "100", second: "50", lost: "70"})
    deals.to_csv(deals_file, index=False, encoding="utf-8-sig")
    pd.DataFrame({
        "Record ID": ["O1", "O2", "O3", "O4"],
        "Create Date": ["2024-02-01T10:00:00Z", "2024-02-02", "2024-02-03", "2024-02-04"],
        "Total price": ["120", "35", "40", "10"],
        "Currency": ["USD", "EUR", "USD", "USD"],
        "Associated Company IDs": ["C1", "C7", "C1", "C1"],
        "Associated Deal IDs": [first, "", "999999999", ""],
        "Archived": ["false", "false", "false", "true"],
    }).to_csv(planted.folder / "hubspot-crm-exports-all-orders-2026-06-30.csv", index=False)  # fmt: skip
    return planted, first, second, len(deals)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hubspot_post_sale")
    planted, first, second, n_deals = _export(root)
    result = ingest(planted.folder, root / "out", timezone=planted.timezone)
    return result, root / "out", first, second, n_deals


def test_orders_export_becomes_orders(run):
    result, out, first, _, _ = run
    m = result.manifest["tables"][c.ORDERS]
    # Hand: 4 rows; O3's deal is missing (orphan_event), O4 archived.
    assert m["rows_in"] == 4
    assert m["quarantine_reasons"] == {r.ORPHAN_EVENT: 1, r.DELETED_IN_SOURCE: 1}
    orders = pd.read_parquet(out / "orders.parquet").set_index(c.ORDER_ID)
    assert sorted(orders.index) == ["O1", "O2"]
    assert orders.loc["O1", c.DEAL_ID] == first
    assert orders.loc["O1", c.CUSTOMER_ID] == "C1"
    assert orders.loc["O2", c.AMOUNT] == 35 and orders.loc["O2", c.CURRENCY] == "EUR"


def test_won_deals_with_a_type_and_mrr_become_subscription_changes(run):
    result, out, first, second, n_deals = run
    m = result.manifest["tables"][c.SUBSCRIPTIONS]
    # Hand: one row per deal; only the two typed won deals of C1 are changes.
    assert m["rows_in"] == n_deals
    assert m["rows_clean"] == 2
    assert m["quarantine_reasons"] == {r.OUT_OF_SCOPE: n_deals - 2}
    subs = pd.read_parquet(out / "subscriptions.parquet").set_index(c.DEAL_ID)
    assert subs.loc[first, c.CHANGE_TYPE] == c.CHANGE_NEW
    assert (subs.loc[first, c.MRR_BEFORE], subs.loc[first, c.MRR_AFTER]) == (0, 100)
    assert subs.loc[second, c.CHANGE_TYPE] == c.CHANGE_EXPANSION
    assert (subs.loc[second, c.MRR_BEFORE], subs.loc[second, c.MRR_AFTER]) == (100, 150)
    assert set(subs[c.CUSTOMER_ID]) == {"C1"}
    deals = pd.read_parquet(out / "deals.parquet").set_index(c.DEAL_ID)
    assert deals.loc[first, c.ACCOUNT_ID] == "C1"  # the first associated company
