"""HubSpot deal properties read into canonical columns, on hand-made deals.

Expected values are hand calculations from the rows below and HubSpot's
property semantics (``hs_is_closed_won``, ``hs_is_closed``,
``hs_is_closed_lost``; ``amount_in_home_currency`` is the amount in the
company currency).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest.vendors import VendorOptions
from analysis.ingest.vendors import hubspot_fields as hf


def test_outcome_from_closed_won_and_closed_lost():
    deals = pd.DataFrame(
        {
            "Deal Stage": ["a", "b", "c", "d"],
            "hs_is_closed_won": ["true", "false", "false", None],
            "hs_is_closed_lost": ["false", "true", "false", None],
        }
    )
    got = hf.outcomes(deals, {}, Path("deals.csv"))
    assert got.tolist()[:3] == [c.WON, c.LOST, c.OPEN]
    assert pd.isna(got.iloc[3])  # neither flag given: unknown, quarantined later


def test_outcome_is_never_guessed_from_stage_labels():
    deals = pd.DataFrame({"Deal Stage": ["Closed Won"], "Is Closed Won": ["true"]})
    with pytest.raises(InputError) as err:
        hf.outcomes(deals, {}, Path("deals.csv"))
    assert err.value.column == "Is Closed Won"


def _money_deals() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Amount": ["100", "200", "50"],
            "Currency": ["EUR", "EUR", "USD"],
            "Amount in company currency": ["108", "216", "50"],
            "Create Date": ["2026-01-01"] * 3,
            hf.CLOSE: [None] * 3,
        }
    )


def test_amount_in_company_currency_names_the_company_currency():
    deals, notes = _money_deals(), []
    specs, reporting = hf.money(deals, VendorOptions(), notes, Path("deals.csv"))
    assert reporting == "USD"  # the one currency whose amounts equal the home amounts
    assert specs[c.AMOUNT] == "Amount in company currency"
    assert specs[c.AMOUNT_ORIGINAL] == "Amount" and notes == []


def test_another_reporting_currency_needs_rates():
    options = VendorOptions(reporting_currency="EUR")
    with pytest.raises(InputError) as err:
        hf.money(_money_deals(), options, [], Path("deals.csv"))
    assert err.value.column == "Amount in company currency"
