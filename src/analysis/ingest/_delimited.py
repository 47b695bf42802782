"""Delimited text exports (CSV, TSV, TXT): encoding, delimiter and an all-string read.

The engine behind :func:`analysis.ingest.read.read_table_file` for text files.
The file is read by pyarrow with every column as a string (the header line is
read as row 0 and sliced off, so header and data follow the same quoting
rules); values are stripped and empty ones become missing.

Blank lines are not rows: empty or whitespace-only lines, unless they split
into exactly the header's number of fields (like ``,,`` does), in which case
they are rows of missing values; in a one-column file every line whose value
is empty or whitespace is blank. A row with more or fewer fields than the
header is kept, cut or padded with missing values to the header's width, and
reported as *malformed* with its text; only a file with such rows is read a
second time, in one thread, so that each goes back in its place. Content that
is not text (a workbook or archive renamed ``.csv``, NUL or control bytes) stops
the read with an ``InputError``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv

from analysis.core.errors import InputError

DELIMITERS = (",", ";", "\t", "|")
EMPTY_MESSAGE = (
    "the file is empty (no header row); export it again with a header row of column names."
)
MAX_LINE_CHARS = 500
"""Length to which the text of a malformed row is cut when it is reported."""

_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_NON_BLANK = re.compile(rb"\S")
# Control characters other than tab, newlines, vertical tab and form feed. Not the C1
# range: Latin-1 text decodes Windows-1252's "€" (0x80) and friends to C1 characters.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f]")
_SAMPLE_BYTES = 64 * 1024
_BLOCK_BYTES = 1 << 20  # pyarrow's default parse block
_SNIFF_RECORDS = 50


@dataclass(frozen=True)
class DelimitedText:
    """A delimited text file read as strings.

    Attributes
    ----------
    header : list of str
        The header cells, as written (not yet stripped).
    frame : pandas.DataFrame
        Data rows, all ``str``, stripped, empty values missing; columns named
        ``_0, _1, ...`` by position; ``RangeIndex`` over data rows.
    malformed : dict of int to str
        Index of each row whose field count differed from the header's, to
        its text (cut to :data:`MAX_LINE_CHARS` characters).
    """

    header: list[str]
    frame: pd.DataFrame
    malformed: dict[int, str] = field(default_factory=dict)


# --- encoding and content ---------------------------------------------------------


def detect_encoding(data: bytes) -> str:
    """Name the text encoding of an export.

    Returns
    -------
    str
        One of ``utf-8-sig``, ``utf-8``, ``utf-16``, ``cp1252`` and ``latin-1``.

    Notes
    -----
    A UTF-16 byte-order mark gives ``utf-16`` (Excel's "Unicode text"). Else,
    after any UTF-8 byte-order mark: bytes that decode as UTF-8 give
    ``utf-8-sig`` (with the mark) or ``utf-8``; otherwise Windows-1252 (what
    Excel on Windows writes, sometimes behind a UTF-8 mark), and Latin-1 for
    the few bytes undefined in Windows-1252 (Latin-1 decodes any byte, so
    detection never fails).
    """
    if data.startswith(_UTF16_BOMS):
        return "utf-16"
    has_bom = data.startswith(_BOM)
    body = data[len(_BOM) :] if has_bom else data
    if _decodes(body, "utf-8"):
        return "utf-8-sig" if has_bom else "utf-8"
    return "cp1252" if _decodes(body, "cp1252") else "latin-1"


def _decodes(data: bytes, encoding: str) -> bool:
    if data.isascii():
        return True
    try:
        codecs.decode(data, encoding)
    except UnicodeDecodeError:
        return False
    return True


def _to_utf8(data: bytes, encoding: str, path: Path, *, validate: bool) -> bytes:
    """Re-encode ``data`` as UTF-8 without a byte-order mark."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        raise InputError(f"unknown text encoding {encoding!r}.", file=path) from None
    if not name.startswith(("utf-16", "utf-32")):
        data = data.removeprefix(_BOM)  # a UTF-8 mark before text in any 8-bit encoding
    if name in ("utf-8", "utf-8-sig"):
        try:
            if validate:
                codecs.decode(data, "utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(
                f"the file is not valid UTF-8 (byte {exc.start}); pass its encoding, e.g. cp1252.",
                file=path,
            ) from None
        return data
    try:
        return codecs.decode(data, name).lstrip("\ufeff").encode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(
            f"the file cannot be decoded as {encoding} (byte {exc.start}).", file=path
        ) from None


def _binary_kind(data: bytes) -> str | None:
    """What a file whose bytes carry a binary signature looks like, or None."""
    if data.startswith(b"PK\x03\x04"):
        return "an Excel workbook (a zip archive); if it is one, give it the .xlsx suffix"
    if data.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an old Excel workbook (.xls); save it as .xlsx or CSV"
    if data.startswith(b"PAR1") and data.endswith(b"PAR1"):
        return "a Parquet file; give it the .parquet suffix"
    return None


def _check_text(data: bytes, body: bytes, path: Path) -> None:
    """Raise an InputError when the bytes are not delimited text."""
    kind = _binary_kind(data)
    if kind is not None:
        raise InputError(f"the file is not a text (CSV) file: it looks like {kind}.", file=path)
    sample = body[:_SAMPLE_BYTES].decode("utf-8", errors="replace")
    # Binary files (and UTF-16 text) are full of NUL and control bytes; a CRM's
    # rich-text field may carry a stray one, which must not reject the file.
    controls = len(_CONTROL.findall(sample))
    if controls > max(8, len(sample) // 20):
        raise InputError(
            "the file is not a text (CSV) file: it holds NUL or control bytes, as binary "
            "files do. Export the table again as CSV (if it is UTF-16 text, pass its encoding).",
            file=path,
        )


# --- delimiter and header ---------------------------------------------------------


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
    reports the ragged rows.
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


def _is_blank_record(record: list[str]) -> bool:
    """No field, or one empty or whitespace-only field (a blank line before the header)."""
    return len(record) <= 1 and not "".join(record).strip()


def _records(sample: str, delimiter: str) -> list[list[str]]:
    """Up to the first 50 non-blank records of ``sample``; none when it is not CSV."""
    reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
    out = []
    try:
        for record in reader:
            if not _is_blank_record(record):
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


def _header(sample: str, delimiter: str, path: Path) -> list[str]:
    """The first non-blank record of ``sample``."""
    try:
        for record in csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter):
            if not _is_blank_record(record):
                return record
    except csv.Error as exc:
        raise InputError(
            f"the header row cannot be read as delimited text ({exc}).", file=path
        ) from None
    raise InputError(EMPTY_MESSAGE, file=path)


# --- reading ----------------------------------------------------------------------


def read_delimited(
    path: Path, data: bytes, encoding: str | None, delimiter: str | None
) -> DelimitedText:
    """Read delimited text as strings, keeping malformed rows (see the module notes)."""
    detected = encoding is None
    body = _to_utf8(data, encoding or detect_encoding(data), path, validate=not detected)
    _check_text(data, body, path)
    if _NON_BLANK.search(body) is None:
        raise InputError(EMPTY_MESSAGE, file=path)
    head = body[:_SAMPLE_BYTES]
    if len(body) > _SAMPLE_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    sample = head.decode("utf-8", errors="replace")
    if delimiter is None:
        delimiter = detect_delimiter(sample, default="\t" if path.suffix.lower() == ".tsv" else ",")
    width = len(_header(sample, delimiter, path))
    try:
        table, malformed = _read_table(body, delimiter, width)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(
            f"the file cannot be parsed as delimited text ({exc}).", file=path
        ) from None
    if width == 1:  # a whitespace-only line is one blank value here
        keep = _mask(pc.not_equal(pc.utf8_trim_whitespace(table.column(0)), ""))
        keep[list(malformed)] = True
        table, position = table.filter(pa.array(keep)), np.cumsum(keep) - 1
        malformed = {int(position[p]): text for p, text in malformed.items()}
    header = [table.column(i)[0].as_py() for i in range(width)]
    lines = {p - 1: text[:MAX_LINE_CHARS] for p, text in malformed.items() if p > 0}
    return DelimitedText(header, _tidy(table.slice(1).columns), lines)


def _read_table(body: bytes, delimiter: str, width: int) -> tuple[pa.Table, dict[int, str]]:
    """All-string table with the header as row 0, and the text of each malformed row by position.

    A multi-threaded read stops at the first malformed row. Only then is the
    file read again in one thread, where pyarrow numbers the rows it hands to
    the invalid-row handler (counting every non-empty record), so that the
    malformed rows, cut or padded to ``width``, go back where they were.
    """
    found: list[pcsv.InvalidRow] = []

    def stop(row: pcsv.InvalidRow) -> str:
        if not row.text.strip():
            return "skip"  # a blank line
        found.append(row)
        return "error"

    try:
        return _arrow_csv(body, delimiter, width, stop, use_threads=True, handled=found), {}
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        if not found:
            raise
    invalid: list[tuple[int | None, str]] = []

    def note(row: pcsv.InvalidRow) -> str:
        invalid.append((row.number, row.text))
        return "skip"

    table = _arrow_csv(body, delimiter, width, note, use_threads=False, handled=invalid)
    positions, rows, texts = [], [], []
    for before, (number, text) in enumerate(invalid):
        if not text.strip():
            continue
        if number is None:  # pyarrow numbers rows when reading in one thread
            raise pa.ArrowInvalid(f"a row has the wrong number of fields: {text[:80]!r}")
        # valid rows before it (number is 1-based), plus the malformed rows put back before it
        positions.append(number - 1 - before + len(positions))
        rows.append(_fields(text, delimiter, width))
        texts.append(text)
    columns = list(zip(*rows, strict=True)) or [()] * width
    extra = pa.table([pa.array(col, pa.string()) for col in columns], names=table.column_names)
    is_extra = np.zeros(table.num_rows + len(rows), bool)
    is_extra[positions] = True
    order = np.empty(len(is_extra), np.int64)
    order[is_extra] = table.num_rows + np.arange(len(rows))
    order[~is_extra] = np.arange(table.num_rows)
    table = pa.concat_tables([table, extra]).take(pa.array(order))
    return table, dict(zip(positions, texts, strict=True))


def _arrow_csv(
    body: bytes,
    delimiter: str,
    width: int,
    on_invalid: Callable[[pcsv.InvalidRow], str],
    *,
    use_threads: bool,
    handled: list,
) -> pa.Table:
    """Read with pyarrow; a record longer than a parse block is read with larger blocks.

    pyarrow parses in blocks (1 MiB by default) and a record must fit in one:
    a CRM note of several megabytes would fail the whole file. The block grows
    fourfold per retry, up to the whole body, so the cost falls only on such
    files. ``handled`` is the list ``on_invalid`` fills; it is emptied before
    each try, since a retry hands the same rows to the handler again.
    """
    block = _BLOCK_BYTES
    while True:
        handled.clear()
        try:
            return _arrow_csv_blocks(body, delimiter, width, on_invalid, use_threads, block)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc) or block > len(body):
                raise
            block *= 4


def _arrow_csv_blocks(
    body: bytes,
    delimiter: str,
    width: int,
    on_invalid: Callable[[pcsv.InvalidRow], str],
    use_threads: bool,
    block: int,
) -> pa.Table:
    names = [f"_{i}" for i in range(width)]
    return pcsv.read_csv(
        pa.BufferReader(body),
        read_options=pcsv.ReadOptions(
            column_names=names, use_threads=use_threads, block_size=block
        ),
        parse_options=pcsv.ParseOptions(
            delimiter=delimiter,
            newlines_in_values=b'"' in body,
            invalid_row_handler=on_invalid,
        ),
        convert_options=pcsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )


def _fields(text: str, delimiter: str, width: int) -> list[str]:
    """The fields of one row's text, cut or padded (with empty values) to ``width``."""
    try:
        record = next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), [])
    except csv.Error:
        record = [text]
    return (record + [""] * width)[:width]


def _mask(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


def _tidy(columns: list[pa.Array] | list[pa.ChunkedArray]) -> pd.DataFrame:
    """Strip values and make empty ones missing; columns ``_0, _1, ...``."""
    out = []
    for column in columns:
        trimmed = pc.utf8_trim_whitespace(column)
        out.append(pc.if_else(pc.equal(trimmed, ""), pa.scalar(None, pa.string()), trimmed))
    return pa.table(out, names=[f"_{i}" for i in range(len(out))]).to_pandas()
