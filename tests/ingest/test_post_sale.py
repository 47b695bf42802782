"""Tests of analysis.ingest.post_sale and of orders, subscriptions and onboarding through
an ingest run.

Every expected value is a hand reading of the rows written below.
"""

from __future__ import annotations

import pandas as pd
import pytest
from ingest_helpers import read_quarantine, write_csv

from analysis.core import columns as c
from analysis.core import paths, schema
from analysis.core.stages import load_stages
from analysis.ingest import ingest, read_manifest
from analysis.ingest.colmap import load_column_map
from analysis.ingest.leads import status_key
from analysis.ingest.post_sale import (
    CHANGE_TYPE_WORDS,
    earliest_time,
    go_live_before_kickoff,
    mrr_inconsistent,
    normalise_change_types,
    parse_discount,
)

# --- change-type words ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "kind"),
    [
        ("Upsell", "expansion"),
        ("upgrade", "expansion"),
        ("Existing Customer - Upgrade", "expansion"),  # Salesforce Opportunity Type
        ("Downgrade", "contraction"),
        ("down-sell", "contraction"),
        ("Cancellation", "churn"),
        ("cancelled", "churn"),
        ("New Business", "new"),
        (" RENEWAL ", "renewal"),
    ],
)
def test_crm_change_words_map_to_canonical_types(word, kind):
    assert normalise_change_types(pd.Series([word], dtype="str")).tolist() == [kind]


def test_unknown_change_word_is_kept_and_missing_stays_missing():
    out = normalise_change_types(pd.Series([" Pause ", None], dtype="str"))
    assert out.iloc[0] == "Pause" and pd.isna(out.iloc[1])


def test_every_change_word_maps_to_a_canonical_type_and_keys_do_not_collide():
    assert set(CHANGE_TYPE_WORDS.values()) == set(c.CHANGE_TYPES)
    keys: dict[str, str] = {}
    for word, kind in CHANGE_TYPE_WORDS.items():
        assert keys.setdefault(status_key(word), kind) == kind, word


# --- discounts ------------------------------------------------------------------------


def test_discount_with_percent_sign_is_a_percent_and_plain_shares_stay():
    parsed = parse_discount(pd.Series(["15%", "0.1", None, " 20 % "], dtype="str"))
    assert parsed.values.tolist()[:2] == [0.15, 0.1]
    assert pd.isna(parsed.values.iloc[2]) and parsed.values.iloc[3] == 0.2
    assert not parsed.bad.any()


def test_discount_column_above_one_is_read_as_percent():
    # 0-100 column (as Salesforce's Discount field exports): 5 -> 0.05, 0.5 -> 0.005.
    parsed = parse_discount(pd.Series(["5", "25", "0.5"], dtype="str"))
    assert parsed.values.tolist() == pytest.approx([0.05, 0.25, 0.005])
    numeric = parse_discount(pd.Series([10.0, 30.0]))
    assert numeric.values.tolist() == pytest.approx([0.1, 0.3])


def test_unreadable_discount_is_bad():
    parsed = parse_discount(pd.Series(["a lot", "10%"], dtype="str"))
    assert parsed.bad.tolist() == [True, False]


# --- MRR against change type ----------------------------------------------------------


def test_mrr_inconsistent_with_change_type():
    frame = pd.DataFrame(
        {
            c.CHANGE_TYPE: ["churn", "churn", "new", "new", "expansion", "expansion",
                            "contraction", "contraction", "renewal", "renewal", "churn"],
            c.MRR_BEFORE: [100, 100, 0, 50, 100, 100, 100, 100, 100, 100, None],
            c.MRR_AFTER: [0, 20, 80, 80, 150, 90, 60, 0, 100, 0, None],
        }
    )  # fmt: skip
    assert mrr_inconsistent(frame).tolist() == [
        False, True, False, True, False, True, False, True, False, True, False,
    ]  # fmt: skip


# --- a whole ingest run ---------------------------------------------------------------

MAP = """
options: {timezone: UTC, dayfirst: false}
tables:
  deals:
    file: deals
    columns:
      deal_id: Deal ID
      created_at: Create Date
      closed_at: Close Date
      outcome: Deal Status
      amount: Amount
      segment: Segment
      account_id: Account ID
  orders:
    file: orders
    optional: true
    columns:
      order_id: Order ID
      customer_id: Customer ID
      deal_id: Deal ID
      ordered_at: Order Date
      amount: Amount
      currency: Currency
      product: Product
  subscriptions:
    file: subscriptions
    optional: true
    columns:
      customer_id: Customer ID
      deal_id: Deal ID
      effective_at: Effective Date
      mrr_before: MRR Before
      mrr_after: MRR After
      change_type: Change Type
      discount: Discount
      currency: Currency
"""

DEALS = [
    "D1,2024-01-01 09:00,2024-02-01 10:00,won,1000,B2B,A1",
    "D2,2024-01-05 09:00,2024-03-01,won,2000,B2B,A2",
    "D3,2024-01-07 09:00,,open,500,B2C,",
    "D4,2024-01-08 09:00,2024-02-10,won,-5,B2B,A4",  # negative: quarantined, O6 loses its deal
]

ORDERS_HEADER = "Order ID,Customer ID,Deal ID,Order Date,Amount,Currency,Product"
ORDERS = [
    "O1,A1,D1,2024-02-05 12:00,120.50,USD,Café Pro",  # latin-1 text
    "O2,C7,,2024-02-06,35,USD,Basic",  # a B2C buyer in no deal: accepted; a date only
    "O3,C8,D9,2024-02-07,40,USD,Basic",  # no deal D9: orphan_event
    "O4,A1,D1,2024-01-20,50,USD,Pro",  # 12 days before D1's close: kept, flagged
    "O5,C7,,2024-03-01,-10,USD,Basic",  # negative_amount
    "O6,A4,D4,2024-03-01,10,USD,Pro",  # D4 quarantined: parent_quarantined
    "O7,A1,D1,2024-02-01,60,USD,Pro",  # the close day, as a date: within a day, not flagged
]

SUBSCRIPTIONS_HEADER = (
    "Customer ID,Deal ID,Effective Date,MRR Before,MRR After,Change Type,Discount,Currency"
)
SUBSCRIPTIONS = [
    "A1,D1,2024-02-01,0,100,New Business,15%,USD",  # percent discount
    "A1,,2024-05-01,100,150,Upsell,,USD",
    "A1,,2024-08-01,150,120,Downgrade,,USD",
    "A1,,2024-11-01,120,50,Cancellation,,USD",  # churn leaving revenue: kept, flagged
    "A2,D2,2024-03-01,0,200,new,0.1,USD",
    "A2,,2024-06-01,200,200,Pause,,USD",  # unknown change type: bad_value
    "A2,D2,2024-01-15,0,200,renewal,,USD",  # before D2's close: kept, flagged
    "ZZ,,2024-04-01,0,100,new,,USD",  # no deal's account nor order's buyer: orphan_event
    "C7,,2024-04-01,0,30,new,,USD",  # C7 bought (orders): a known customer
    "A2,D9,2024-07-01,200,250,upgrade,,USD",  # no deal D9: orphan_event
    "A1,,2024-09-01,-1,100,renewal,,USD",  # negative_amount
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("post_sale")
    src = root / "src"
    header = "Deal ID,Create Date,Close Date,Deal Status,Amount,Segment,Account ID"
    write_csv(src, "deals.csv", header, DEALS)
    write_csv(src, "orders.csv", ORDERS_HEADER, ORDERS, encoding="latin-1")
    write_csv(src, "subscriptions.csv", SUBSCRIPTIONS_HEADER, SUBSCRIPTIONS)
    (root / "map.yaml").write_text(MAP, encoding="utf-8")
    result = ingest(src, root / "out", map_path=root / "map.yaml")
    return root / "out", result


def test_clean_orders_are_canonical(run):
    out, _ = run
    orders = pd.read_parquet(out / "orders.parquet")
    schema.table_schema(c.ORDERS, load_stages().pipeline().all_stages).validate(orders)
    # sorted by customer, then time
    assert orders[c.ORDER_ID].tolist() == ["O4", "O7", "O1", "O2"]
    assert orders[c.BEFORE_DEAL_CLOSED].tolist() == [True, False, False, False]
    row = orders.set_index(c.ORDER_ID).loc["O1"]
    assert row[c.PRODUCT] == "Café Pro"  # latin-1 decoded
    assert row[c.AMOUNT] == 120.5 and row[c.CURRENCY] == "USD"
    assert orders.set_index(c.ORDER_ID).loc["O2", c.ORDERED_AT] == pd.Timestamp(
        "2024-02-06", tz="UTC"
    )  # a date: midnight UTC
    assert pd.isna(orders.set_index(c.ORDER_ID).loc["O2", c.DEAL_ID])


def test_clean_subscriptions_are_canonical(run):
    out, _ = run
    subs = pd.read_parquet(out / "subscriptions.parquet")
    schema.table_schema(c.SUBSCRIPTIONS, load_stages().pipeline().all_stages).validate(subs)
    assert subs[c.CUSTOMER_ID].tolist() == ["A1", "A1", "A1", "A1", "A2", "A2", "C7"]
    assert subs[c.CHANGE_TYPE].tolist() == [
        "new", "expansion", "contraction", "churn", "renewal", "new", "new",
    ]  # fmt: skip
    assert subs[c.MRR_INCONSISTENT].tolist() == [False, False, False, True, False, False, False]
    assert subs[c.BEFORE_DEAL_CLOSED].tolist() == [False, False, False, False, True, False, False]
    assert subs[c.DISCOUNT].tolist()[0] == pytest.approx(0.15)  # "15%"
    assert subs[c.DISCOUNT].tolist()[5] == pytest.approx(0.1)
    assert subs[c.EFFECTIVE_AT].iloc[0] == pd.Timestamp("2024-02-01", tz="UTC")


def test_quarantine_gives_each_set_aside_row_its_reason(run):
    out, _ = run
    orders = read_quarantine(out, c.ORDERS).set_index(c.SOURCE_ROW)
    assert orders[c.REASON].to_dict() == {
        3: "orphan_event",
        5: "negative_amount",
        6: "parent_quarantined",
    }
    subs = read_quarantine(out, c.SUBSCRIPTIONS).set_index(c.SOURCE_ROW)
    assert subs[c.REASON].to_dict() == {
        6: "bad_value",
        8: "orphan_event",
        10: "orphan_event",
        11: "negative_amount",
    }
    assert subs.loc[6, "Change Type"] == "Pause"  # the raw word, for a map's values:


def test_manifest_accounts_for_every_row_and_counts_the_flags(run):
    out, result = run
    manifest = read_manifest(out)
    assert manifest == {**result.manifest, "created_at": manifest["created_at"]}
    orders = manifest["tables"][c.ORDERS]
    assert (orders["rows_in"], orders["rows_clean"], orders["rows_quarantined"]) == (7, 4, 3)
    assert orders["quarantine_reasons"] == {
        "negative_amount": 1,
        "parent_quarantined": 1,
        "orphan_event": 1,
    }
    subs = manifest["tables"][c.SUBSCRIPTIONS]
    assert (subs["rows_in"], subs["rows_clean"], subs["rows_quarantined"]) == (11, 7, 4)
    assert subs["quarantine_reasons"] == {
        "orphan_event": 2,
        "bad_value": 1,
        "negative_amount": 1,
    }
    assert manifest["flags"]["orders.before_deal_closed"] == 1  # O4
    assert manifest["flags"]["subscriptions.before_deal_closed"] == 1  # A2's renewal
    assert manifest["flags"][c.MRR_INCONSISTENT] == 1  # A1's churn
    assert any("flagged mrr_inconsistent" in note for note in manifest["notes"])
    assert any("flagged before_deal_closed" in note for note in manifest["notes"])


def test_optional_files_may_be_absent(run, tmp_path):
    root = run[0].parent
    src = tmp_path / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes((root / "src" / "deals.csv").read_bytes())
    result = ingest(src, tmp_path / "out", map_path=root / "map.yaml")
    assert c.ORDERS not in result.manifest["tables"]
    assert c.SUBSCRIPTIONS not in result.manifest["tables"]
    assert any("optional table orders" in note for note in result.manifest["notes"])
    assert any("optional table subscriptions" in note for note in result.manifest["notes"])


def test_subscriptions_are_not_judged_when_nothing_names_customers(tmp_path):
    # Deals without account_id and no orders: no customer list to check against.
    src = tmp_path / "src"
    write_csv(src, "deals.csv", "deal_id,created_at,outcome,amount,segment",
              ["D1,2024-01-05,won,10,B2B"])  # fmt: skip
    write_csv(src, "subscriptions.csv", "customer_id,effective_at,change_type,mrr_after",
              ["X1,2024-02-01,upgrade,10", "X2,2024-02-01,churned,0"])  # fmt: skip
    result = ingest(src, tmp_path / "out")
    subs = pd.read_parquet(tmp_path / "out" / "subscriptions.parquet")
    assert subs[c.CHANGE_TYPE].tolist() == ["expansion", "churn"]
    assert result.manifest["tables"][c.SUBSCRIPTIONS]["rows_clean"] == 2


def test_sample_map_reads_orders_and_subscriptions_as_optional():
    cmap = load_column_map(paths.SAMPLE_MAP_FILE)
    orders, subs = cmap.tables[c.ORDERS], cmap.tables[c.SUBSCRIPTIONS]
    assert orders.optional and subs.optional
    assert (orders.file, subs.file) == ("orders", "subscriptions")
    assert [s.source for s in orders.columns.values()] == [
        "Order ID", "Customer ID", "Deal ID", "Order Date", "Amount", "Currency", "Product",
    ]  # fmt: skip
    assert [s.source for s in subs.columns.values()] == [
        "Customer ID", "Deal ID", "Effective Date", "MRR Before", "MRR After", "Change Type",
        "Discount", "Currency",
    ]  # fmt: skip


# --- onboarding ---------------------------------------------------------------------------


def test_go_live_before_kickoff_compares_the_two_milestones():
    utc = lambda text: pd.Timestamp(text, tz="UTC")  # noqa: E731
    frame = pd.DataFrame(
        {
            c.KICKOFF_AT: [utc("2024-03-01 09:00"), utc("2024-03-05 15:00"),
                           utc("2024-03-05 15:00"), None, utc("2024-03-01")],
            c.GO_LIVE_AT: [utc("2024-02-25"), utc("2024-03-05"), utc("2024-03-05 14:00"),
                           utc("2024-01-01"), None],
        }
    )  # fmt: skip
    # 1: go-live days before kick-off; 2: a date-only go-live on the kick-off's day (its time
    # of day unknown: in order); 3: an hour before, with a time: out of order; 4, 5: a
    # milestone missing, nothing to compare.
    assert go_live_before_kickoff(frame).tolist() == [True, False, True, False, False]


def test_earliest_time_takes_the_earlier_milestone_present():
    utc = lambda text: pd.Timestamp(text, tz="UTC")  # noqa: E731
    frame = pd.DataFrame(
        {
            c.KICKOFF_AT: [utc("2024-03-01"), None, utc("2024-03-09"), None],
            c.GO_LIVE_AT: [utc("2024-04-01"), utc("2024-01-01"), utc("2024-03-02"), None],
        }
    )
    out = earliest_time(c.ONBOARDING, frame)
    # Hand reading: the smaller of the two per row, whichever is present; NaT when none.
    assert out.tolist()[:3] == [utc("2024-03-01"), utc("2024-01-01"), utc("2024-03-02")]
    assert pd.isna(out.iloc[3])
    # A table without its milestone columns gives NaT, not an error.
    assert earliest_time(c.ONBOARDING, frame[[]]).isna().all()


ONBOARDING_MAP = (
    MAP
    + """  onboarding:
    file: onboarding
    optional: true
    columns:
      deal_id: Deal ID
      customer_id: Customer ID
      kickoff_at: Kick-off Date
      go_live_at: Go-live Date
"""
)

ONBOARDING_DEALS = [
    *DEALS,
    "D5,2024-01-09 09:00,2024-02-20,won,3000,B2B,A5",
    "D6,2024-01-10 09:00,2024-03-01,won,3000,B2B,A6",
    "D7,2024-01-11 09:00,2024-02-15,won,3000,B2B,A7",
]

ONBOARDING_HEADER = "Deal ID,Customer ID,Kick-off Date,Go-live Date"
ONBOARDING = [
    "D1,A1,2024-02-08 10:00,2024-03-10 12:00",  # clean
    "D2,A2,2024-01-20,2024-04-01",  # kick-off 41 days before D2's close: kept, flagged
    "D3,,,",  # an open deal without milestones: kept (nothing held yet)
    "D9,A9,2024-02-01,2024-03-01",  # no deal D9: orphan_event
    "D4,A4,2024-02-15,2024-03-15",  # D4 quarantined (negative amount): parent_quarantined
    "D1,A1,2024-02-08 10:00,2024-03-10 12:00",  # exact copy of row 1: duplicate_id
    ",A5,2024-02-01,2024-03-01",  # no deal: missing_required
    "D5,A5,2024-03-01,2024-02-25",  # go-live before kick-off: kept, flagged
    "D6,A6,2024-03-05 15:00,2024-03-05",  # date-only go-live on the kick-off's day: in order
    "D7,A7,,2024-01-01",  # no kick-off; go-live 45 days before D7's close: kept, flagged
]


@pytest.fixture(scope="module")
def onboarding_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("onboarding")
    src = root / "src"
    header = "Deal ID,Create Date,Close Date,Deal Status,Amount,Segment,Account ID"
    write_csv(src, "deals.csv", header, ONBOARDING_DEALS)
    write_csv(src, "onboarding.csv", ONBOARDING_HEADER, ONBOARDING)
    (root / "map.yaml").write_text(ONBOARDING_MAP, encoding="utf-8")
    result = ingest(src, root / "out", map_path=root / "map.yaml")
    return root / "out", result


def test_clean_onboarding_is_canonical_and_flagged(onboarding_run):
    out, _ = onboarding_run
    frame = pd.read_parquet(out / "onboarding.parquet")
    schema.table_schema(c.ONBOARDING, load_stages().pipeline().all_stages).validate(frame)
    # Hand reading of ONBOARDING: rows 1, 2, 3, 8, 9 and 10 are clean, sorted by deal.
    assert frame[c.DEAL_ID].tolist() == ["D1", "D2", "D3", "D5", "D6", "D7"]
    # D5 goes live before its kick-off; D6's date-only go-live is on the kick-off's day.
    assert frame[c.STEPS_OUT_OF_ORDER].tolist() == [False, False, False, True, False, False]
    # D2's kick-off and D7's go-live (its only milestone) are over a day before the close;
    # D3 is open (no close) and has no milestone; D5's earlier milestone, the go-live
    # 2024-02-25, is after its close 2024-02-20.
    assert frame[c.BEFORE_DEAL_CLOSED].tolist() == [False, True, False, False, False, True]
    d3 = frame.set_index(c.DEAL_ID).loc["D3"]
    assert pd.isna(d3[c.KICKOFF_AT]) and pd.isna(d3[c.GO_LIVE_AT]) and pd.isna(d3[c.CUSTOMER_ID])
    d1 = frame.set_index(c.DEAL_ID).loc["D1"]
    assert d1[c.GO_LIVE_AT] == pd.Timestamp("2024-03-10 12:00", tz="UTC")  # map timezone UTC


def test_onboarding_quarantine_gives_each_set_aside_row_its_reason(onboarding_run):
    out, _ = onboarding_run
    quarantine = read_quarantine(out, c.ONBOARDING).set_index(c.SOURCE_ROW)
    # Hand reading of ONBOARDING rows 4 to 7 (1-based data rows).
    assert quarantine[c.REASON].to_dict() == {
        4: "orphan_event",
        5: "parent_quarantined",
        6: "duplicate_id",
        7: "missing_required",
    }


def test_onboarding_rows_are_accounted_for_and_flags_counted(onboarding_run):
    out, result = onboarding_run
    manifest = read_manifest(out)
    entry = manifest["tables"][c.ONBOARDING]
    # 10 rows written above: 6 clean + 4 quarantined.
    assert (entry["rows_in"], entry["rows_clean"], entry["rows_quarantined"]) == (10, 6, 4)
    assert entry["rows_in"] == entry["rows_clean"] + entry["rows_quarantined"]
    assert entry["quarantine_reasons"] == {
        "missing_required": 1,
        "duplicate_id": 1,
        "parent_quarantined": 1,
        "orphan_event": 1,
    }
    assert manifest["flags"]["onboarding.before_deal_closed"] == 2  # D2, D7
    assert manifest["flags"]["onboarding.steps_out_of_order"] == 1  # D5
    notes = manifest["notes"]
    assert any("onboardings go live before their kick-off" in note for note in notes)
    assert any("onboardings have a kick-off or go-live more than a day" in note for note in notes)


def test_onboarding_file_may_be_absent(onboarding_run, tmp_path):
    root = onboarding_run[0].parent
    src = tmp_path / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes((root / "src" / "deals.csv").read_bytes())
    result = ingest(src, tmp_path / "out", map_path=root / "map.yaml")
    assert c.ONBOARDING not in result.manifest["tables"]
    assert any("optional table onboarding" in note for note in result.manifest["notes"])


def test_sample_map_reads_onboarding_as_optional():
    onboarding = load_column_map(paths.SAMPLE_MAP_FILE).tables[c.ONBOARDING]
    assert onboarding.optional and onboarding.file == "onboarding"
    # The headers analysis.sample.labels.HEADERS writes for the table.
    assert [s.source for s in onboarding.columns.values()] == [
        "Deal ID", "Customer ID", "Kick-off Date", "Go-live Date",
    ]  # fmt: skip
