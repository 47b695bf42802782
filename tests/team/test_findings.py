"""Tests of analysis.team.findings: sentences read like the tables they come from."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.team import columns as c
from analysis.team.acquisition import PAID_CAC
from analysis.team.findings import acquisition_sentences


def _cac_row(payback: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c.CAC: [2000.0], c.CAC_CI_LOW: [900.0], c.CAC_CI_HIGH: [8474.0],
            c.NEW_CUSTOMERS: [4], PAID_CAC: [2037.0], c.PAYBACK_MONTHS: [payback],
            c.SPEND_TOTAL: [8000.0], c.NOTE: [""],
        }
    )  # fmt: skip


def test_acquisition_sentence_with_and_without_a_payback():
    # Hand-built rows. Found on the four-currency shape: "payback nan months" once CAC was
    # computed on default runs; an unknown payback now says why instead.
    (known,) = acquisition_sentences(_cac_row(7.25), None, 0.7, 3.0)
    assert "payback 7.2 months at a 70% gross margin." in known
    (unknown,) = acquisition_sentences(_cac_row(np.nan), None, 0.7, 3.0)
    assert "nan" not in unknown and "no payback: the won amounts could not be used" in unknown
