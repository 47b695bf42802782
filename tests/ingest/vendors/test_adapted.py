"""The steps the three CRM adapters share, on hand-made frames.

Expected values are hand calculations from the rows written in each test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    custom_column,
    deleted_rows,
    full_names,
    require,
    segment_values,
    stem_key,
)
from analysis.ingest.vendors.stages import (
    outcome_from_flags,
    stage_changes,
    stage_flags,
)


def test_outcome_from_flags_leaves_unknown_closed_or_won_missing():
    closed = pd.Series([True, True, False, None, True], dtype="boolean")
    won = pd.Series([True, False, None, None, None], dtype="boolean")
    got = outcome_from_flags(closed, won)
    assert got.tolist()[:3] == [c.WON, c.LOST, c.OPEN]
    assert got.iloc[3:].isna().all()  # closed unknown; closed with won unknown


def test_stage_flags_of_an_unknown_stage_are_missing():
    closed, won = stage_flags(pd.Series([(True, False), None], dtype=object))
    assert closed.tolist() == [True, pd.NA] and won.tolist() == [False, pd.NA]


def test_stage_changes_compare_labels_as_keys_per_deal_in_time_order():
    deals = pd.Series(["a", "a", "b", "a", "a", "b"])
    stages = pd.Series(["Neu", "neu ", "Neu", "Angebot", "Angebot", None])
    days = ["2026-01-01", "2026-01-02", "2026-01-01", "2026-01-04", "2026-01-03", "2026-01-02"]
    times = pd.Series(pd.to_datetime(days, utc=True))
    judge = stages.notna().to_numpy()
    # a in time: Neu, neu (the same key), Angebot (row 4), Angebot (row 3, no change);
    # b: its first row is a change; its blank stage is not judged.
    got = stage_changes(deals, stages, times, judge)
    assert got.tolist() == [True, False, True, False, True, False]


def test_stage_changes_order_ranks_rows_at_the_same_time():
    deals = pd.Series(["a", "a", "a"])
    stages = pd.Series(["Neu", "Neu", "won"])
    times = pd.Series(pd.to_datetime(["2026-01-02"] * 3, utc=True))
    judge = np.ones(3, dtype=bool)
    # Without an order the rows stand as written.
    assert stage_changes(deals, stages, times, judge).tolist() == [True, False, True]
    # Ranked: won first, then the two Neu rows (the second no change).
    order = np.array([2.0, 1.0, 0.0])
    assert stage_changes(deals, stages, times, judge, order).tolist() == [False, True, True]


def test_require_names_every_missing_field_and_the_first_as_column():
    frame = pd.DataFrame(columns=["Id", "Name"])
    assert require(frame, ["id"], file=Path("User.csv"), what="the X file", advice="Do.") == ["Id"]
    with pytest.raises(InputError) as err:
        require(
            frame,
            ["id", "a", "b"],
            file=Path("User.csv"),
            what="the X file",
            advice="Export them.",
            header=str.upper,
        )
    assert "the X file lacks a, b; columns found: Id, Name. Export them." in str(err.value)
    assert err.value.column == "A"


def test_custom_column_tries_patterns_in_order_and_skips_computed_columns():
    frame = pd.DataFrame(
        columns=[COMPUTED + "segment", "Region__c", "Customer_Segment__c", "hash1"]
    )
    assert custom_column(frame, r"segment") == "Customer_Segment__c"
    assert custom_column(frame, r"nothing", r"^region") == "Region__c"
    assert custom_column(frame, r"segment", skip=lambda h: "Segment" in h) is None
    assert custom_column(frame, r"^tier$", label=lambda h: {"hash1": "Tier"}.get(h, h)) == "hash1"


def test_deleted_rows_blank_and_absent_flags_are_not_deleted():
    frame = pd.DataFrame({"IsDeleted": ["true", "false", None, "1"]})
    assert deleted_rows(frame, "isdeleted").tolist() == [True, False, False, True]
    assert deleted_rows(frame, "archived").tolist() == [False] * 4


def test_segment_values_and_full_names():
    got = segment_values(pd.Series([" b2b", "B2C", " Enterprise ", None], dtype="str"))
    assert got.tolist()[:3] == [c.B2B, c.B2C, "Enterprise"] and pd.isna(got.iloc[3])
    users = pd.DataFrame({"first": ["Ana", None], "last": ["Ruiz", "Lee"]})
    assert full_names(users, "first", "last").tolist() == ["Ana Ruiz", "Lee"]
    assert full_names(users, "first", None).isna().all()


def test_stem_key():
    assert stem_key("Opportunity_History-2026 01") == "opportunityhistory202601"


def test_a_label_won_in_one_pipeline_and_open_in_another_is_refused():
    from types import MappingProxyType

    from analysis.core.errors import InputError
    from analysis.core.stages import Pipeline, StageConfig
    from analysis.ingest.vendors.stages import combined_pipeline

    new = Pipeline("neukunden", ("angebot",), "won", "lost", MappingProxyType({"Vertrag": "won"}))
    old = Pipeline("bestand", ("vertrag",), "won", "lost")
    for order in ((new, old), (old, new)):  # whichever pipeline comes first
        config = StageConfig(MappingProxyType({p.name: p for p in order}), order[0].name)
        with pytest.raises(InputError, match="'vertrag'"):
            combined_pipeline(config)
    # Labels that agree merge: both pipelines' "Angebot" is the stage angebot.
    same = Pipeline("bestand", ("angebot", "abschluss"), "won", "lost")
    joined = combined_pipeline(StageConfig(MappingProxyType({"a": new, "b": same}), "a"))
    assert joined.stages == ("angebot", "abschluss") and joined.normalise("Vertrag") == "won"
