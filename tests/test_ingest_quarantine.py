"""Row-level problems: every reason code, the priority, duplicates, reconciliation.

Expected quarantine contents are read off the hand-written rows below; the
reconciliation property is checked on random messy exports with hypothesis.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import DEALS_HEADER, EVENTS_HEADER, read_quarantine, write_csv

from analysis import columns as c
from analysis.ingest import REASON_PRIORITY, ingest
from analysis.ingest import reasons as r
from analysis.ingest.reasons import primary_reason
from analysis.ingest.validate import duplicate_flags

# One messy deals file: (row text, expected reason or None for clean).
MESSY_DEALS = [
    ("D1,2024-01-05,won,1000,B2B,2024-02-01,won,R1", None),
    ("D2,2024-01-06,lost,2500,B2C,2024-03-01,lost,R2", None),
    (",2024-01-06,open,1,B2C,,prospecting,R2", r.MISSING_REQUIRED),  # no deal_id
    ("D3,,open,1,B2C,,prospecting,R2", r.MISSING_REQUIRED),  # no created_at
    ("D4,31/31/2024,open,1,B2C,,prospecting,R2", r.UNPARSEABLE_DATE),
    ("D5,2024-01-06,open,12abc,B2C,,prospecting,R2", r.BAD_VALUE),  # amount
    ("D6,2024-01-06,open,1,B2X,,prospecting,R2", r.BAD_VALUE),  # segment
    ("D7,2024-01-06,maybe,1,B2C,,prospecting,R2", r.BAD_OUTCOME),
    ("D8,2024-01-06,open,1,B2C,,won,R2", r.BAD_OUTCOME),  # open but stage won
    ("D9,2024-01-06,open,1,B2C,,Haggling,R2", r.UNKNOWN_STAGE),
    ("D10,2024-01-06,won,-5,B2C,2024-02-01,won,R2", r.NEGATIVE_AMOUNT),
    ("D11,2024-02-06,lost,5,B2C,2024-01-01,lost,R2", r.CLOSED_BEFORE_CREATED),
    ("D12,2024-01-06,open,5,B2C,,proposal,R2", r.DUPLICATE_ID),  # conflicting copies
    ("D12,2024-01-06,open,6,B2C,,proposal,R2", r.DUPLICATE_ID),
    ("D13,2024-01-06,open,5,B2C,,proposal,R2", None),  # exact copies: first kept
    ("D13,2024-01-06,open,5,B2C,,proposal,R2", r.DUPLICATE_ID),
    ("D14,bad-date,maybe,-1,B2C,,Haggling,R2", r.UNPARSEABLE_DATE),  # priority wins
]
MESSY_EVENTS = [
    ("D1,prospecting,2024-01-05", None),
    ("D1,won,2024-02-01", None),
    ("D10,prospecting,2024-01-06", r.PARENT_QUARANTINED),  # D10 has a negative amount
    ("D12,proposal,2024-01-06", r.PARENT_QUARANTINED),  # conflicting duplicate
    ("D13,proposal,2024-01-06", None),  # exact duplicate: the deal is kept
    ("GHOST,prospecting,2024-01-06", r.ORPHAN_EVENT),
    ("D2,Haggling,2024-01-06", r.UNKNOWN_STAGE),
    ("D2,lost,", r.MISSING_REQUIRED),
    ("D2,lost,yesterday", r.UNPARSEABLE_DATE),
]


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    src = tmp_path_factory.mktemp("src")
    write_csv(src, "deals.csv", DEALS_HEADER, [row for row, _ in MESSY_DEALS])
    write_csv(src, "stage_events.csv", EVENTS_HEADER, [row for row, _ in MESSY_EVENTS])
    write_csv(
        src,
        "activities.csv",
        "deal_id,at,type,replied",
        [
            "D1,2024-01-05,Email,yes",
            "D1,2024-01-05,fax,no",
            "D1,2024-01-05,call,perhaps",
            "X,2024-01-05,call,",
        ],
    )
    write_csv(
        src,
        "assignments.csv",
        "experiment_id,unit_id,unit_type,variant,assigned_at",
        ["E1,D1,deal,A,2024-01-05", "E1,GHOST,deal,B,2024-01-05", "E1,R1,rep,B,2024-01-05"],
    )
    write_csv(src, "reps.csv", "rep_id,quota", ["R1,100", "R1,200", "R2,-3"])
    out = tmp_path_factory.mktemp("out") / "processed"
    result = ingest(src, out)
    return out, result


def _expected(rows):
    return [(i + 1, reason) for i, (_, reason) in enumerate(rows) if reason is not None]


def test_every_deal_reason(messy):
    out, result = messy
    q = read_quarantine(out, c.DEALS)
    assert list(zip(q[c.SOURCE_ROW], q[c.REASON], strict=True)) == _expected(MESSY_DEALS)
    clean = pd.read_parquet(out / "deals.parquet")
    assert sorted(clean[c.DEAL_ID]) == ["D1", "D13", "D2"]
    info = result.manifest["tables"][c.DEALS]
    assert info["rows_in"] == len(MESSY_DEALS) and info["rows_clean"] == 3
    assert sum(info["quarantine_reasons"].values()) == info["rows_quarantined"]


def test_every_event_reason(messy):
    out, _ = messy
    q = read_quarantine(out, c.STAGE_EVENTS)
    assert list(zip(q[c.SOURCE_ROW], q[c.REASON], strict=True)) == _expected(MESSY_EVENTS)


def test_original_values_are_preserved(messy):
    out, _ = messy
    q = read_quarantine(out, c.DEALS).set_index(c.SOURCE_ROW)
    assert q.loc[5, c.CREATED_AT] == "31/31/2024"
    assert q.loc[6, c.AMOUNT] == "12abc"
    assert q.loc[8, c.OUTCOME] == "maybe"
    assert q.loc[10, c.STAGE] == "Haggling"  # the label as exported, not a canonical stage
    assert q.loc[11, c.AMOUNT] == "-5"
    assert pd.isna(q.loc[3, c.DEAL_ID])
    assert (q.dtypes == "string").all()
    for row, (text, _) in enumerate(MESSY_DEALS, start=1):
        if row in q.index:
            values = ["" if pd.isna(v) else v for v in q.loc[row, DEALS_HEADER.split(",")]]
            assert ",".join(values) == text


def test_other_tables(messy):
    out, result = messy
    acts = read_quarantine(out, c.ACTIVITIES)
    assert list(zip(acts[c.SOURCE_ROW], acts[c.REASON], strict=True)) == [
        (2, r.BAD_VALUE),
        (3, r.BAD_VALUE),
        (4, r.ORPHAN_EVENT),
    ]
    assert pd.read_parquet(out / "activities.parquet")[c.ACTIVITY_TYPE].tolist() == ["email"]
    assign = read_quarantine(out, c.ASSIGNMENTS)
    assert assign[c.REASON].tolist() == [r.ORPHAN_EVENT]  # the rep unit is not checked
    reps = read_quarantine(out, c.REPS)
    assert list(zip(reps[c.SOURCE_ROW], reps[c.REASON], strict=True)) == [
        (1, r.DUPLICATE_ID),
        (2, r.DUPLICATE_ID),
        (3, r.NEGATIVE_AMOUNT),
    ]
    for table, info in result.manifest["tables"].items():
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table


def test_every_reason_code_is_exercised(messy):
    _, result = messy
    seen = set()
    for info in result.manifest["tables"].values():
        seen |= set(info["quarantine_reasons"])
    assert seen == set(REASON_PRIORITY)


def test_summary_names_top_reasons(messy):
    _, result = messy
    text = result.summary()
    assert "deals: 17 in, 3 clean, 14 quarantined" in text
    assert "stage_events: 9 in" in text


def test_primary_reason_follows_priority():
    n = 3
    flags = {
        r.ORPHAN_EVENT: np.array([True, True, False]),
        r.NEGATIVE_AMOUNT: np.array([True, False, False]),
        r.MISSING_REQUIRED: np.array([False, False, False]),
    }
    got = primary_reason(flags, n)
    assert got.iloc[0] == r.NEGATIVE_AMOUNT and got.iloc[1] == r.ORPHAN_EVENT
    assert pd.isna(got.iloc[2])
    with pytest.raises(RuntimeError):
        primary_reason({"made_up": np.ones(1, bool)}, 1)


def test_duplicate_flags_exact_versus_conflicting():
    frame = pd.DataFrame(
        {"id": ["a", "a", "b", "b", "b", "c", None, None], "x": [1, 1, 1, 2, 1, 1, 1, 1]}
    )
    mask = duplicate_flags(frame, ["id"])[r.DUPLICATE_ID]
    # a: exact copies -> second only; b: conflicting -> all three; missing ids untouched.
    assert mask.tolist() == [False, True, True, True, True, False, False, False]


def test_duplicate_flags_composite_key():
    frame = pd.DataFrame({"k1": ["e", "e", "e"], "k2": ["u", "u", "v"], "x": [1, 2, 3]})
    assert duplicate_flags(frame, ["k1", "k2"])[r.DUPLICATE_ID].tolist() == [True, True, False]


# --- reconciliation property --------------------------------------------------------

_DATES = st.sampled_from(["2024-01-05", "05/01/2024", "2024-13-45", "", "Jan 5, 2024", "soon"])
_AMOUNTS = st.sampled_from(["100", "$1,200.50", "-3", "", "abc", "€2,000", "1e3"])
_OUTCOMES = st.sampled_from(["won", "Lost", "open", "", "maybe"])
_STAGES = st.sampled_from(["prospecting", "Closed Won", "Haggling", "", "lost", "proposal"])
_SEGMENTS = st.sampled_from(["B2B", "b2c", "", "B2X"])
_IDS = st.sampled_from(["D1", "D2", "D3", "D4", "D5", ""])

_deal_row = st.tuples(_IDS, _DATES, _OUTCOMES, _AMOUNTS, _SEGMENTS, _DATES, _STAGES)
_event_row = st.tuples(_IDS, _STAGES, _DATES)


def _csv_line(values) -> str:
    return ",".join(f'"{v}"' if "," in v else v for v in values)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    deals=st.lists(_deal_row, min_size=1, max_size=25),
    events=st.lists(_event_row, min_size=0, max_size=25),
)
def test_reconciliation_property(deals, events):
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        header = "deal_id,created_at,outcome,amount,segment,closed_at,stage"
        write_csv(tmp / "src", "deals.csv", header, [_csv_line(row) for row in deals])
        write_csv(tmp / "src", "stage_events.csv", EVENTS_HEADER, [_csv_line(e) for e in events])
        result = ingest(tmp / "src", tmp / "out")
        for table, info in result.manifest["tables"].items():
            assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table
        assert result.manifest["tables"][c.DEALS]["rows_in"] == len(deals)
        # Every input deal row is in exactly one place: clean (by id) or quarantine (by row).
        clean = pd.read_parquet(tmp / "out" / "deals.parquet")
        q = read_quarantine(tmp / "out", c.DEALS)
        q_rows = set(q[c.SOURCE_ROW]) if len(q) else set()
        assert len(q_rows) == len(q)
        assert clean[c.DEAL_ID].is_unique
        clean_ids = set(clean[c.DEAL_ID])
        for number, row in enumerate(deals, start=1):
            in_q = number in q_rows
            if not in_q:
                assert row[0] in clean_ids
        assert len(clean) + len(q) == len(deals)
        n_events = result.manifest["tables"].get(c.STAGE_EVENTS, {}).get("rows_in", 0)
        assert n_events == len(events)


def test_priority_is_documented():
    doc = (Path(__file__).parents[1] / "docs" / "column-maps.md").read_text()
    for rank, code in enumerate(REASON_PRIORITY, start=1):
        assert f"| {rank} | `{code}` |" in doc
