"""Shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import columns as c
from analysis import config


def make_processed_folder(folder: Path, n_deals: int = 400, seed: int = 7) -> Path:
    """A small processed folder (Parquet + manifest) with known counts, for report tests.

    Outcomes are drawn with a seeded generator; tests compare results with
    counts taken from these same frames, never with hard-coded totals.
    """
    rng = np.random.default_rng(seed)
    created = pd.Timestamp("2025-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 365, n_deals), unit="D"
    )
    deals = pd.DataFrame(
        {
            c.DEAL_ID: [f"D{i:05d}" for i in range(n_deals)],
            c.CREATED_AT: created,
            c.OUTCOME: rng.choice([c.WON, c.LOST, c.OPEN], n_deals, p=[0.3, 0.45, 0.25]),
            c.AMOUNT: rng.lognormal(8, 1, n_deals),
            c.SEGMENT: rng.choice([c.B2B, c.B2C], n_deals),
        }
    )
    events = pd.DataFrame(
        {
            c.DEAL_ID: deals[c.DEAL_ID].repeat(2).to_numpy(),
            c.STAGE: ["prospecting", "qualification"] * n_deals,
            c.ENTERED_AT: created.repeat(2) + pd.to_timedelta(np.tile([0, 4], n_deals), unit="D"),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    deals.to_parquet(folder / "deals.parquet")
    events.to_parquet(folder / "stage_events.parquet")
    manifest = {
        "tables": {
            c.DEALS: {
                "rows_in": n_deals + 2,
                "rows_clean": n_deals,
                "rows_quarantined": 2,
                "quarantine_reasons": {"duplicate_id": 2},
            },
            c.STAGE_EVENTS: {
                "rows_in": 2 * n_deals,
                "rows_clean": 2 * n_deals,
                "rows_quarantined": 0,
                "quarantine_reasons": {},
            },
        }
    }
    (folder / config.MANIFEST_FILENAME).write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="session")
def processed_folder(tmp_path_factory) -> Path:
    return make_processed_folder(tmp_path_factory.mktemp("processed"))
