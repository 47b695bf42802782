"""The currency of amounts: read from the data, and amounts set aside when not comparable.

Provenance: hand-built frames; a converted amount differs from its original.
"""

from __future__ import annotations

import pandas as pd

import analysis
from analysis.core import columns as c


def deals(currencies, amounts, originals):
    n = len(currencies)
    return pd.DataFrame(
        {
            c.DEAL_ID: [f"d{i}" for i in range(n)],
            c.OUTCOME: [c.WON] * n,
            c.SEGMENT: [c.B2B] * n,
            c.CREATED_AT: pd.Timestamp("2025-01-01", tz="UTC"),
            c.AMOUNT: amounts,
            c.CURRENCY: currencies,
            c.AMOUNT_ORIGINAL: originals,
        }
    )


def test_one_currency_is_the_currency_of_amounts():
    ws = analysis.connect({c.DEALS: deals(["EUR", "EUR"], [1.0, 2.0], [1.0, 2.0])})
    assert ws.money.currency == "EUR" and ws.money.symbol == "€" and ws.money.comparable


def test_converted_amounts_are_in_the_currency_that_kept_its_originals():
    # The GBP deal's amount (125) differs from its original (100): converted into USD.
    ws = analysis.connect({c.DEALS: deals(["USD", "GBP"], [50.0, 125.0], [50.0, 100.0])})
    assert ws.money.currency == "USD" and ws.money.comparable


def test_several_currencies_never_converted_are_set_aside_with_a_note():
    ws = analysis.connect({c.DEALS: deals(["USD", "MXN"], [50.0, 900.0], [50.0, 900.0])})
    assert not ws.money.comparable and ws.money.currency is None
    assert ws.execute(ws.deals[c.AMOUNT].count()) == 0  # never summed across currencies
    assert "2 currencies (MXN, USD)" in ws.money.note


def test_no_currency_column_means_no_symbol():
    plain = deals(["USD"], [1.0], [1.0]).drop(columns=[c.CURRENCY, c.AMOUNT_ORIGINAL])
    ws = analysis.connect({c.DEALS: plain})
    assert ws.money.currency is None and ws.money.symbol == ""


def test_blank_labels_are_an_unknown_group():
    frame = deals(["USD"] * 3, [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).assign(
        **{
            c.OUTCOME: [c.WON, c.LOST, c.LOST],
            c.SEGMENT: [c.B2B, None, c.B2C],
            c.LOSS_REASON: [None, None, "price"],
        }
    )
    got = analysis.connect({c.DEALS: frame}).deals.execute()
    assert got[c.SEGMENT].tolist() == [c.B2B, c.UNKNOWN, c.B2C]
    assert got[c.LOSS_REASON].isna().tolist() == [True, True, False]  # counted, not a group
