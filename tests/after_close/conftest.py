"""Hand-built orders and subscriptions, and the samples, shared by the after-the-close tests."""

from __future__ import annotations

import pandas as pd
import pytest

import analysis
from analysis.after_close import columns as c
from analysis.sample import generate_sample

# The sample's export time: truth["generator"]["cutoff"] of every generate_sample() default.
SAMPLE_CUTOFF = "2026-07-01T00:00:00+00:00"


def orders_frame(rows: list[tuple]) -> pd.DataFrame:
    """Orders from (order_id, customer_id, ordered_at, deal_id, amount, currency) tuples."""
    return pd.DataFrame({
        c.ORDER_ID: [r[0] for r in rows],
        c.CUSTOMER_ID: [r[1] for r in rows],
        c.ORDERED_AT: pd.to_datetime([r[2] for r in rows], utc=True),
        c.DEAL_ID: [r[3] for r in rows],
        c.AMOUNT: [float(r[4]) for r in rows],
        c.CURRENCY: [r[5] for r in rows],
    })  # fmt: skip


def subscriptions_frame(rows: list[tuple]) -> pd.DataFrame:
    """Subscription changes from (customer, effective_at, type, before, after, deal, discount)."""
    return pd.DataFrame({
        c.CUSTOMER_ID: [r[0] for r in rows],
        c.EFFECTIVE_AT: pd.to_datetime([r[1] for r in rows], utc=True),
        c.CHANGE_TYPE: [r[2] for r in rows],
        c.MRR_BEFORE: [float(r[3]) for r in rows],
        c.MRR_AFTER: [float(r[4]) for r in rows],
        c.DEAL_ID: [r[5] for r in rows],
        c.DISCOUNT: [r[6] for r in rows],
    })  # fmt: skip


def deals_frame(rows: list[tuple]) -> pd.DataFrame:
    """Won deals from (deal_id, created, closed, source, region, amount) tuples."""
    return pd.DataFrame({
        c.DEAL_ID: [r[0] for r in rows],
        c.CREATED_AT: pd.to_datetime([r[1] for r in rows], utc=True),
        c.CLOSED_AT: pd.to_datetime([r[2] for r in rows], utc=True),
        c.OUTCOME: c.WON,
        c.SOURCE: [r[3] for r in rows],
        c.REGION: [r[4] for r in rows],
        c.AMOUNT: [float(r[5]) for r in rows],
        c.SEGMENT: c.B2C,
    })  # fmt: skip


@pytest.fixture(scope="module")
def sample():
    """The default sample (5,000 deals, seed 20240601) and its workspace."""
    crm = generate_sample()
    return crm, analysis.connect(dict(crm.tables))


@pytest.fixture(scope="module")
def large():
    """A 100,000-deal sample (seed 7), for the planted contrasts, and its workspace."""
    crm = generate_sample(100_000, seed=7)
    return crm, analysis.connect(dict(crm.tables))
