"""Conversion by contact channel on the UCI Bank Marketing data (real, public).

Reference figures: ../shared/datasets/README.md (bank-full.csv, 45,211 calls):
conversion y = yes by contact: cellular 14.92%, unknown 4.07%.
"""

from __future__ import annotations

import pandas as pd
import pytest
from score_reference import mn_interval
from statsmodels.stats.proportion import test_proportions_2indep as sm_test_2indep

from analysis.core import paths
from analysis.experiments import columns as c
from analysis.experiments import compare_conversion

BANK = paths.SHARED_DATASETS_DIR / "uci_bank" / "bank-full.csv"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not BANK.exists(),
        reason=f"UCI bank data set not found at {BANK} (shared datasets are not part of a clone)",
    ),
]


@pytest.fixture(scope="module")
def bank() -> pd.DataFrame:
    return pd.read_csv(BANK, sep=";", usecols=["contact", "y"])


def test_conversion_by_contact_matches_published_figures(bank):
    result = compare_conversion(bank, variant="contact", converted="y", control="unknown")
    frame = result.to_frame().set_index(c.VARIANT)
    # Published figures (datasets README): cellular 14.92%, unknown 4.07%.
    assert round(frame.loc["cellular", c.RATE], 4) == 0.1492
    assert round(frame.loc["unknown", c.RATE], 4) == 0.0407
    assert frame[c.N_UNITS].sum() == 45_211  # rows of bank-full.csv
    for variant in frame.index:
        assert frame.loc[variant, c.RATE_CI_LOW] < frame.loc[variant, c.RATE]
        assert frame.loc[variant, c.RATE] < frame.loc[variant, c.RATE_CI_HIGH]
    assert result.omnibus_p_value < 1e-10  # three channels differ overwhelmingly


def test_cellular_against_unknown_matches_statsmodels(bank):
    two = bank[bank["contact"].isin(["cellular", "unknown"])]
    result = compare_conversion(two, variant="contact", converted="y", control="unknown")
    cell = result.to_frame().set_index(c.VARIANT).loc["cellular"]
    counts = two.assign(yes=two["y"] == "yes").groupby("contact")["yes"].agg(["sum", "size"])
    x1, n1 = counts.loc["cellular"]
    x0, n0 = counts.loc["unknown"]
    ref = sm_test_2indep(x1, n1, x0, n0, method="score", compare="diff")  # statsmodels
    lo, hi = mn_interval(x1, n1, x0, n0)  # brute force, tests/score_reference.py
    assert cell[c.Z] == pytest.approx(ref.statistic) and cell[c.P_VALUE] == pytest.approx(
        ref.pvalue
    )
    assert (cell[c.DIFF_CI_LOW], cell[c.DIFF_CI_HIGH]) == pytest.approx((lo, hi), abs=1e-8)
    # Published rates: 14.92% - 4.07% = 10.85 points, within the interval.
    assert cell[c.DIFF_CI_LOW] < 0.1085 < cell[c.DIFF_CI_HIGH]
