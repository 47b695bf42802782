"""Ingest of the real Maven Analytics CRM export through config/maps/maven_crm.yaml.

Reference values: ../shared/datasets/README.md (counted from sales_pipeline.csv
by the data set's publisher and re-counted there): 4,238 won, 2,473 lost,
1,589 Engaging, 500 Prospecting; win rate won/(won+lost) = 63.15%; won
revenue 10,005,534.
"""

from __future__ import annotations

import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.core import paths
from analysis.ingest import ingest, read_manifest

MAVEN = paths.SHARED_DATASETS_DIR / "maven_crm"

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(
        not (MAVEN / "sales_pipeline.csv").exists(),
        reason=f"Maven CRM data set not found at {MAVEN} (shared datasets are not part of a clone)",
    ),
]


@pytest.fixture(scope="module")
def maven(tmp_path_factory):
    out = tmp_path_factory.mktemp("maven") / "processed"
    result = ingest(MAVEN, out, map_path=paths.MAVEN_MAP_FILE)
    return out, result


def test_counts_and_revenue(maven):
    out, result = maven
    deals = pd.read_parquet(out / "deals.parquet")
    assert len(deals) == 8_800
    assert result.manifest["tables"][c.DEALS]["rows_quarantined"] == 0
    counts = deals[c.OUTCOME].value_counts()
    assert (counts[c.WON], counts[c.LOST], counts[c.OPEN]) == (4_238, 2_473, 2_089)
    assert deals.loc[deals[c.OUTCOME] == c.WON, c.AMOUNT].sum() == 10_005_534
    assert round(counts[c.WON] / (counts[c.WON] + counts[c.LOST]), 4) == 0.6315
    assert deals[c.STAGE].value_counts()["qualification"] == 1_589
    assert deals[c.STAGE].value_counts()["prospecting"] == 500
    assert deals[c.CREATED_AT].isna().sum() == 500  # allow_null: never engaged
    assert set(deals[c.SEGMENT]) == {c.B2B} and set(deals[c.CURRENCY]) == {"USD"}
    assert "GTXPro" not in set(deals[c.PRODUCT]) and "GTX Pro" in set(deals[c.PRODUCT])


def test_reps(maven):
    out, _ = maven
    reps = pd.read_parquet(out / "reps.parquet")
    assert len(reps) == 35
    assert set(reps[c.REGION]) == {"Central", "East", "West"}


def test_manifest_reconciles_and_lists_ignored(maven):
    out, _ = maven
    manifest = read_manifest(out)
    # The contract: every entry under "tables" reconciles, derived tables included
    # (they are not there: they live under "derived").
    assert list(manifest["tables"]) == [c.DEALS, c.REPS]
    for table, info in manifest["tables"].items():
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table
    assert manifest["ignored_files"] == ["accounts.csv", "data_dictionary.csv", "products.csv"]
    assert manifest["map"].endswith("maven_crm.yaml")


def test_derived_stage_events(maven):
    out, result = maven
    manifest = read_manifest(out)
    events = pd.read_parquet(out / "stage_events.parquet")
    assert events[c.DERIVED].all()
    info = manifest["derived"][c.STAGE_EVENTS]
    assert info["from"] == "deals.stage" and info["rows"] == len(events)
    assert info["last_open_stage"] == "qualification"
    assert c.STAGE_EVENTS not in manifest["tables"]
    frame = result.to_frame().set_index("table")
    assert frame.loc[c.STAGE_EVENTS, "derived"]
    assert frame.loc[c.STAGE_EVENTS, "rows_derived"] == len(events)
    assert f"stage_events: {len(events):,} rows derived from deals.stage" in result.summary()
    assert any("implied" in note for note in manifest["notes"])
    # Hand count: every deal prospects; 8,300 engaged deals qualify; 6,711 closed.
    counts = events[c.STAGE].value_counts()
    assert counts["prospecting"] == 8_800
    assert counts["qualification"] == 8_300
    assert counts[c.WON] == 4_238 and counts[c.LOST] == 2_473
    assert set(counts.index) == {"prospecting", "qualification", c.WON, c.LOST}
    assert events.loc[events[c.STAGE] == "qualification", c.ENTERED_AT].notna().all()
    assert events.loc[events[c.STAGE] == "prospecting", c.ENTERED_AT].isna().all()
