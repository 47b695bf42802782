"""Tests of analysis.present.labels: pages show human column labels, data keeps machine names."""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.present import styled_table
from analysis.present.labels import column_label


@pytest.mark.parametrize(
    ("name", "label"),
    [  # issue 18, item 4: raw names such as these were shown on the pages
        ("horizon_days", "Horizon (days)"),
        ("followed_current", "Followed, current"),
        ("conversion_baseline", "Conversion, baseline"),
        ("diff_ci_low", "Difference (interval low)"),
        ("ci_high", "Interval high"),
        ("owner_id", "Rep"),
        ("cac_payback_months", "CAC payback (months)"),
        ("p_adjusted", "Adjusted p-value"),
        ("converted_by_30", "Converted by day 30"),
        ("win_rate", "Win rate"),
    ],
)
def test_column_labels(name, label):
    assert column_label(name) == label


def test_a_styled_table_shows_labels_and_keeps_the_data_names():
    frame = pd.DataFrame({"horizon_days": [30.0], "win_rate": [0.25]})
    page = styled_table(frame, percent=("win_rate",)).to_html()
    assert "Horizon (days)" in page and "Win rate" in page and "horizon_days" not in page
    assert list(frame.columns) == ["horizon_days", "win_rate"]  # what CSV exports write


def test_money_shows_whole_units_with_thousands_separators():
    # Issue 18, item 4: revenue_impact read "30,893.4"; cents are noise on a page.
    frame = pd.DataFrame({"revenue_impact": [30893.4], "horizon_days": [35.0]})
    page = styled_table(frame, percent=()).to_html()
    assert "30,893<" in page and "30,893.4" not in page and "35.0" in page


def test_money_headers_name_the_page_currency():
    from analysis.present.formatting import money_symbol, set_money_symbol

    before = money_symbol()
    frame = pd.DataFrame({"won_amount": [1200.0], "win_rate": [0.25]})
    try:
        set_money_symbol("€")  # what present.Page sets for EUR data
        page = styled_table(frame).to_html()
        assert "Won amount (€)" in page and "Win rate (" not in page
        set_money_symbol("")  # no known currency: no unit rather than a wrong one
        assert "Won amount<" in styled_table(frame).to_html()
    finally:
        set_money_symbol(before)
