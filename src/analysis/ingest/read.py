"""Read one CRM export file (CSV, TSV, TXT, XLSX or Parquet) into a DataFrame.

Text files are read with every column as strings, so no value is changed by
type guessing before ingest parses it (:mod:`analysis.ingest.parse`); XLSX and
Parquet keep their native types. Every reader returns a frame whose
``RangeIndex`` position ``i`` is data row ``i + 1`` of the file (the header is
row 0), which is how the quarantine names rows. Blank lines (CSV) and blank
rows (XLSX) are not data rows and are not counted.

Anything unusable (missing file, empty file, ragged row, duplicate column name,
corrupt workbook) raises :class:`analysis.errors.InputError` naming the file
and, where known, the column and row.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pcsv
import pyarrow.parquet as pq

from analysis.errors import InputError

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
DELIMITERS = (",", ";", "\t", "|")

_BOM = codecs.BOM_UTF8
_SAMPLE_BYTES = 64 * 1024
_SNIFF_RECORDS = 50
_EMPTY_MESSAGE = (
    "the file is empty (no header row); export it again with a header row of column names."
)


# --- finding files ----------------------------------------------------------------


def find_table_files(directory: Path) -> dict[str, Path]:
    """Map each file stem in ``directory`` to its path.

    Parameters
    ----------
    directory : Path
        Folder of exports. Only its own files are listed (not subfolders);
        hidden files (``.name``), ``README*`` and unsupported suffixes are ignored.

    Returns
    -------
    dict of str to Path
        ``{stem: path}`` for every file whose suffix is in :data:`SUPPORTED_SUFFIXES`
        (case-insensitive), sorted by stem.

    Raises
    ------
    InputError
        If ``directory`` does not exist or is not a folder, or two files share a
        stem (``deals.csv`` and ``deals.xlsx``), so which one to read is unclear.
    """
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise InputError(f"the source folder {what}.", file=directory)
    found: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith(".") or name.upper().startswith("README"):
            continue
        if not path.is_file() or path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if path.stem in found:
            raise InputError(
                f"two files hold the table {path.stem!r}: {found[path.stem].name} and "
                f"{name}; keep one of them in the folder.",
                file=directory,
            )
        found[path.stem] = path
    return dict(sorted(found.items()))


# --- encodings and delimiters -------------------------------------------------------


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


# --- reading ------------------------------------------------------------------------


def read_table_file(
    path: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Read one export file into a DataFrame, losing no row.

    Parameters
    ----------
    path : Path
        A ``.csv``, ``.tsv``, ``.txt``, ``.xlsx`` (first sheet) or ``.parquet`` file.
    encoding : str, optional
        Text encoding of a text file; detected when None (:func:`detect_encoding`).
    delimiter : str, optional
        Field delimiter of a text file; detected when None (:func:`detect_delimiter`).

    Returns
    -------
    pandas.DataFrame
        Text files: every column of dtype ``str``, values stripped of surrounding
        whitespace, empty values missing. XLSX and Parquet: native dtypes, string
        values stripped the same way. Column names are stripped of whitespace and
        byte-order marks; an unnamed column without any value is dropped. The
        index is a ``RangeIndex``: position ``i`` is data row ``i + 1`` of the
        file (header = row 0; blank lines are not rows). A header-only file
        gives an empty frame with its columns.

    Raises
    ------
    InputError
        The file is missing, unreadable, empty (no header), corrupt, has a row
        with more or fewer fields than the header (naming the row), or repeats a
        column name (naming the column).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"unsupported file type {path.suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}.",
            file=path,
        )
    data = _read_bytes(path) if suffix in TEXT_SUFFIXES else None
    if data is None:
        _check_readable(path)
    if data is not None:
        frame = _read_text(path, data, encoding, delimiter)
    elif suffix == ".xlsx":
        frame = _tidy_strings(_read_xlsx(path))
    else:
        frame = _tidy_strings(_read_parquet(path))
    return frame.reset_index(drop=True)


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InputError("the file does not exist.", file=path) from None
    except IsADirectoryError:
        raise InputError("this is a folder, not a file.", file=path) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc}).", file=path) from None


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb") as fh:
            first = fh.read(1)
    except FileNotFoundError:
        raise InputError("the file does not exist.", file=path) from None
    except IsADirectoryError:
        raise InputError("this is a folder, not a file.", file=path) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc}).", file=path) from None
    if not first:
        raise InputError(_EMPTY_MESSAGE, file=path)


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


def _read_text(
    path: Path, data: bytes, encoding: str | None, delimiter: str | None
) -> pd.DataFrame:
    detected = encoding is None
    body = _to_utf8(data, encoding or detect_encoding(data), path, validate=not detected)
    if not body.strip():
        raise InputError(_EMPTY_MESSAGE, file=path)
    head = body[:_SAMPLE_BYTES]
    if len(body) > _SAMPLE_BYTES and b"\n" in head:
        head = head[: head.rindex(b"\n") + 1]
    sample = head.decode("utf-8", errors="replace")
    if delimiter is None:
        delimiter = detect_delimiter(sample, default="\t" if path.suffix.lower() == ".tsv" else ",")
    header = _records(sample, delimiter)[:1]
    if not header:
        raise InputError(_EMPTY_MESSAGE, file=path)
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
    frame = pa.table(columns, names=names).to_pandas()
    frame.columns = [_clean_name(h) for h in header_cells]
    return _check_columns(frame, path)


def _raise_ragged(
    path: Path, body: bytes, delimiter: str, width: int, first: pcsv.InvalidRow
) -> None:
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
        f"a row has {first.actual_columns} fields but the header has {width} "
        f"(row text: {first.text[:80]!r}); fix the export, e.g. quote values that "
        "contain the delimiter.",
        file=path,
        row=row,
    )


def _read_xlsx(path: Path) -> pd.DataFrame:
    import openpyxl  # imported here: only XLSX sources pay for it

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            rows = [r for r in sheet.iter_rows(values_only=True) if any(_present(v) for v in r)]
        finally:
            book.close()
    except Exception as exc:  # openpyxl raises many types for a corrupt workbook
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise InputError(
            f"the file is not a readable Excel workbook ({reason}).", file=path
        ) from None
    if not rows:
        raise InputError(_EMPTY_MESSAGE, file=path)
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [tuple(r) + (None,) * (width - len(r)) for r in body]
    if any(len(r) > width and any(_present(v) for v in r[width:]) for r in body):
        raise InputError("a row has values to the right of the last header cell.", file=path)
    frame = pd.DataFrame([r[:width] for r in body], columns=range(width))
    if frame.empty:
        frame = frame.astype("str")
    frame.columns = [_clean_name(h) for h in header]
    return _check_columns(frame, path)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        frame = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"the file is not a readable Parquet file ({exc}).", file=path) from None
    if not isinstance(frame.index, pd.RangeIndex) or any(frame.index.names):
        frame = frame.reset_index(drop=not any(frame.index.names))
    frame.columns = [_clean_name(h) for h in frame.columns]
    return _check_columns(frame, path)


# --- tidying ------------------------------------------------------------------------


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _clean_name(name: object) -> str:
    if name is None:
        return ""
    return str(name).replace("\ufeff", "").strip()


def _check_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Drop unnamed empty columns, then reject empty headers and repeated names."""
    keep = [i for i, name in enumerate(frame.columns) if name or frame.iloc[:, i].notna().any()]
    frame = frame.iloc[:, keep]
    if not len(frame.columns):
        raise InputError(_EMPTY_MESSAGE, file=path)
    repeated = [name for name, n in Counter(frame.columns).items() if n > 1]
    if repeated:
        name = repeated[0]
        what = "an empty column name" if not name else "the column name"
        raise InputError(
            f"{what} appears {Counter(frame.columns)[name]} times in the header; "
            "rename the columns so that each is unique.",
            file=path,
            column=name,
        )
    return frame


def _tidy_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """Strip string values and make empty strings missing, keeping dtypes."""
    out = {}
    for i, name in enumerate(frame.columns):
        col = frame.iloc[:, i]
        if isinstance(col.dtype, pd.StringDtype):
            stripped = col.str.strip()
            col = stripped.mask(stripped == "")
        elif col.dtype == object:
            col = col.map(_tidy_value)
        out[name] = col
    return pd.DataFrame(out, index=frame.index, columns=frame.columns)


def _tidy_value(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        return value if value else None
    return value
