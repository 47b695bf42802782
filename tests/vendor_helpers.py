"""What the CRM round-trip tests (tests/ingest/vendors) share: the two sides they compare."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c


def processed_deals(folder) -> pd.DataFrame:
    """The deals ingest wrote, indexed by deal id (the CRM's own ids)."""
    return pd.read_parquet(folder / "deals.parquet").set_index(c.DEAL_ID)


def sample_deals(crm, planted) -> pd.DataFrame:
    """The sample's canonical deals, indexed by the id the writer gave each in the CRM."""
    truth = crm.tables[c.DEALS].copy()
    truth.index = truth[c.DEAL_ID].map(planted.ids)
    return truth
