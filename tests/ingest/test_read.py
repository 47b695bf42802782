"""Tests of analysis.ingest.read: one export file in, one all-rows DataFrame out.

Expected values are the literal contents written into each fixture file
(hand-written), so each assertion checks that reading returns what was written.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from analysis.core.errors import InputError
from analysis.ingest.read import (
    MALFORMED_LINES,
    MALFORMED_ROWS,
    SUPPORTED_SUFFIXES,
    UNCALCULATED_CELLS,
    clean_header,
    detect_delimiter,
    find_table_files,
    read_table_file,
)


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --- text files -------------------------------------------------------------------


def test_utf8_csv_with_quotes_crlf_and_blanks(tmp_path):
    text = 'deal_id , name ,amount\r\nD1, Müller ,"1,200.50"\r\nD2,,3\r\n'
    path = _write(tmp_path, "deals.csv", text.encode("utf-8"))
    df = read_table_file(path)
    # hand-written: header stripped, values stripped, empty -> missing, quoted comma kept
    assert list(df.columns) == ["deal_id", "name", "amount"]
    assert df["deal_id"].tolist() == ["D1", "D2"]
    assert df.loc[0, "name"] == "Müller"
    assert pd.isna(df.loc[1, "name"])
    assert df["amount"].tolist() == ["1,200.50", "3"]
    assert all(str(t) == "str" for t in df.dtypes)
    assert isinstance(df.index, pd.RangeIndex) and df.index.tolist() == [0, 1]


def test_values_are_not_type_guessed(tmp_path):
    path = _write(tmp_path, "deals.csv", b"id,amount,flag\n007,1.50,TRUE\n")
    df = read_table_file(path)
    # hand-written: leading zeros and trailing zeros survive, nothing becomes a number
    assert df.iloc[0].tolist() == ["007", "1.50", "TRUE"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters_are_detected(tmp_path, delimiter):
    rows = [["deal_id", "amount", "segment"], ["D1", "5", "B2B"], ["D2", "7", "B2C"]]
    text = "\n".join(delimiter.join(r) for r in rows) + "\n"
    path = _write(tmp_path, "deals.csv", text.encode())
    df = read_table_file(path)
    assert list(df.columns) == rows[0]
    assert df.values.tolist() == rows[1:]


def test_delimiter_inside_quotes_does_not_mislead_detection(tmp_path):
    text = 'name;amount\n"Smith, Jones";"1,5"\n"A, B";"2,5"\n'
    assert detect_delimiter(text) == ";"
    df = read_table_file(_write(tmp_path, "x.csv", text.encode()))
    assert df.values.tolist() == [["Smith, Jones", "1,5"], ["A, B", "2,5"]]


def test_explicit_encoding_and_delimiter(tmp_path):
    data = "a;b\nä,1;2\n".encode("cp1252")
    df = read_table_file(_write(tmp_path, "x.txt", data), encoding="cp1252", delimiter=";")
    assert df.values.tolist() == [["ä,1", "2"]]


def test_quoted_newlines_and_doubled_quotes(tmp_path):
    text = 'a,b\n"he said ""hi""","line one\nline two"\nx,y\n'
    df = read_table_file(_write(tmp_path, "x.csv", text.encode()))
    assert df.values.tolist() == [['he said "hi"', "line one\nline two"], ["x", "y"]]


def test_single_column_file(tmp_path):
    df = read_table_file(_write(tmp_path, "x.csv", b"deal_id\nD1\nD2\n"))
    assert list(df.columns) == ["deal_id"] and df["deal_id"].tolist() == ["D1", "D2"]


def test_blank_lines_are_not_rows(tmp_path):
    df = read_table_file(_write(tmp_path, "x.csv", b"a,b\n\n1,2\n\n3,4\n\n"))
    assert df.values.tolist() == [["1", "2"], ["3", "4"]]


def test_header_only_file_gives_empty_frame(tmp_path):
    df = read_table_file(_write(tmp_path, "deals.csv", b"deal_id,amount\n"))
    assert list(df.columns) == ["deal_id", "amount"]
    assert len(df) == 0


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t", b"\xef\xbb\xbf"])
def test_empty_file_is_an_input_error(tmp_path, data):
    path = _write(tmp_path, "deals.csv", data)
    with pytest.raises(InputError, match="empty") as info:
        read_table_file(path)
    assert info.value.file == str(path)
    assert str(path) in str(info.value)


def test_duplicate_header_names_the_column(tmp_path):
    path = _write(tmp_path, "deals.csv", b"deal_id, amount,amount \n1,2,3\n")
    with pytest.raises(InputError, match="2 times") as info:
        read_table_file(path)
    assert info.value.column == "amount"


def test_unnamed_empty_column_is_dropped(tmp_path):
    # a trailing delimiter on every line (some exporters) adds a nameless, empty column
    df = read_table_file(_write(tmp_path, "x.csv", b"a,b,\n1,2,\n3,4,\n"))
    assert list(df.columns) == ["a", "b"]


def test_clean_header():
    # the one rule for header names, shared with the column map lookup
    assert clean_header("\ufeff deal_id ") == "deal_id"
    assert clean_header(None) == "" and clean_header(7) == "7"


def test_missing_and_unsupported_files(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_table_file(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="unsupported file type"):
        read_table_file(_write(tmp_path, "deals.json", b"{}"))


# --- xlsx and parquet ---------------------------------------------------------------


def test_xlsx_round_trip_keeps_native_types(tmp_path):
    frame = pd.DataFrame(
        {
            " deal_id ": ["D1", "D2", "D3"],
            "created_at": pd.to_datetime(
                ["2024-03-14 09:30", "2024-03-15 00:00", "2024-03-16 00:00"]
            ),
            "amount": [1200.5, None, 7.0],
            "segment": [" B2B ", "", "B2C"],
        }
    )
    path = tmp_path / "deals.xlsx"
    frame.to_excel(path, index=False)
    df = read_table_file(path)
    assert list(df.columns) == ["deal_id", "created_at", "amount", "segment"]
    assert pd.api.types.is_datetime64_dtype(df["created_at"])
    assert df.loc[0, "created_at"] == pd.Timestamp("2024-03-14 09:30")
    assert df["amount"].dtype == "float64" and pd.isna(df.loc[1, "amount"])
    assert df.loc[0, "segment"] == "B2B" and pd.isna(df.loc[1, "segment"])
    assert df.index.tolist() == [0, 1, 2]
    assert df.attrs[MALFORMED_ROWS] == [] and df.attrs[MALFORMED_LINES] == {}


def test_xlsx_blank_rows_and_duplicate_headers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (["a", "b"], [1, dt.datetime(2024, 1, 2)], [None, None], [3, None]):
        sheet.append(row)
    book.save(tmp_path / "x.xlsx")
    df = read_table_file(tmp_path / "x.xlsx")
    assert df["a"].tolist() == [1, 3]  # the blank row is not a data row

    book = openpyxl.Workbook()
    book.active.append(["id", "id"])
    book.active.append([1, 2])
    book.save(tmp_path / "dup.xlsx")
    with pytest.raises(InputError) as info:
        read_table_file(tmp_path / "dup.xlsx")
    assert info.value.column == "id"


def _with_stored_result(path, formula: str, result: str) -> None:
    """Store ``result`` as the last calculated value of ``formula``, as Excel does on save."""
    with zipfile.ZipFile(path) as book:
        parts = {name: book.read(name) for name in book.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    old = f"<f>{formula}</f><v />".encode()
    assert old in parts[sheet]
    parts[sheet] = parts[sheet].replace(old, f"<f>{formula}</f><v>{result}</v>".encode())
    with zipfile.ZipFile(path, "w") as book:
        for name, data in parts.items():
            book.writestr(name, data)


def test_xlsx_formulas_never_calculated_are_named(tmp_path):
    # openpyxl writes formulas without results (as scripts do); C3's result is then
    # stored by hand as Excel would, so only C5 (sheet row 5, after a blank row) has none
    book = openpyxl.Workbook()
    for row in (["deal_id", "amount"], ["D1", 100], ["D2", "=B2*2"], [None, None], ["D3", "=B2+1"]):
        book.active.append(row)
    path = tmp_path / "deals.xlsx"
    book.save(path)
    _with_stored_result(path, "B2*2", "200")
    df = read_table_file(path)
    assert df["amount"].tolist()[:2] == [100, 200] and pd.isna(df.loc[2, "amount"])
    assert df.attrs[UNCALCULATED_CELLS] == ["B5"]


def test_xlsx_of_plain_values_has_no_uncalculated_cells(tmp_path):
    pd.DataFrame({"deal_id": ["D1"], "amount": [None]}).to_excel(tmp_path / "x.xlsx", index=False)
    assert read_table_file(tmp_path / "x.xlsx").attrs[UNCALCULATED_CELLS] == []


def test_xlsx_header_only_and_empty_sheet(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["deal_id", "amount"])
    book.save(tmp_path / "h.xlsx")
    df = read_table_file(tmp_path / "h.xlsx")
    assert list(df.columns) == ["deal_id", "amount"] and len(df) == 0
    openpyxl.Workbook().save(tmp_path / "e.xlsx")
    with pytest.raises(InputError, match="empty"):
        read_table_file(tmp_path / "e.xlsx")


def test_parquet_round_trip_keeps_native_types(tmp_path):
    frame = pd.DataFrame(
        {
            "deal_id": ["D1", " D2 "],
            "at": pd.to_datetime(["2024-03-14 09:30", "2024-03-15 00:00"]).tz_localize("UTC"),
            "n": pd.array([1, None], dtype="Int64"),
        }
    )
    frame.to_parquet(tmp_path / "a.parquet")
    df = read_table_file(tmp_path / "a.parquet")
    assert df["deal_id"].tolist() == ["D1", "D2"]
    assert str(df["at"].dtype).startswith("datetime64") and str(df["at"].dt.tz) == "UTC"
    assert df["n"].dtype == "Int64"
    # a named index comes back as a column, an unnamed one is dropped
    frame.set_index("deal_id").to_parquet(tmp_path / "b.parquet")
    assert "deal_id" in read_table_file(tmp_path / "b.parquet").columns
    frame.iloc[[1]].to_parquet(tmp_path / "c.parquet")
    assert read_table_file(tmp_path / "c.parquet").index.tolist() == [0]


@pytest.mark.parametrize("name", ["bad.xlsx", "bad.parquet"])
def test_corrupt_binary_files_are_input_errors(tmp_path, name):
    path = _write(tmp_path, name, b"this is not a real file")
    with pytest.raises(InputError, match="not a readable") as info:
        read_table_file(path)
    assert info.value.file == str(path)


def test_zero_byte_binary_file_is_empty(tmp_path):
    with pytest.raises(InputError, match="empty"):
        read_table_file(_write(tmp_path, "deals.parquet", b""))


# --- finding files --------------------------------------------------------------------


def test_find_table_files(tmp_path):
    for name in ("deals.csv", "reps.xlsx", "spend.parquet", ".hidden.csv", "README.csv", "x.json"):
        _write(tmp_path, name, b"a\n1\n")
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "sub", "activities.csv", b"a\n")
    found = find_table_files(tmp_path)
    assert found == {
        "deals": tmp_path / "deals.csv",
        "reps": tmp_path / "reps.xlsx",
        "spend": tmp_path / "spend.parquet",
    }
    assert set(SUPPORTED_SUFFIXES) == {".csv", ".tsv", ".txt", ".xlsx", ".parquet"}


def test_find_table_files_rejects_two_files_for_one_table(tmp_path):
    _write(tmp_path, "deals.csv", b"a\n")
    _write(tmp_path, "deals.xlsx", b"a\n")
    with pytest.raises(InputError, match=r"deals\.csv and deals\.xlsx"):
        find_table_files(tmp_path)


def test_find_table_files_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist") as info:
        find_table_files(tmp_path / "nope")
    assert info.value.file == str(tmp_path / "nope")
    _write(tmp_path, "f.csv", b"")
    with pytest.raises(InputError, match="not a folder"):
        find_table_files(tmp_path / "f.csv")


def test_a_link_out_of_the_source_folder_is_refused_without_reading_it(tmp_path):
    # Issue 20: reps.csv -> /etc/passwd printed the target's first line in the error.
    outside = tmp_path / "secret.csv"
    outside.write_text("root:x:0:0:root:/root:/bin/bash\n")
    src = tmp_path / "src"
    src.mkdir()
    (src / "deals.csv").write_text("deal_id\nD1\n")
    (src / "reps.csv").symlink_to(outside)
    with pytest.raises(InputError, match="link to a file outside the source folder") as info:
        find_table_files(src)
    assert info.value.file.endswith("reps.csv")
    assert "root:x" not in str(info.value)


def test_a_link_inside_the_source_folder_is_read_and_recorded(tmp_path):
    from analysis.ingest.manifest import input_entry

    src = tmp_path / "src"
    (src / "raw").mkdir(parents=True)
    (src / "raw" / "deals_2026.csv").write_text("deal_id\nD1\n")
    (src / "deals.csv").symlink_to(src / "raw" / "deals_2026.csv")
    found = find_table_files(src)
    entry = input_entry("deals", found["deals"])
    assert entry["resolved"].endswith("raw/deals_2026.csv")
