"""Hand-built leads and the default sample, shared by the marketing tests."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.marketing import columns as c
from analysis.sample import generate_sample

LEAD_COLUMNS = (
    c.LEAD_ID, c.CREATED_AT, c.SOURCE, c.MQL_AT, c.ACCEPTED_AT, c.SQL_AT, c.DISQUALIFIED_AT,
    c.RECYCLED_AT, c.FIRST_RESPONSE_AT, c.CONVERTED_AT, c.CONVERTED_DEAL_ID,
)  # fmt: skip


def leads_frame(rows: list[dict]) -> pd.DataFrame:
    """A canonical leads table from dicts naming only the columns a lead has."""
    frame = pd.DataFrame([{col: row.get(col) for col in LEAD_COLUMNS} for row in rows])
    for col in LEAD_COLUMNS:
        if col.endswith("_at"):
            frame[col] = pd.to_datetime(frame[col], utc=True)
    return frame


def deals_frame(rows: list[tuple]) -> pd.DataFrame:
    """Deals from (deal_id, created, outcome, closed) tuples."""
    return pd.DataFrame({
        c.DEAL_ID: [r[0] for r in rows],
        c.CREATED_AT: pd.to_datetime([r[1] for r in rows], utc=True),
        c.OUTCOME: [r[2] for r in rows],
        c.CLOSED_AT: pd.to_datetime([r[3] for r in rows], utc=True),
        c.AMOUNT: 100.0,
        c.SEGMENT: c.B2B,
    })  # fmt: skip


@pytest.fixture(scope="module")
def make_ws():
    """``make_ws(lead dicts, deal tuples)``: a workspace of hand-built leads and deals."""

    def build(leads: list[dict], deals: list[tuple]):
        return analysis.connect({c.LEADS: leads_frame(leads), c.DEALS: deals_frame(deals)})

    return build


@pytest.fixture(scope="module")
def sample():
    """The default sample (its truth in ``truth["leads"]``) and its workspace."""
    crm = generate_sample()
    return crm, analysis.connect(dict(crm.tables))
