"""Tests of analysis.ingest._delimited through read_table_file: encodings, blank lines,
content that is not text, and malformed rows (more or fewer fields than the header).

Expected values are the literal contents written into each fixture file
(hand-written), or planted by the test's own file builder, so each assertion
checks that reading returns what was written.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from ingest_helpers import DEALS_HEADER, DEALS_ROWS, read_quarantine, write_csv

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest import ingest
from analysis.ingest.read import (
    MALFORMED_LINES,
    MALFORMED_ROWS,
    MAX_LINE_CHARS,
    detect_encoding,
    read_table_file,
)
from analysis.ingest.reasons import MALFORMED_ROW


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- encodings ----------------------------------------------------------------------


def test_cp1252_behind_a_utf8_bom(tmp_path):
    # some Windows tools write a UTF-8 byte-order mark before cp1252 text
    text = "name;amount\nMüller;€ 5\nBjörk;3\n"
    data = b"\xef\xbb\xbf" + text.encode("cp1252")
    assert detect_encoding(data) == "cp1252"
    df = read_table_file(_write(tmp_path, "deals.csv", data))
    assert list(df.columns) == ["name", "amount"]
    assert df.values.tolist() == [["Müller", "€ 5"], ["Björk", "3"]]
    explicit = read_table_file(tmp_path / "deals.csv", encoding="cp1252")
    assert list(explicit.columns) == ["name", "amount"]  # the mark is not part of the header


def test_utf16_text_from_excel(tmp_path):
    # Excel's "Unicode text" export: UTF-16 with a byte-order mark, tab-delimited
    data = "name\tamount\r\nMüller\t5\r\n".encode("utf-16")
    assert detect_encoding(data) == "utf-16"
    df = read_table_file(_write(tmp_path, "deals.txt", data))
    assert df.values.tolist() == [["Müller", "5"]]


def test_utf8_bom_is_stripped(tmp_path):
    path = _write(tmp_path, "deals.csv", b"\xef\xbb\xbf" + "deal_id;name\nD1;€x\n".encode())
    df = read_table_file(path)
    assert list(df.columns) == ["deal_id", "name"]  # no "\ufeffdeal_id"
    assert df.loc[0, "name"] == "€x"
    assert detect_encoding(b"\xef\xbb\xbfa") == "utf-8-sig"


def test_cp1252_is_detected(tmp_path):
    data = "name|amount\nMüller|€ 5\nBjörk|3\n".encode("cp1252")
    path = _write(tmp_path, "deals.csv", data)
    assert detect_encoding(data) == "cp1252"  # 0xFC, 0x80 are not valid UTF-8
    df = read_table_file(path)
    assert df["name"].tolist() == ["Müller", "Björk"]
    assert df.loc[0, "amount"] == "€ 5"


def test_latin1_fallback_for_bytes_undefined_in_cp1252():
    # 0x81 is undefined in cp1252 (Python codec table), so only Latin-1 decodes it
    assert detect_encoding("x\x81y".encode("latin-1")) == "latin-1"
    assert detect_encoding(b"plain ascii") == "utf-8"


def test_latin1_text_full_of_c1_bytes_is_still_text(tmp_path):
    # one byte undefined in cp1252 makes the file Latin-1, where every "€" (0x80) is a
    # C1 control character: that is text, not binary
    data = ("name;amount\n" + "x;€ 5\n" * 100).encode("cp1252") + b"y\x81;1\n"
    df = read_table_file(_write(tmp_path, "x.csv", data))
    assert len(df) == 101 and df.loc[0, "amount"] == "\x80 5"


# --- malformed rows -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected", "malformed"),
    [
        # too many fields in data row 2: the first three are kept
        (b"a,b,c\n1,2,3\n4,5,6,7\n", [["1", "2", "3"], ["4", "5", "6"]], {1: "4,5,6,7"}),
        # too few fields in data row 3: padded with missing values
        (
            b"a,b,c\n1,2,3\n4,5,6\n7,8\n",
            [["1", "2", "3"], ["4", "5", "6"], ["7", "8", None]],
            {2: "7,8"},
        ),
        # a multi-line value and a blank line before the short row
        (b'a,b,c\n"x\ny",2,3\n\n4,5\n', [["x\ny", "2", "3"], ["4", "5", None]], {1: "4,5"}),
    ],
)
def test_ragged_rows_are_kept_and_listed_as_malformed(tmp_path, text, expected, malformed):
    df = read_table_file(_write(tmp_path, "deals.csv", text))
    # hand-counted: index i is data row i + 1 (header = row 0, blank lines not counted)
    assert _values(df) == expected
    assert df.attrs[MALFORMED_ROWS] == sorted(malformed)
    assert df.attrs[MALFORMED_LINES] == malformed
    assert all(str(t) == "str" for t in df.dtypes)


def test_malformed_line_text_is_cut_to_500_characters(tmp_path):
    long_row = "1,2," + "x" * 600
    df = read_table_file(_write(tmp_path, "x.csv", f"a,b\n3,4\n{long_row}\n".encode()))
    assert df.attrs[MALFORMED_ROWS] == [1]
    assert df.attrs[MALFORMED_LINES][1] == long_row[:MAX_LINE_CHARS]
    assert MAX_LINE_CHARS == 500
    assert df.values.tolist() == [["3", "4"], ["1", "2"]]


def test_malformed_rows_read_like_the_fast_path(tmp_path):
    # property: the row-by-row read used for files with malformed rows gives the good
    # rows exactly as the pyarrow read of the same file without the malformed row
    good = 'id;note;amount\r\n1;" spaced ";"1;5"\r\n\r\n2;"two\r\nlines";\r\n3;"say ""hi""";7\r\n'
    fast = read_table_file(_write(tmp_path, "fast.csv", good.encode()))
    slow = read_table_file(_write(tmp_path, "slow.csv", (good + "4;extra;9;9\r\n").encode()))
    assert fast.attrs[MALFORMED_ROWS] == [] and slow.attrs[MALFORMED_ROWS] == [3]
    pd.testing.assert_frame_equal(slow.iloc[:3], fast)


def _planted_rows(kinds: list[str], newline: str) -> tuple[bytes, list[list], dict[int, str]]:
    """A file ``id,a,b`` with one line per kind, its expected rows and malformed lines."""
    lines, rows, malformed = ["id,a,b"], [], {}
    for kind in kinds:
        k = str(len(rows))
        line, row = {
            "good": (f"{k},v,w", [k, "v", "w"]),
            "quoted": (f'{k}," a, b\nc ",w', [k, "a, b\nc", "w"]),
            "short": (f"{k},s", [k, "s", None]),
            "long": (f"{k},l,w,x", [k, "l", "w"]),
            "quoted_long": (f'{k}," a, b\nc ",w,"x\ny"', [k, "a, b\nc", "w"]),
            "empty": ("", None),
            "spaces": ("  \t ", None),
        }[kind]
        lines.append(line)
        if row is not None:
            if kind in ("short", "long", "quoted_long"):
                malformed[len(rows)] = line
            rows.append(row)
    return (newline.join(lines) + newline).encode(), rows, malformed


def _values(df: pd.DataFrame) -> list[list]:
    return [[None if pd.isna(v) else v for v in row] for row in df.values.tolist()]


_KINDS = ["good", "quoted", "short", "long", "quoted_long", "empty", "spaces"]


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(_KINDS), max_size=25), newline=st.sampled_from(["\n", "\r\n"])
)
def test_malformed_rows_stay_in_place(tmp_path_factory, kinds, newline):
    # planted truth: every row comes back at its own position, malformed ones listed
    data, rows, malformed = _planted_rows(kinds, newline)
    df = read_table_file(_write(tmp_path_factory.mktemp("planted"), "x.csv", data))
    assert _values(df) == rows
    assert df.attrs[MALFORMED_LINES] == malformed


def test_malformed_rows_stay_in_place_across_read_blocks(tmp_path):
    # planted truth on a file larger than pyarrow's 1 MB read block
    kinds = np.random.default_rng(11).choice(_KINDS, size=150_000, p=[0.9, 0.04, *[0.012] * 5])
    data, rows, malformed = _planted_rows(kinds.tolist(), "\n")
    assert len(data) > 1 << 20
    df = read_table_file(_write(tmp_path, "x.csv", data))
    assert _values(df) == rows
    assert df.attrs[MALFORMED_LINES] == malformed


@pytest.mark.parametrize("malformed_row", [False, True])
def test_a_field_larger_than_the_read_block_is_read_whole(tmp_path, malformed_row):
    # a 4 MB rich-text note (hand-built) is longer than pyarrow's 1 MiB parse block,
    # which used to fail the whole file; it must come back whole, in its place
    note = "x" * 4_000_000
    lines = ["deal_id,notes"] + [f"D{i},short" for i in range(100)]
    lines[50] = f'D49,"{note}"'
    if malformed_row:
        lines[10] = "D9,short,surplus"
    df = read_table_file(_write(tmp_path, "x.csv", ("\n".join(lines) + "\n").encode()))
    assert len(df) == 100
    # lines[k] is data row k, index k - 1
    assert df.loc[49, "notes"] == note and df.loc[48, "notes"] == "short"
    assert list(df.attrs[MALFORMED_ROWS]) == ([9] if malformed_row else [])


def test_ingest_quarantines_malformed_rows_and_keeps_the_rest(tmp_path):
    rows = list(DEALS_ROWS)
    rows.insert(1, "D9,2024-01-09,open,5,B2B")  # short: 5 of 8 fields
    rows.insert(3, "D8,2024-01-09,open,5,B2B,,proposal,R1,surplus")  # long: 9 of 8 fields
    write_csv(tmp_path / "src", "deals.csv", DEALS_HEADER, rows)
    result = ingest(tmp_path / "src", tmp_path / "out")
    q = read_quarantine(tmp_path / "out", c.DEALS)
    # hand-counted source rows: the short row is data row 2, the long one data row 4
    assert list(zip(q[c.SOURCE_ROW], q[c.REASON], strict=True)) == [
        (2, MALFORMED_ROW),
        (4, MALFORMED_ROW),
    ]
    assert q[c.DEAL_ID].tolist() == ["D9", "D8"]
    # Nothing is lost: the long row's surplus field survives in its raw line.
    assert q[c.RAW_LINE].tolist() == [rows[1], rows[3]]
    clean = pd.read_parquet(tmp_path / "out" / "deals.parquet")
    assert sorted(clean[c.DEAL_ID]) == ["D1", "D2", "D3", "D4"]
    info = result.manifest["tables"][c.DEALS]
    assert info["rows_in"] == len(rows) == info["rows_clean"] + info["rows_quarantined"]
    assert info["quarantine_reasons"] == {MALFORMED_ROW: 2}


# --- blank lines and content that is not text ---------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        b"a,b\n1,2\n   ",  # a trailing line of spaces
        b"a,b\r\n1,2\r\n   \r\n\t\r\n3,4\r\n",  # whitespace-only lines in the middle
        b"  \na,b\n1,2\n \t \n3,4\n\n",  # ... and before the header
    ],
)
def test_whitespace_only_lines_are_blank_lines(tmp_path, text):
    df = read_table_file(_write(tmp_path, "x.csv", text))
    expected = [["1", "2"], ["3", "4"]] if b"3,4" in text else [["1", "2"]]
    assert df.values.tolist() == expected  # hand-written: blank lines are not rows
    assert df.attrs[MALFORMED_ROWS] == []


def test_whitespace_only_lines_in_a_one_column_file(tmp_path):
    df = read_table_file(_write(tmp_path, "x.csv", b"  \ndeal_id\nD1\n   \nD2\n  \t\n"))
    assert list(df.columns) == ["deal_id"] and df["deal_id"].tolist() == ["D1", "D2"]


def test_a_row_of_empty_fields_is_still_a_row(tmp_path):
    # ",," has the header's three fields: a row whose values are all missing
    df = read_table_file(_write(tmp_path, "x.csv", b"a,b,c\n1,2,3\n,,\n"))
    assert len(df) == 2 and df.iloc[1].isna().all()


def test_old_mac_line_endings(tmp_path):
    # lines ended by a bare carriage return used to be read as "empty"
    df = read_table_file(_write(tmp_path, "x.csv", b"a;b\r1;2\r3;4\r"))
    assert list(df.columns) == ["a", "b"] and df.values.tolist() == [["1", "2"], ["3", "4"]]


def _xlsx_bytes(tmp_path: Path) -> bytes:
    book = openpyxl.Workbook()
    book.active.append(["deal_id", "amount"])
    book.active.append(["D1", 5])
    book.save(tmp_path / "real.xlsx")
    return (tmp_path / "real.xlsx").read_bytes()


@pytest.mark.parametrize("content", ["random", "nul", "xlsx"])
def test_binary_file_named_csv_is_not_text(tmp_path, content):
    data = {
        "random": np.random.default_rng(7).bytes(4096),
        "nul": b"\x00" * 4096,
        "xlsx": _xlsx_bytes(tmp_path) if content == "xlsx" else b"",
    }[content]
    path = _write(tmp_path, "deals.csv", data)
    with pytest.raises(InputError, match=r"not a text \(CSV\) file") as info:
        read_table_file(path)
    assert info.value.file == str(path)
    assert "\x00" not in str(info.value) and len(str(info.value)) < 400
    if content == "xlsx":
        assert "Excel workbook" in str(info.value) and ".xlsx suffix" in str(info.value)


def test_a_stray_nul_in_a_rich_text_field_does_not_reject_the_file(tmp_path):
    # Issue 12: one NUL byte in an unmapped rich-text column rejected a whole
    # Salesforce export. Every row must come in; the column is ignored.
    rows = [f'{row},"plain note"' for row in DEALS_ROWS]
    rows[1] = f'{DEALS_ROWS[1]},"pasted\x00<b>rich</b> text"'
    write_csv(tmp_path / "raw", "deals.csv", DEALS_HEADER + ",notes", rows)
    result = ingest(tmp_path / "raw", tmp_path / "out")
    # Provenance: DEALS_ROWS has four deals, none of them bad.
    assert result.manifest["tables"][c.DEALS]["rows_clean"] == len(DEALS_ROWS) == 4
    assert "notes" in result.manifest["ignored_columns"][c.DEALS]


def test_control_bytes_without_nul_are_not_text(tmp_path):
    # printable text with a control byte every few characters (no NUL, decodes as UTF-8)
    data = b"a,b\n" + b"x\x01y\x02,\x03z\n" * 200
    with pytest.raises(InputError, match="not a text"):
        read_table_file(_write(tmp_path, "x.csv", data))
