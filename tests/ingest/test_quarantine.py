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

from analysis.core import columns as c
from analysis.core.schema import FROM_CRM_ADAPTERS
from analysis.ingest import REASON_PRIORITY, ingest
from analysis.ingest import reasons as r
from analysis.ingest.reasons import primary_reason
from analysis.ingest.validate import duplicate_flags, merge_flags

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
            "D1,2024-01-05",  # fewer fields than the header
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
        (5, r.MALFORMED_ROW),
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
    # The CRM adapters' own reasons are exercised by the vendor round trips (tests/ingest/vendors).
    assert seen == set(REASON_PRIORITY) - FROM_CRM_ADAPTERS


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


def test_merge_flags_ors_masks_per_reason():
    flags = {r.BAD_VALUE: np.array([True, False])}
    merge_flags(
        flags, {r.BAD_VALUE: np.array([False, True]), r.ORPHAN_EVENT: np.array([1, 0], bool)}
    )
    assert flags[r.BAD_VALUE].tolist() == [True, True]
    assert flags[r.ORPHAN_EVENT].tolist() == [True, False]


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
# Random messy exports in every supported file format, with and without a column map
# that renames files and columns, with deal-linked tables holding orphans. Property:
# every input row lands exactly once, in the clean table or in the quarantine.

_DATES = st.sampled_from(["2024-01-05", "05/01/2024", "2024-13-45", "", "Jan 5, 2024", "soon"])
_AMOUNTS = st.sampled_from(["100", "$1,200.50", "-3", "", "abc", "€2,000", "1e3"])
_OUTCOMES = st.sampled_from(["won", "Lost", "open", "", "maybe"])
_STAGES = st.sampled_from(["prospecting", "Closed Won", "Haggling", "", "lost", "proposal"])
_SEGMENTS = st.sampled_from(["B2B", "b2c", "", "B2X"])
_IDS = st.sampled_from(["D1", "D2", "D3", "D4", "D5", ""])
_LINKED_IDS = st.sampled_from(["D1", "D2", "D3", "GHOST", ""])  # GHOST: an orphan

# A blank spreadsheet row is not a data row (analysis.ingest.read), so every drawn
# row has at least one value.
_deal_row = st.tuples(_IDS, _DATES, _OUTCOMES, _AMOUNTS, _SEGMENTS, _DATES, _STAGES).filter(any)
_event_row = st.tuples(_IDS, _STAGES, _DATES)
_activity_row = st.tuples(
    _LINKED_IDS,
    _DATES,
    st.sampled_from(["email", "Call", "fax", ""]),
    st.sampled_from(["yes", "no", "perhaps", ""]),
)
_feedback_row = st.tuples(
    _LINKED_IDS,
    st.sampled_from(["customer", "Rep", "bot", ""]),
    _DATES,
    st.sampled_from(["5", "x", ""]),
)

_LINKED_ROWS = {c.ACTIVITIES: _activity_row, c.FEEDBACK: _feedback_row}

# Canonical columns of each drawn table (the row tag last, see _TAG), the file stem
# and the source column names a column map gives them.
_LAYOUT = {
    c.DEALS: (
        [c.DEAL_ID, c.CREATED_AT, c.OUTCOME, c.AMOUNT, c.SEGMENT, c.CLOSED_AT, c.STAGE],
        "opps",
        ["Deal ID", "Created On", "Status", "Deal Value", "Segment", "Closed On", "Phase"],
    ),
    c.STAGE_EVENTS: (
        [c.DEAL_ID, c.STAGE, c.ENTERED_AT, c.OWNER_ID],
        "history",
        ["Opportunity", "Step", "Entered", "Row Tag"],
    ),
    c.ACTIVITIES: (
        [c.DEAL_ID, c.AT, c.ACTIVITY_TYPE, c.REPLIED, c.TEMPLATE_ID],
        "touches",
        ["Opportunity", "When", "Kind", "Got Reply", "Row Tag"],
    ),
    c.FEEDBACK: (
        [c.DEAL_ID, c.SOURCE, c.COLLECTED_AT, c.RATING, c.TEXT],
        "comments",
        ["Opportunity", "Author", "Date", "Stars", "Row Tag"],
    ),
}
# Tables without a key carry a unique tag per input row in an optional text column,
# so each clean row can be traced back to its input row.
_TAG = {c.STAGE_EVENTS: c.OWNER_ID, c.ACTIVITIES: c.TEMPLATE_ID, c.FEEDBACK: c.TEXT}
_FORMATS = ("csv", "semicolon-cp1252", "xlsx", "parquet")


def _write_table(folder: Path, stem: str, columns: list[str], rows, fmt: str) -> None:
    frame = pd.DataFrame([list(r) for r in rows], columns=columns, dtype=object)
    if fmt == "csv":
        frame.to_csv(folder / f"{stem}.csv", index=False)
    elif fmt == "semicolon-cp1252":
        frame.to_csv(folder / f"{stem}.csv", index=False, sep=";", encoding="cp1252")
    elif fmt == "xlsx":
        frame.to_excel(folder / f"{stem}.xlsx", index=False)
    else:
        frame.astype("string").to_parquet(folder / f"{stem}.parquet", index=False)


def _map_yaml(tables: list[str], fmt: str) -> str:
    lines = []
    if fmt == "semicolon-cp1252":
        lines.append('options: {encoding: cp1252, delimiter: ";"}')
    lines.append("tables:")
    for table in tables:
        columns, stem, sources = _LAYOUT[table]
        lines += [f"  {table}:", f"    file: {stem}", "    columns:"]
        lines += [f'      {col}: "{src}"' for col, src in zip(columns, sources, strict=True)]
    return "\n".join(lines) + "\n"


def _assert_every_row_once(out: Path, table: str, rows: list[tuple], info: dict) -> None:
    assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table
    assert info["rows_in"] == len(rows), table
    clean = pd.read_parquet(out / f"{table}.parquet")
    q = read_quarantine(out, table)
    q_rows = set(q[c.SOURCE_ROW]) if len(q) else set()
    assert len(q_rows) == len(q) and q_rows <= set(range(1, len(rows) + 1)), table
    assert len(clean) + len(q) == len(rows) and len(clean) == info["rows_clean"], table
    kept = [row for number, row in enumerate(rows, start=1) if number not in q_rows]
    if table == c.DEALS:  # by id: clean ids are unique, one per kept row
        assert clean[c.DEAL_ID].is_unique
        assert sorted(clean[c.DEAL_ID]) == sorted(row[0] for row in kept)
    else:  # by the row tag
        assert sorted(clean[_TAG[table]]) == sorted(row[-1] for row in kept), table


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    fmt=st.sampled_from(_FORMATS),
    renamed=st.booleans(),
    linked=st.sampled_from([c.ACTIVITIES, c.FEEDBACK]),
    deals=st.lists(_deal_row, min_size=1, max_size=20),
    events=st.lists(_event_row, min_size=0, max_size=20),
    data=st.data(),
)
def test_reconciliation_property(fmt, renamed, linked, deals, events, data):
    linked_rows = data.draw(st.lists(_LINKED_ROWS[linked], max_size=15), label=linked)
    drawn = {  # row tags last: unique per input row
        c.DEALS: deals,
        c.STAGE_EVENTS: [(*row, f"E{i}") for i, row in enumerate(events)],
        linked: [(*row, f"L{i}") for i, row in enumerate(linked_rows)],
    }
    with tempfile.TemporaryDirectory() as tmp:
        tmp, src = Path(tmp), Path(tmp) / "src"
        src.mkdir()
        for table, rows in drawn.items():
            columns, stem, sources = _LAYOUT[table]
            _write_table(
                src, stem if renamed else table, sources if renamed else columns, rows, fmt
            )
        map_path = None
        if renamed:
            map_path = tmp / "map.yaml"
            map_path.write_text(_map_yaml(list(drawn), fmt), encoding="utf-8")
        result = ingest(src, tmp / "out", map_path=map_path)
        manifest = result.manifest
        assert set(manifest["tables"]) == set(drawn) and manifest["derived"] == {}
        for table, rows in drawn.items():
            _assert_every_row_once(tmp / "out", table, rows, manifest["tables"][table])


def test_priority_is_documented():
    doc = (Path(__file__).parents[2] / "docs" / "column-maps.md").read_text()
    for rank, code in enumerate(REASON_PRIORITY, start=1):
        assert f"| {rank} | `{code}` |" in doc
