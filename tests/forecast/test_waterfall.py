"""Tests for analysis.forecast.waterfall: the pipeline of a window bridged from start to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
from analysis.forecast import columns as c
from analysis.forecast.snapshot import pipeline_as_of
from analysis.forecast.waterfall import pipeline_waterfall
from analysis.sample import generate_sample


def _t(s: str) -> pd.Timestamp:
    return pd.Timestamp(s, tz="UTC")


def _identity(block: pd.DataFrame) -> tuple[int, float, int, float]:
    """(flows-implied end count, amount, measured end count, amount) of one block."""
    rows = block.set_index(c.COMPONENT)
    count, amount = 0, 0.0
    for name in c.COMPONENTS[:-1]:
        sign = 1 if name == c.START else c.COMPONENT_SIGNS[name]
        amount += sign * rows.loc[name, c.AMOUNT]
        if name not in c.AMOUNT_ONLY:
            count += sign * rows.loc[name, c.COUNT]
    return count, amount, rows.loc[c.END, c.COUNT], rows.loc[c.END, c.AMOUNT]


START, END = _t("2026-04-01"), _t("2026-07-01")  # the quarter; close_by defaults to END
# Hand-built, every component non-zero; values by hand beside each deal.
HISTORY = [
    # D1 in the start pipeline (close Jun 15), raised 100 -> 150 on May 1, open at the
    # end: start 100, increased +50, end 150.
    {"id": "D1", "created": _t("2026-02-01"), "segment": c.B2B,
     "initial": {c.AMOUNT: 100.0, c.EXPECTED_CLOSE_AT: _t("2026-06-15")},
     "changes": [(_t("2026-05-01"), c.AMOUNT, 150.0)]},
    # D2 in the start pipeline, cut 200 -> 120 on Apr 20, won May 20: start 200,
    # decreased 80, won 120 (the amount it was won at).
    {"id": "D2", "created": _t("2026-01-15"), "closed": _t("2026-05-20"), "outcome": c.WON,
     "segment": c.B2C, "initial": {c.AMOUNT: 200.0, c.EXPECTED_CLOSE_AT: _t("2026-05-31")},
     "changes": [(_t("2026-04-20"), c.AMOUNT, 120.0)]},
    # D3 in the start pipeline, lost Apr 25: start 80, lost 80.
    {"id": "D3", "created": _t("2026-03-01"), "closed": _t("2026-04-25"), "outcome": c.LOST,
     "segment": c.B2B, "initial": {c.AMOUNT: 80.0, c.EXPECTED_CLOSE_AT: _t("2026-04-30")}},
    # D4 in the start pipeline, raised 300 -> 320 on May 10, pushed to Aug 15 on Jun 10,
    # open: start 300, increased +20, moved out 320 (its amount at the end).
    {"id": "D4", "created": _t("2026-02-10"), "segment": c.B2B,
     "initial": {c.AMOUNT: 300.0, c.EXPECTED_CLOSE_AT: _t("2026-06-30")},
     "changes": [(_t("2026-05-10"), c.AMOUNT, 320.0),
                 (_t("2026-06-10"), c.EXPECTED_CLOSE_AT, _t("2026-08-15"))]},
    # D5 created May 5 to close Jun 20, open: created 50, end 50.
    {"id": "D5", "created": _t("2026-05-05"), "segment": c.B2C,
     "initial": {c.AMOUNT: 50.0, c.EXPECTED_CLOSE_AT: _t("2026-06-20")}},
    # D6 open since Jan 10 to close Sep 30 (outside at the start), cut to 350 before the
    # start, pulled in to Jun 25 on May 15, raised to 450 on Jun 1: moved in at its
    # amount at the end, 450 (no increase: it was not in the start pipeline); end 450.
    {"id": "D6", "created": _t("2026-01-10"), "segment": c.B2B,
     "initial": {c.AMOUNT: 400.0, c.EXPECTED_CLOSE_AT: _t("2026-09-30")},
     "changes": [(_t("2026-03-01"), c.AMOUNT, 350.0),
                 (_t("2026-05-15"), c.EXPECTED_CLOSE_AT, _t("2026-06-25")),
                 (_t("2026-06-01"), c.AMOUNT, 450.0)]},
    # D7 created Apr 10 and won Apr 28: created 70, won 70.
    {"id": "D7", "created": _t("2026-04-10"), "closed": _t("2026-04-28"), "outcome": c.WON,
     "segment": c.B2C, "initial": {c.AMOUNT: 70.0, c.EXPECTED_CLOSE_AT: _t("2026-04-30")}},
    # D11 logged on May 10 as won on May 2 (backdated): created 60, won 60, at its amount
    # when logged (before its creation it had none).
    {"id": "D11", "created": _t("2026-05-10"), "closed": _t("2026-05-02"), "outcome": c.WON,
     "segment": c.B2C, "initial": {c.AMOUNT: 60.0, c.EXPECTED_CLOSE_AT: _t("2026-05-02")}},
    # D8 created May 1 to close Dec 31 and still open: never in the window, not shown.
    {"id": "D8", "created": _t("2026-05-01"), "segment": c.B2B,
     "initial": {c.AMOUNT: 999.0, c.EXPECTED_CLOSE_AT: _t("2026-12-31")}},
    # D9 won Mar 15, before the period; D10 created after it: not shown.
    {"id": "D9", "created": _t("2026-01-01"), "closed": _t("2026-03-15"), "outcome": c.WON,
     "initial": {c.AMOUNT: 500.0, c.EXPECTED_CLOSE_AT: _t("2026-03-31")}},
    {"id": "D10", "created": _t("2026-07-05"),
     "initial": {c.AMOUNT: 25.0, c.EXPECTED_CLOSE_AT: _t("2026-07-20")}},
]  # fmt: skip

# (count, amount) per component, summed from the comments above.
EXPECTED = {
    c.START: (4, 680.0),  # D1 100 + D2 200 + D3 80 + D4 300
    c.CREATED: (3, 180.0),  # D5 50 + D7 70 + D11 60
    c.MOVED_IN: (1, 450.0),  # D6
    c.INCREASED: (2, 70.0),  # D1 +50, D4 +20
    c.DECREASED: (1, 80.0),  # D2 -80
    c.MOVED_OUT: (1, 320.0),  # D4
    c.WON: (3, 250.0),  # D2 120 + D7 70 + D11 60
    c.LOST: (1, 80.0),  # D3
    c.END: (3, 650.0),  # D1 150 + D5 50 + D6 450
}
# Check by hand: 680 + 180 + 450 + 70 - 80 - 320 - 250 - 80 = 650; 4 + 3 + 1 - 1 - 3 - 1 = 3.


def test_waterfall_by_hand(crm):
    ws = analysis.connect(crm.frames(HISTORY))
    result = pipeline_waterfall(ws, START, END)
    table = result.to_frame()
    assert table[c.COMPONENT].tolist() == list(c.COMPONENTS)
    assert list(table.columns) == [c.COMPONENT, c.COUNT, c.AMOUNT]
    got = {row[c.COMPONENT]: (row[c.COUNT], row[c.AMOUNT]) for row in table.to_dict("records")}
    assert got == EXPECTED
    assert result.notes == () and result.close_by == END and result.by == ()
    count, amount, end_count, end_amount = _identity(table)
    assert (count, amount) == (end_count, end_amount) == (3, 650.0)


def test_grouped_blocks_each_reconcile_and_add_up_to_the_whole(crm):
    ws = analysis.connect(crm.frames(HISTORY))
    table = pipeline_waterfall(ws, START, END, by=c.SEGMENT).to_frame()
    assert list(table.columns) == [c.SEGMENT, c.COMPONENT, c.COUNT, c.AMOUNT]
    assert table[c.SEGMENT].tolist() == [c.B2B] * 9 + [c.B2C] * 9
    for _, block in table.groupby(c.SEGMENT):
        count, amount, end_count, end_amount = _identity(block)
        assert (count, amount) == (end_count, end_amount)
    totals = table.groupby(c.COMPONENT)[[c.COUNT, c.AMOUNT]].sum()
    assert {k: (totals.loc[k, c.COUNT], totals.loc[k, c.AMOUNT]) for k in c.COMPONENTS} == EXPECTED
    # B2C by hand: D2 (start 200, -80, won 120), D5 (created 50), D7 and D11 (created
    # and won, 70 and 60).
    b2c = table[table[c.SEGMENT] == c.B2C].set_index(c.COMPONENT)
    assert b2c.loc[c.START, c.AMOUNT] == 200.0
    assert (b2c.loc[c.WON, c.COUNT], b2c.loc[c.WON, c.AMOUNT]) == (3, 250.0)


def test_a_later_close_by_widens_the_window(crm):
    # Closing by Oct 1: D4 (pushed to Aug 15) stays in, D6 (Sep 30) was in from the start.
    ws = analysis.connect(crm.frames(HISTORY))
    table = pipeline_waterfall(ws, START, END, close_by="2026-10-01").to_frame()
    rows = table.set_index(c.COMPONENT)
    assert rows.loc[c.MOVED_OUT, c.COUNT] == 0 and rows.loc[c.MOVED_IN, c.COUNT] == 0
    # Start: 680 + D6's 350 (its amount on Apr 1); D6 then rises by 100.
    assert (rows.loc[c.START, c.COUNT], rows.loc[c.START, c.AMOUNT]) == (5, 1030.0)
    assert rows.loc[c.INCREASED, c.AMOUNT] == 170.0  # D1 +50, D4 +20, D6 +100
    count, amount, end_count, end_amount = _identity(table)
    # End: D1 150 + D4 320 (Aug 15 is before Oct 1) + D5 50 + D6 450; by the bridge
    # 1030 + 180 (created) + 170 - 80 - 250 (won) - 80 (lost) = 970, 5 + 3 - 3 - 1 = 4.
    assert (count, amount) == (end_count, end_amount) == (4, 970.0)


def test_notes_name_what_the_figures_leave_out(crm):
    frames = crm.frames(HISTORY)
    ws = analysis.connect({c.DEALS: frames[c.DEALS]})
    result = pipeline_waterfall(ws, START, "2026-08-01")
    assert result.notes[0].startswith("No change history: amounts and close dates are today's")
    # The data runs to Jul 5 (D10's creation), before the end of the period.
    assert result.notes[1].startswith("The data runs to 2026-07-05: the end of the period")
    # No expected closes at all, and D9 (won Mar 15) without its close date: it is
    # open throughout, in the start and the end pipeline.
    no_dates = frames[c.DEALS].drop(columns=c.EXPECTED_CLOSE_AT)
    no_dates.loc[no_dates[c.DEAL_ID] == "D9", c.CLOSED_AT] = pd.NaT
    result = pipeline_waterfall(analysis.connect({c.DEALS: no_dates}), START, END)
    assert c.NOTE_NO_EXPECTED_CLOSE in result.notes
    assert result.notes[-1] == (
        "Won or lost without a close date: 1 deal, counted as open throughout the period."
    )
    rows = result.to_frame().set_index(c.COMPONENT)
    # Start: D1, D2, D3, D4, D6, D9 open on Apr 1; end: D1, D4, D5, D6, D8, D9.
    assert (rows.loc[c.START, c.COUNT], rows.loc[c.END, c.COUNT]) == (6, 6)


def test_bad_arguments_say_what_to_do(crm):
    ws = analysis.connect(crm.frames(HISTORY))
    with pytest.raises(ValueError, match="end must be after start"):
        pipeline_waterfall(ws, END, START)
    with pytest.raises(ValueError, match="changes over time"):
        pipeline_waterfall(ws, START, END, by=c.FORECAST_CATEGORY)
    with pytest.raises(ValueError, match="no column 'region'"):
        pipeline_waterfall(ws, START, END, by="region")


def test_every_component_has_a_sign():
    assert set(c.COMPONENT_SIGNS) == set(c.COMPONENTS)


# --- property: random histories reconcile exactly, and match a plain-Python reading ---

T0 = _t("2026-01-01")


def _day(n: int) -> pd.Timestamp:
    return T0 + pd.Timedelta(days=n)


@st.composite
def _histories(draw) -> tuple[list[dict], int, int, int | None]:
    """A few deals on a grid of whole days, so events often fall on start and end.

    Creations, edits and closes crowd into the first 60 days and the period lies
    within them, so most draws have deals entering, changing and leaving it.
    """
    deals = []
    for i in range(draw(st.integers(1, 8))):
        created = draw(st.integers(0, 40))
        amount = draw(st.one_of(st.none(), st.integers(0, 1000)))
        close = draw(st.one_of(st.none(), st.integers(0, 80)))
        initial = {c.AMOUNT: None if amount is None else float(amount),
                   c.EXPECTED_CLOSE_AT: None if close is None else _day(close)}  # fmt: skip
        changes = []
        for offset in draw(st.lists(st.integers(1, 40), unique=True, max_size=5)):
            if draw(st.booleans()):
                value = draw(st.one_of(st.none(), st.integers(0, 1000)))
                changes.append((_day(created + offset), c.AMOUNT, value and float(value)))
            else:
                changes.append((_day(created + offset), c.EXPECTED_CLOSE_AT,
                                _day(draw(st.integers(0, 80)))))  # fmt: skip
        closed = draw(st.one_of(st.none(), st.integers(-3, 40)))  # before created: backdated
        deals.append({
            "id": f"d{i}", "created": _day(created), "initial": initial, "changes": changes,
            "closed": None if closed is None else _day(created + closed),
            "outcome": c.OPEN if closed is None else draw(st.sampled_from([c.WON, c.LOST])),
            "logged": draw(st.booleans()), "segment": draw(st.sampled_from(c.SEGMENTS)),
        })  # fmt: skip
    start = draw(st.integers(0, 40))
    end = start + draw(st.integers(1, 30))
    close_by = draw(st.one_of(st.none(), st.integers(start, 80)))
    return deals, start, end, close_by


def _reference(crm, deals: list[dict], start, end, close_by) -> dict[str, tuple[int, float]]:
    """The waterfall's definitions read deal by deal in plain Python, from the timelines."""
    totals = {name: [0, 0.0] for name in c.COMPONENTS}

    def add(name, amount):
        totals[name][0] += 1
        totals[name][1] += amount

    for d in deals:
        created, closed = d["created"], d["closed"]

        def is_open(t, created=created, closed=closed):
            return created <= t and (closed is None or closed > t)

        def in_window(t, d=d):
            close = crm.value_at(d, c.EXPECTED_CLOSE_AT, t)
            return is_open(t) and close is not None and close < close_by

        def amount(t, d=d):
            return crm.value_at(d, c.AMOUNT, t) or 0.0

        in_s, in_e = in_window(start), in_window(end)
        closed_in = closed is not None and start < closed <= end and created <= end
        last = max(created, end if closed is None else min(closed, end))
        entered = not in_s and (in_e or closed_in)
        if in_s:
            add(c.START, amount(start))
            delta = amount(last) - amount(start)
            if delta:
                add(c.INCREASED if delta > 0 else c.DECREASED, abs(delta))
        if entered:
            add(c.CREATED if created > start else c.MOVED_IN, amount(last))
        if in_s and not in_e and not closed_in:
            add(c.MOVED_OUT, amount(last))
        if closed_in and (in_s or entered):
            add(c.WON if d["outcome"] == c.WON else c.LOST, amount(last))
        if in_e:
            add(c.END, amount(end))
    return {name: (n, a) for name, (n, a) in totals.items()}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=_histories())
def test_random_histories_reconcile_exactly(crm, case):
    # Property: start + created + moved_in + increased - decreased - moved_out - won -
    # lost == end, exactly, in amount (whole-unit amounts add up exactly in floats) and
    # in count (increased/decreased left out). Reference: the same definitions
    # evaluated deal by deal in Python from the timelines (_reference).
    deals, start, end, close_by = case
    ws = analysis.connect(crm.frames(deals))
    window_end = None if close_by is None else _day(close_by)
    result = pipeline_waterfall(ws, _day(start), _day(end), close_by=window_end)
    table = result.to_frame()
    count, amount, end_count, end_amount = _identity(table)
    assert (count, amount) == (end_count, end_amount)
    expected = _reference(crm, deals, _day(start), _day(end), result.close_by)
    got = {row[c.COMPONENT]: (row[c.COUNT], row[c.AMOUNT]) for row in table.to_dict("records")}
    assert got == expected
    assert (table[[c.COUNT, c.AMOUNT]] >= 0).all().all()


def _random_universe(rng, tag: str) -> list[dict]:
    """Like one draw of ``_histories``: up to 8 deals with edits and closes near the period."""
    deals = []
    for i in range(int(rng.integers(1, 9))):
        created = int(rng.integers(0, 41))
        initial = {
            c.AMOUNT: None if rng.random() < 0.1 else float(rng.integers(0, 1001)),
            c.EXPECTED_CLOSE_AT: None if rng.random() < 0.1 else _day(int(rng.integers(0, 81))),
        }
        changes = []
        for offset in rng.choice(np.arange(1, 41), size=int(rng.integers(0, 6)), replace=False):
            when = _day(created + int(offset))
            if rng.random() < 0.5:
                value = None if rng.random() < 0.1 else float(rng.integers(0, 1001))
                changes.append((when, c.AMOUNT, value))
            else:
                changes.append((when, c.EXPECTED_CLOSE_AT, _day(int(rng.integers(0, 81)))))
        closed = None if rng.random() < 0.4 else int(rng.integers(-3, 41))
        deals.append({
            "id": f"{tag}-{i}", "created": _day(created), "initial": initial, "changes": changes,
            "closed": None if closed is None else _day(created + closed),
            "outcome": c.OPEN if closed is None else str(rng.choice([c.WON, c.LOST])),
            "logged": bool(rng.random() < 0.5), "owner": tag,
        })  # fmt: skip
    return deals


@pytest.mark.parametrize("seed", [11, 12])
def test_many_random_histories_at_once_match_the_plain_reading(crm, seed):
    # The same property as above on 400 independent small histories per seed, run as
    # one grouped waterfall (grouped by owner_id, one owner per history): each block
    # reconciles exactly and equals _reference for its own deals (seeded draws).
    rng = np.random.default_rng(seed)
    start = _day(int(rng.integers(5, 25)))
    end = start + pd.Timedelta(days=int(rng.integers(10, 25)))
    universes = {f"u{k:03d}": _random_universe(rng, f"u{k:03d}") for k in range(400)}
    deals = [deal for history in universes.values() for deal in history]
    result = pipeline_waterfall(analysis.connect(crm.frames(deals)), start, end, by=c.OWNER_ID)
    table = result.to_frame()
    shown = set(table[c.OWNER_ID])
    for owner in set(universes) - shown:  # no deal open in the period: no block, all zero
        assert set(_reference(crm, universes[owner], start, end, end).values()) == {(0, 0.0)}
    assert len(shown) > 200
    for owner, block in table.groupby(c.OWNER_ID):
        count, amount, end_count, end_amount = _identity(block)
        assert (count, amount) == (end_count, end_amount), owner
        got = {row[c.COMPONENT]: (row[c.COUNT], row[c.AMOUNT]) for row in block.to_dict("records")}
        assert got == _reference(crm, universes[owner], start, end, end), owner
    # The draws reach every component many times over.
    flows = table.groupby(c.COMPONENT)[c.COUNT].sum()
    assert (flows >= 5).all(), flows.to_dict()


def test_on_the_sample_each_segment_reconciles_and_the_ends_are_the_snapshots():
    # Property on the seeded sample generator (amounts in cents, so the amount bridge
    # holds to float rounding, counts exactly); the start and end levels equal the
    # snapshots of pipeline_as_of restricted to expected closes before close_by.
    crm = generate_sample(600, seed=7)
    if c.DEAL_CHANGES not in crm.tables:
        pytest.skip("the sample generator writes no deal_changes yet")
    ws = analysis.connect(dict(crm.tables))
    start, end = _t("2026-01-01"), _t("2026-04-01")
    table = pipeline_waterfall(ws, start, end, by=c.SEGMENT).to_frame()
    for _, block in table.groupby(c.SEGMENT):
        count, amount, end_count, end_amount = _identity(block)
        assert count == end_count and amount == pytest.approx(end_amount, rel=1e-12, abs=1e-6)
    totals = table.groupby(c.COMPONENT)[[c.COUNT, c.AMOUNT]].sum()
    for level, at in ((c.START, start), (c.END, end)):
        snap = pipeline_as_of(ws, at).to_frame()
        inside = snap[snap[c.EXPECTED_CLOSE_AT] < end]
        assert totals.loc[level, c.COUNT] == len(inside) > 0
        assert totals.loc[level, c.AMOUNT] == pytest.approx(inside[c.AMOUNT].fillna(0).sum())
