"""Delimited text exports (CSV, TSV, TXT): encoding, delimiter and an all-string read.

The engine behind :func:`analysis.ingest.read.read_table_file` for text files.
The file is read by pyarrow with every column as a string (the header line is
read as row 0 and sliced off, so header and data follow the same quoting
rules); values are stripped and empty ones become missing. A row with more or
fewer fields than the header stops the read with an ``InputError`` naming its
1-based data row.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from pathlib import Path
from typing import NoReturn

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from analysis.errors import InputError

DELIMITERS = (",", ";", "\t", "|")
EMPTY_MESSAGE = (
    "the file is empty (no header row); export it again with a header row of column names."
)

_BOM = codecs.BOM_UTF8
_NON_BLANK = re.compile(rb"\S")
_SAMPLE_BYTES = 64 * 1024
_SNIFF_RECORDS = 50


def detect_encoding(data: bytes) -> str:
    """Name the text encoding of an export: ``utf-8-sig``, ``utf-8``, ``cp1252`` or ``latin-1``.

    Notes
    -----
    A UTF-8 byte-order mark gives ``utf-8-sig``; bytes that decode as UTF-8 give
    ``utf-8``; otherwise Windows-1252 (what Excel on Windows writes), and
    Latin-1 for the few bytes undefined in Windows-1252 (Latin-1 decodes any
    byte, so detection never fails).
    """
    if data.startswith(_BOM):
        return "utf-8-sig"
    if data.isascii():
        return "utf-8"
    for encoding in ("utf-8", "cp1252"):
        try:
            codecs.decode(data, encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "latin-1"


def detect_delimiter(sample: str, *, default: str = ",") -> str:
    """Find the field delimiter of a CSV sample among :data:`DELIMITERS`.

    Parameters
    ----------
    sample : str
        The first lines of the file (complete lines only).
    default : str
        Returned when no candidate splits the header into more than one field
        (a one-column file).

    Notes
    -----
    A candidate is *consistent* when every non-blank record of the sample, read
    with quoting rules, has the same number of fields and that number is above
    one. One consistent candidate wins; among several, :class:`csv.Sniffer`'s
    choice wins if it is one of them, else the candidate giving the most
    columns. With none (a ragged sample), the sniffer decides, then the
    candidate splitting the header into the most fields, so that the reader
    reports the ragged row.
    """
    records = {d: _records(sample, d) for d in DELIMITERS}
    counts = {d: {len(r) for r in recs} for d, recs in records.items() if recs}
    consistent = [d for d, n in counts.items() if len(n) == 1 and next(iter(n)) > 1]
    sniffed = _sniff(sample)
    if len(consistent) == 1:
        return consistent[0]
    if consistent:
        if sniffed in consistent:
            return sniffed
        return max(consistent, key=lambda d: len(records[d][0]))
    if sniffed is not None:
        return sniffed
    widths = {d: len(recs[0]) for d, recs in records.items() if recs}
    best = max(DELIMITERS, key=lambda d: widths.get(d, 0))
    return best if widths.get(best, 0) > 1 else default


def _records(sample: str, delimiter: str) -> list[list[str]]:
    reader = csv.reader(io.StringIO(sample), delimiter=delimiter)
    out = []
    try:
        for record in reader:
            if record:
                out.append(record)
            if len(out) >= _SNIFF_RECORDS:
                break
    except csv.Error:
        return []
    return out


def _sniff(sample: str) -> str | None:
    try:
        return csv.Sniffer().sniff(sample, delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        return None


def _to_utf8(data: bytes, encoding: str, path: Path, *, validate: bool) -> bytes:
    """Re-encode ``data`` as UTF-8 without a byte-order mark."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r}.", file=path) from None
    if name in ("utf-8", "utf-8-sig"):
        body = data[len(_BOM) :] if data.startswith(_BOM) else data
        try:
            if validate:
                codecs.decode(body, "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the file is not valid UTF-8 (byte {exc.start}); pass its encoding, e.g. cp1252.",
                file=path,
            ) from None
        return body
    try:
        return codecs.decode(data, name).lstrip("\ufeff").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file cannot be decoded as {encoding} (byte {exc.start}).", file=path
        ) from None


def read_delimited(
    path: Path, data: bytes, encoding: str | None, delimiter: str | None
) -> tuple[list[object], pd.DataFrame]:
    """Read delimited text as strings: ``(header cells, frame with positional column names)``."""
    detected = encoding is None
    body = _to_utf8(data, encoding or detect_encoding(data), path, validate=not detected)
    if _NON_BLANK.search(body) is None:
        raise InputError(EMPTY_MESSAGE, file=path)
    head = body[:_SAMPLE_BYTES]
    if len(body) > _SAMPLE_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    sample = head.decode("utf-8", errors="replace")
    if delimiter is None:
        delimiter = detect_delimiter(sample, default="\t" if path.suffix.lower() == ".tsv" else ",")
    header = _records(sample, delimiter)[:1]
    if not header:
        raise InputError(EMPTY_MESSAGE, file=path)
    width = len(header[0])
    ragged: list[pcsv.InvalidRow] = []

    def keep_note(row: pcsv.InvalidRow) -> str:
        ragged.append(row)
        return "skip"

    # The header is read as row 0 of an all-string table, so pyarrow and the
    # column names agree on quoting; it is sliced off below.
    names = [f"_{i}" for i in range(width)]
    try:
        table = pcsv.read_csv(
            pa.BufferReader(body),
            read_options=pcsv.ReadOptions(column_names=names),
            parse_options=pcsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=b'"' in body,
                invalid_row_handler=keep_note,
            ),
            convert_options=pcsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(
            f"the file cannot be parsed as delimited text ({exc}).", file=path
        ) from None
    if ragged:
        _raise_ragged(path, body, delimiter, width, ragged[0])
    columns = []
    for column in table.slice(1).columns:
        trimmed = pc.utf8_trim_whitespace(column)
        columns.append(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed))
    header_cells = [table.column(i)[0].as_py() for i in range(width)]
    return header_cells, pa.table(columns, names=names).to_pandas()


def _raise_ragged(
    path: Path, body: bytes, delimiter: str, width: int, first: pcsv.InvalidRow
) -> NoReturn:
    """Raise an InputError naming the first data row whose field count differs from the header."""
    reader = csv.reader(io.StringIO(body.decode("utf-8")), delimiter=delimiter)
    row = None
    try:
        records = (r for r in reader if r)
        next(records, None)  # the header
        for number, record in enumerate(records, start=1):
            if len(record) != width:
                row = number
                break
    except csv.Error:
        row = None
    raise InputError(
        f"{'this' if row else 'a'} row has {first.actual_columns} fields but the header has {width} "
        f"(row text: {first.text[:80]!r}); fix the export, e.g. quote values that "
        "contain the delimiter.",
        file=path,
        row=row,
    )
