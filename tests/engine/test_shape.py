"""Declared data shapes: what counts as missing, the sentence it gives, the generated docs.

Provenance of expected values: the small frames built here by hand.
"""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

import analysis
from analysis.core import columns as c
from analysis.core.errors import InputError, MissingInput
from analysis.core.paths import PROJ_ROOT
from analysis.engine import needs
from analysis.engine.shape import Shape, data_needs_markdown, empty_columns

DEALS = pd.DataFrame(
    {
        c.DEAL_ID: ["d1", "d2"],
        c.OUTCOME: [c.WON, c.OPEN],
        c.SEGMENT: [c.B2B, c.B2C],
        c.AMOUNT: [10.0, 20.0],
        c.CREATED_AT: pd.to_datetime(["2025-01-01", "2025-02-01"], utc=True),
        c.CLOSED_AT: pd.Series([pd.NaT, pd.NaT], dtype="datetime64[us, UTC]"),
    }
)
SHAPE = Shape(
    "Example",
    needs={c.DEALS: (c.CREATED_AT, c.CLOSED_AT, c.OWNER_ID), c.STAGE_EVENTS: (c.STAGE,)},
    supply="Map them.",
)


def test_absent_table_absent_column_and_blank_column_are_all_missing():
    ws = analysis.connect({c.DEALS: DEALS})
    # closed_at exists but every row is blank; owner_id is not a column; no stage_events.
    assert SHAPE.missing(ws) == ("deals.closed_at", "deals.owner_id", "the stage_events table")


def test_check_raises_one_sentence_naming_what_and_how():
    ws = analysis.connect({c.DEALS: DEALS})
    with pytest.raises(MissingInput) as caught:
        SHAPE.check(ws)
    assert caught.value.sentence == (
        "Example is not computed: the data lacks deals.closed_at, deals.owner_id and "
        "the stage_events table. Map them."
    )
    assert isinstance(caught.value, InputError)  # the CLI's exit 2 for direct calls


def test_a_table_without_rows_lacks_no_column():
    ws = analysis.connect({c.DEALS: DEALS.iloc[0:0]})
    assert empty_columns(ws, c.DEALS, [c.CREATED_AT, c.CLOSED_AT]) == []


def test_labels_only_some_rows_carry_are_missing_only_when_absent():
    ws = analysis.connect({c.DEALS: DEALS.assign(**{c.COMPETITOR: pd.NA})})
    assert needs.COMPETITORS.missing(ws) == ()
    assert needs.COMPETITORS.missing(analysis.connect({c.DEALS: DEALS})) == ("deals.competitor",)


def test_docs_data_needs_is_generated_from_the_declarations():
    # docs/data-needs.md must be the output of `python -m analysis.engine.shape`.
    generated = subprocess.run(
        [sys.executable, "-m", "analysis.engine.shape"], capture_output=True, text=True, check=True
    ).stdout
    assert generated == data_needs_markdown(needs.ALL)
    assert (PROJ_ROOT / "docs" / "data-needs.md").read_text(encoding="utf-8") == generated
