"""A page computes each section or says, in one sentence, why it could not.

Provenance: hand-built frames and functions; the sentences are the ones
MissingInput builds from what a Shape reports missing.
"""

from __future__ import annotations

import IPython.display
import numpy as np
import pandas as pd
import pytest

import analysis
from analysis import present
from analysis.core import columns as c
from analysis.core.errors import MissingInput
from analysis.present.formatting import format_money, set_money_symbol

DEALS = pd.DataFrame(
    {
        c.DEAL_ID: ["d1", "d2", "d3"],
        c.OUTCOME: [c.WON, c.LOST, c.OPEN],
        c.SEGMENT: [c.B2B, c.B2C, c.B2B],
        c.AMOUNT: [100.0, 50.0, 75.0],
        c.CURRENCY: ["EUR"] * 3,
        c.CREATED_AT: pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-05"], utc=True),
    }
)


def time_in_stage(ws):
    raise MissingInput("Stage analyses", "the stage_events table", "Export the history.")


def win_rates(ws):
    return "computed"


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **_: out.extend(objs))
    yield out
    set_money_symbol("$")


def test_a_missing_input_skips_the_section_with_its_sentence(shown):
    page, ws = present.Page(), object()
    assert page.compute(time_in_stage, ws) is None
    assert page.compute(win_rates, ws) == "computed"
    assert page.shows(win_rates) and not shown
    assert not page.shows(time_in_stage)
    # The section is named after the function computed, with the analysis's reason.
    assert shown[0].data == (
        "*Time in stage is not computed: the data lacks the stage\\_events table. "
        "Export the history.*"
    )
    assert page.notes() == [
        "Time in stage is not computed: the data lacks the stage_events table. Export the history."
    ]


def test_a_result_resting_on_a_skipped_one_is_skipped_too():
    page = present.Page()
    assert page.compute(win_rates, None) is None  # a None positional argument
    assert "rests on a result this page could not compute" in page.notes()[0]


def test_a_named_section_keeps_two_uses_of_one_function_apart(shown):
    page = present.Page()
    page.compute(time_in_stage, object(), section="Time in stage by rep")
    assert page.shows(time_in_stage) and not page.shows("Time in stage by rep")


def test_other_errors_are_never_turned_into_notes():
    def broken(ws):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        present.Page().compute(broken, object())


def test_a_page_on_data_states_cut_off_and_prints_money_in_its_currency(shown):
    page = present.Page(analysis.connect({c.DEALS: DEALS}))
    # Cut-off: the latest creation time, 2025-03-05; three deals; all in EUR.
    assert page.header == "3 deals, data up to 2025-03-05 (cut-off); amounts in EUR."
    assert format_money(2500.0) == "€2,500"


def test_write_outputs_writes_no_file_for_a_skipped_table(tmp_path):
    written = present.write_outputs(
        tmp_path, {"kept": pd.DataFrame({"a": [1]}), "skipped": None}, {"t": pd.DataFrame()}
    )
    assert sorted(p.name for p in written) == ["kept.csv", "summary.json"]


def test_missing_interval_bounds_are_said_in_words_never_nan():
    assert present.format_rate(0.5, np.nan, np.nan) == "50.0% (no interval: too few deals)"
    assert present.format_days(12.0, np.nan, 20.0) == "12.0 days (no interval: too few deals)"
    assert present.format_days(12.0, 9.5, 20.0) == "12.0 days [9.5–20.0]"
    assert present.is_missing(pd.NA) and present.is_missing(np.float64("nan"))
    assert not present.is_missing("text")
