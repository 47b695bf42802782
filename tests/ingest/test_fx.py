"""Exchange rates: reading a rates file and converting amounts (analysis.ingest.fx).

Expected values are hand calculations from the rates written in each test:
a rate is units of the currency per unit of the base, so an amount converts
as amount * rate(reporting) / rate(currency).
"""

from __future__ import annotations

import pandas as pd
import pytest
from ingest_helpers import write_csv

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest import ingest
from analysis.ingest.fx import Rates, convert, rates_frame, read_rates_file


def _at(*days: str) -> pd.Series:
    return pd.Series(pd.to_datetime(list(days), utc=True))


def test_undated_rates_convert_through_the_base():
    rates = Rates(rates_frame(pd.Series(["EUR", "GBP"]), pd.Series([0.8, 0.5])), "USD", "t")
    out = convert(
        pd.Series([80.0, 50.0, 10.0]),
        pd.Series(["EUR", "GBP", "USD"]),
        _at("2024-01-01", "2024-01-01", "2024-01-01"),
        rates,
        "USD",
    )
    assert out.amount.tolist() == pytest.approx([100.0, 100.0, 10.0])  # 80/0.8, 50/0.5, 10
    # Into EUR instead: 50 GBP = 100 USD = 80 EUR.
    to_eur = convert(pd.Series([50.0]), pd.Series(["GBP"]), _at("2024-01-01"), rates, "EUR")
    assert to_eur.amount.tolist() == pytest.approx([80.0])


def test_a_dated_rate_holds_from_its_start_to_the_next_and_wins_over_the_undated_one():
    table = pd.concat(
        [
            rates_frame(pd.Series(["EUR"]), pd.Series([0.5])),  # undated fallback
            rates_frame(
                pd.Series(["EUR", "EUR"]),
                pd.Series([0.8, 0.9]),
                _at("2024-01-01", "2024-02-01"),
                pd.Series(pd.to_datetime(["2024-02-01", None], utc=True)),
            ),
        ],
        ignore_index=True,
    )
    rates = Rates(table, "USD", "t")
    out = convert(
        pd.Series([90.0, 90.0, 90.0]),
        pd.Series(["EUR"] * 3),
        _at("2023-06-01", "2024-01-31", "2024-02-01"),
        rates,
        "USD",
    )
    # 90/0.5 before any period, 90/0.8 in January, 90/0.9 from 1 February (start inclusive).
    assert out.amount.tolist() == pytest.approx([180.0, 112.5, 100.0])


def test_a_currency_without_rate_is_left_empty_and_counted():
    rates = Rates(rates_frame(pd.Series(["EUR"]), pd.Series([0.8])), "USD", "t")
    out = convert(
        pd.Series([10.0, 20.0]),
        pd.Series(["JPY", "EUR"]),
        _at("2024-01-01", "2024-01-01"),
        rates,
        "USD",
    )
    assert pd.isna(out.amount.iloc[0]) and out.amount.iloc[1] == pytest.approx(25.0)
    assert out.no_rate == {"JPY": 1}


def test_rates_file_base_is_the_currency_at_one(tmp_path):
    path = write_csv(tmp_path, "rates.csv", "Currency,Rate", ["usd,1", "EUR,0.8"])
    rates = read_rates_file(path)
    assert rates.base == "USD" and rates.currencies == {"USD", "EUR"}


@pytest.mark.parametrize(
    ("rows", "column", "row", "match"),
    [
        (["USD,1", "EUR,0"], "rate", 2, "above zero"),
        (["USD,1", "EUR,abc"], "rate", 2, "above zero"),
        (["USD,2", "EUR,0.8"], "rate", None, "base currency"),
    ],
)
def test_bad_rates_file_names_file_column_and_row(tmp_path, rows, column, row, match):
    path = write_csv(tmp_path, "rates.csv", "currency,rate", rows)
    with pytest.raises(InputError, match=match) as info:
        read_rates_file(path)
    assert info.value.file.endswith("rates.csv")
    assert info.value.column == column
    assert info.value.row == row


def test_a_mapped_export_is_converted_with_a_rates_file(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment,closed_at,currency",
        ["D1,2024-01-05,won,80,B2B,2024-02-01,EUR", "D2,2024-01-06,lost,10,B2C,2024-03-01,USD"],
    )
    rates = write_csv(tmp_path, "rates.csv", "currency,rate", ["USD,1", "EUR,0.8"])
    result = ingest(src, tmp_path / "out", fx_rates=rates)
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet").set_index(c.DEAL_ID)
    assert deals[c.AMOUNT].tolist() == pytest.approx([100.0, 10.0])  # 80 EUR / 0.8
    assert deals[c.AMOUNT_ORIGINAL].tolist() == pytest.approx([80.0, 10.0])
    assert result.manifest["reporting_currency"] == "USD"


def test_reporting_in_a_currency_other_than_the_base(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "deal_id,created_at,outcome,amount,segment,closed_at,currency",
        ["D1,2024-01-05,won,100,B2B,2024-02-01,USD", "D2,2024-01-06,lost,50,B2C,2024-03-01,GBP"],
    )
    rates = write_csv(tmp_path, "rates.csv", "currency,rate", ["USD,1", "EUR,0.8", "GBP,0.5"])
    result = ingest(src, tmp_path / "out", fx_rates=rates, reporting_currency="eur")
    deals = pd.read_parquet(tmp_path / "out" / "deals.parquet").set_index(c.DEAL_ID)
    # Hand calculation: 100 USD * 0.8/1 = 80 EUR; 50 GBP * 0.8/0.5 = 80 EUR.
    assert deals[c.AMOUNT].tolist() == pytest.approx([80.0, 80.0])
    assert result.manifest["reporting_currency"] == "EUR"
    with pytest.raises(InputError, match="has no exchange rate") as info:
        ingest(src, tmp_path / "out2", fx_rates=rates, reporting_currency="JPY")
    assert info.value.column == "--reporting-currency"


POST_SALE_MAP = """
options: {timezone: UTC, dayfirst: false}
tables:
  deals:
    file: deals
    columns: {deal_id: Deal ID, created_at: Created, closed_at: Closed, outcome: Outcome,
              amount: Amount, segment: Segment, account_id: Account, currency: Currency}
  orders:
    file: orders
    columns: {order_id: Order ID, customer_id: Customer, ordered_at: Ordered, amount: Amount,
              currency: Currency}
  subscriptions:
    file: subscriptions
    columns: {customer_id: Customer, effective_at: Effective, mrr_before: Before,
              mrr_after: After, change_type: Type, currency: Currency}
"""


def test_fx_rates_convert_orders_and_subscriptions_at_their_dates(tmp_path):
    src = tmp_path / "src"
    write_csv(
        src,
        "deals.csv",
        "Deal ID,Created,Closed,Outcome,Amount,Segment,Account,Currency",
        ["D1,2024-01-02,2024-01-15,won,800,B2B,A1,EUR"],
    )
    write_csv(
        src,
        "orders.csv",
        "Order ID,Customer,Ordered,Amount,Currency",
        [
            "O1,A1,2024-03-01,80,EUR",  # first EUR period: 80 / 0.8 = 100 USD
            "O2,A1,2024-08-01,90,EUR",  # second EUR period: 90 / 0.9 = 100 USD
            "O3,A1,2024-08-02,50,",  # no currency: taken as USD, as deals are
            "O4,A1,2024-08-03,10,GBP",  # no rate for GBP: amount left empty
        ],
    )
    write_csv(
        src,
        "subscriptions.csv",
        "Customer,Effective,Before,After,Type,Currency",
        ["A1,2024-02-01,0,80,new,EUR", "A1,2024-08-01,80,90,expansion,EUR"],
    )
    (tmp_path / "map.yaml").write_text(POST_SALE_MAP, encoding="utf-8")
    rates = write_csv(
        tmp_path,
        "rates.csv",
        "currency,rate,valid_from,valid_to",
        ["USD,1,,", "EUR,0.8,2024-01-01,2024-07-01", "EUR,0.9,2024-07-01,"],
    )
    result = ingest(src, tmp_path / "out", map_path=tmp_path / "map.yaml", fx_rates=rates)
    orders = pd.read_parquet(tmp_path / "out" / "orders.parquet").set_index(c.ORDER_ID)
    # Hand calculation at each order's own date (see the rows' comments).
    assert orders.loc[["O1", "O2", "O3"], c.AMOUNT].tolist() == pytest.approx([100, 100, 50])
    assert pd.isna(orders.loc["O4", c.AMOUNT])
    assert orders[c.AMOUNT_ORIGINAL].tolist() == pytest.approx([80, 90, 50, 10])
    assert orders.loc["O1", c.CURRENCY] == "EUR"  # the row's own currency is kept
    assert pd.isna(orders.loc["O3", c.CURRENCY])
    subs = pd.read_parquet(tmp_path / "out" / "subscriptions.parquet")
    # Hand: Feb at 0.8 -> 0 and 100 USD; Aug at 0.9 -> 80/0.9 = 88.89 and 90/0.9 = 100 USD.
    assert subs[c.MRR_BEFORE].tolist() == pytest.approx([0, 80 / 0.9])
    assert subs[c.MRR_AFTER].tolist() == pytest.approx([100, 100])
    assert subs[c.MRR_BEFORE_ORIGINAL].tolist() == pytest.approx([0, 80])
    assert subs[c.MRR_AFTER_ORIGINAL].tolist() == pytest.approx([80, 90])
    notes = " ".join(result.manifest["notes"])
    assert "deal amounts only" not in notes
    assert "1 orders in GBP have no exchange rate to USD" in notes
    # Accounting is unchanged: every row in, the same rows clean.
    assert result.manifest["tables"][c.ORDERS]["rows_clean"] == 4
    assert result.manifest["tables"][c.SUBSCRIPTIONS]["rows_clean"] == 2


def test_convert_post_sale_without_a_currency_column_leaves_money_as_exported():
    from analysis.ingest.fx import convert_post_sale

    rates = Rates(rates_frame(pd.Series(["USD", "EUR"]), pd.Series([1.0, 0.8])), "USD", "t")
    frame = pd.DataFrame({c.ORDERED_AT: _at("2024-01-01"), c.AMOUNT: [80.0]})
    out, notes = convert_post_sale(c.ORDERS, frame, rates, "USD")
    assert out[c.AMOUNT].tolist() == [80.0]
    assert c.AMOUNT_ORIGINAL not in out
    assert "no currency column" in notes[0]
