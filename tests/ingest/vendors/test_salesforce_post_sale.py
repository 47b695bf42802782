"""Tests for analysis.ingest.vendors.salesforce_post_sale: Order, typed opportunities, Contract.

Every expected value below is computed by hand from the small export written here.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r

ZONE = "Europe/Madrid"


def _write(folder, name, rows):
    pd.DataFrame(rows).to_csv(folder / f"{name}.csv", index=False)


@pytest.fixture(scope="module")
def post_sale(tmp_path_factory):
    """An export with typed opportunities, orders and contracts (warts: date-only fields,
    USD and EUR, a draft order, an order for an unknown opportunity, a blank Type, a lost
    deal, a draft contract, a contract with only a start and a term)."""
    folder = tmp_path_factory.mktemp("sf") / "export"
    folder.mkdir()
    _write(folder, "Opportunity", {
        "Id": ["006A", "006B", "006C", "006D", "006E", "006F", "006G", "006H"],
        "AccountId": ["001A", "001A", "001A", "001B", "001B", "001C", "001C", "001C"],
        "StageName": ["Closed Won"] * 6 + ["Closed Lost", "Closed Won"],
        "IsClosed": ["true"] * 8,
        "IsWon": ["true"] * 6 + ["false", "true"],
        "Amount": [12000, 6000, 2400, 24000, 30000, 5000, 7000, 9600],
        "CurrencyIsoCode": ["USD", "USD", "USD", "EUR", "EUR", "USD", "USD", "USD"],
        "CloseDate": ["2024-01-10", "2024-04-01", "2024-07-01", "2024-02-01", "2025-02-01",
                      "2024-03-01", "2024-04-15", "2024-05-01"],
        "CreatedDate": ["2023-12-01T10:00:00.000+0000"] * 8,
        "LastModifiedDate": ["2025-06-30T00:00:00.000+0000"] * 8,
        "Type": ["New Customer", "Existing Customer - Upgrade", "Existing Customer - Downgrade",
                 "New Business", "Renewal", "", "New Customer", "New Customer"],
    })  # fmt: skip
    _write(folder, "OpportunityStage", {
        "MasterLabel": ["Prospecting", "Closed Won", "Closed Lost"], "SortOrder": [1, 2, 3],
        "IsActive": ["true"] * 3, "IsClosed": ["false", "true", "true"],
        "IsWon": ["false", "true", "false"],
    })  # fmt: skip
    # USD is the corporate currency; 0.8 EUR buy one USD.
    _write(folder, "CurrencyType", {
        "IsoCode": ["USD", "EUR"], "ConversionRate": [1, 0.8], "IsCorporate": ["true", "false"],
    })  # fmt: skip
    _write(folder, "Order", {
        "Id": ["801A", "801B", "801C", "801D", "801E"],
        "AccountId": ["001A", "001B", "001A", "001C", "001B"],
        "OpportunityId": ["006A", "006D", "006B", "006ZZZ", ""],
        "EffectiveDate": ["2024-01-10", "2024-02-01", "2024-04-01", "2024-05-01", "2024-03-15"],
        "TotalAmount": [12000, 24000, 6000, 9600, 1000],
        "CurrencyIsoCode": ["USD", "EUR", "USD", "USD", "EUR"],
        "Status": ["Activated", "Activated", "Draft", "Activated", "Activated"],
    })  # fmt: skip
    _write(folder, "Contract", {
        "Id": ["800A", "800B", "800C", "800D"],
        "AccountId": ["001C", "001A", "001B", "001B"],
        "StartDate": ["2024-05-01", "2024-01-10", "2024-02-01", "2025-02-01"],
        "EndDate": ["", "2026-01-09", "2025-01-31", "2025-03-01"],
        "ContractTerm": [12, 24, 12, 1],
        "Status": ["Expired", "Activated", "Expired", "Draft"],
    })  # fmt: skip
    result = ingest(folder, folder.parent / "out", timezone=ZONE)
    return result, folder.parent / "out"


def test_orders_keep_activated_ones_and_account_for_every_row(post_sale):
    result, out = post_sale
    m = result.manifest["tables"][c.ORDERS]
    # Hand: 5 rows; 801C is a draft, 801D names an opportunity the export lacks.
    assert m["rows_in"] == 5
    assert m["quarantine_reasons"] == {r.OUT_OF_SCOPE: 1, r.ORPHAN_EVENT: 1}
    orders = pd.read_parquet(out / "orders.parquet").set_index(c.ORDER_ID)
    assert sorted(orders.index) == ["801A", "801B", "801E"]
    # Date-only EffectiveDate: the start of that day in Madrid (UTC+1 in winter).
    assert orders.loc["801A", c.ORDERED_AT] == pd.Timestamp("2024-01-09T23:00:00Z")
    assert orders.loc["801B", c.DEAL_ID] == "006D"
    assert orders.loc["801B", c.CUSTOMER_ID] == "001B"
    # Hand: 24000 EUR / 0.8 = 30000 USD; 1000 EUR / 0.8 = 1250 USD; currency stays the row's.
    assert orders.loc["801B", c.AMOUNT] == pytest.approx(30000)
    assert orders.loc["801B", c.AMOUNT_ORIGINAL] == pytest.approx(24000)
    assert orders.loc["801B", c.CURRENCY] == "EUR"
    assert orders.loc["801E", c.AMOUNT] == pytest.approx(1250)
    assert orders.loc["801A", c.AMOUNT] == pytest.approx(12000)


def test_subscriptions_follow_types_running_mrr_and_contract_churn(post_sale):
    result, out = post_sale
    m = result.manifest["tables"][c.SUBSCRIPTIONS]
    # Hand: 8 opportunities + 4 contracts = 12 rows. Out of scope: 006F (blank Type), 006G
    # (lost), 800B (ends after the export's date), 800C (001B renewed after it ended), 800D
    # (draft). Clean: 6 typed won opportunities + 1 churn (800A).
    assert m["rows_in"] == 12
    assert m["quarantine_reasons"] == {r.OUT_OF_SCOPE: 5}
    subs = pd.read_parquet(out / "subscriptions.parquet")
    got = {
        (row[c.CUSTOMER_ID], row[c.CHANGE_TYPE]): (
            round(row[c.MRR_BEFORE], 6),
            round(row[c.MRR_AFTER], 6),
        )
        for _, row in subs.iterrows()
    }
    # Hand, MRR = Amount / 12; 001B's EUR converted at 0.8 EUR per USD.
    assert got == {
        ("001A", c.CHANGE_NEW): (0, 1000),             # 12000 / 12
        ("001A", c.CHANGE_EXPANSION): (1000, 1500),    # + 6000 / 12
        ("001A", c.CHANGE_CONTRACTION): (1500, 1300),  # - 2400 / 12
        ("001B", c.CHANGE_NEW): (0, 2500),             # 24000 / 12 = 2000 EUR = 2500 USD
        ("001B", c.CHANGE_RENEWAL): (2500, 3125),      # set to 30000 / 12 = 2500 EUR
        ("001C", c.CHANGE_NEW): (0, 800),              # 9600 / 12
        ("001C", c.CHANGE_CHURN): (800, 0),            # 800A (expired): 2024-05-01 + 12 months - 1 day
    }  # fmt: skip
    churn = subs[subs[c.CHANGE_TYPE] == c.CHANGE_CHURN].iloc[0]
    # 2025-04-30, start of the day in Madrid (UTC+2 in summer).
    assert churn[c.EFFECTIVE_AT] == pd.Timestamp("2025-04-29T22:00:00Z")
    renewal = subs[subs[c.CHANGE_TYPE] == c.CHANGE_RENEWAL].iloc[0]
    assert renewal[c.MRR_AFTER_ORIGINAL] == pytest.approx(2500)
    assert renewal[c.MRR_BEFORE_ORIGINAL] == pytest.approx(2000)
    assert renewal[c.CURRENCY] == "EUR"
    assert not subs[c.MRR_INCONSISTENT].any()


def test_an_export_without_order_or_contract_or_type_has_neither_table(tmp_path):
    from analysis.sample import generate_sample
    from analysis.sample.crm_exports import write_salesforce

    planted = write_salesforce(generate_sample(40, seed=2), tmp_path / "export", seed=2)
    result = ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    assert c.ORDERS not in result.manifest["tables"]
    assert c.SUBSCRIPTIONS not in result.manifest["tables"]


def test_amount_months_sets_what_an_amount_pays_for(post_sale, tmp_path):
    # Monthly amounts (--amount-months 1): MRR = Amount. Hand: 001A's new business of
    # 12000 is 12000 a month, its upgrade adds 6000; 001C's 9600 churns whole.
    _, out = post_sale
    folder = out.parent / "export"
    ingest(folder, tmp_path / "monthly", timezone=ZONE, amount_months=1)
    subs = pd.read_parquet(tmp_path / "monthly" / "subscriptions.parquet")
    got = subs.set_index([c.CUSTOMER_ID, c.CHANGE_TYPE])[c.MRR_AFTER]
    assert got[("001A", c.CHANGE_NEW)] == pytest.approx(12000)
    assert got[("001A", c.CHANGE_EXPANSION)] == pytest.approx(18000)
    assert got[("001C", c.CHANGE_NEW)] == pytest.approx(9600)


@pytest.mark.parametrize("months", [0, -12, float("nan")])
def test_amount_months_must_be_positive(post_sale, tmp_path, months):
    from analysis.core.errors import InputError

    folder = post_sale[1].parent / "export"
    with pytest.raises(InputError, match="--amount-months must be a positive number"):
        ingest(folder, tmp_path / "bad", amount_months=months)
    assert not (tmp_path / "bad").exists()


def _with_order_items(post_sale, folder, catalogue: bool):
    import shutil

    shutil.copytree(post_sale[1].parent / "export", folder)
    # 801A: two products, the larger line (01tB, 10000) wins over 01tA (2000); a deleted
    # line of 50000 does not count. 801B: one line. 801E: no lines.
    _write(folder, "OrderItem", {
        "Id": ["802A", "802B", "802C", "802D"],
        "OrderId": ["801A", "801A", "801A", "801B"],
        "Product2Id": ["01tA", "01tB", "01tC", "01tA"],
        "TotalPrice": [2000, 10000, 50000, 24000],
        "IsDeleted": ["false", "false", "true", "false"],
    })  # fmt: skip
    if catalogue:
        _write(folder, "Product2", {"Id": ["01tA", "01tB"], "Name": ["Seats", "Platform"]})
    return ingest(folder, folder.parent / "out", timezone=ZONE)


@pytest.mark.parametrize("catalogue", [True, False])
def test_order_items_give_each_order_its_largest_lines_product(post_sale, tmp_path, catalogue):
    result = _with_order_items(post_sale, tmp_path / "export", catalogue)
    orders = pd.read_parquet(tmp_path / "out" / "orders.parquet").set_index(c.ORDER_ID)
    # Hand: named by Product2.Name when the export has it, else the Product2Id.
    assert orders.loc["801A", c.PRODUCT] == ("Platform" if catalogue else "01tB")
    assert orders.loc["801B", c.PRODUCT] == ("Seats" if catalogue else "01tA")
    assert pd.isna(orders.loc["801E", c.PRODUCT])
    assert any(
        "1 Salesforce orders have lines of several products" in n for n in result.manifest["notes"]
    )
