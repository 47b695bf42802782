"""Read one CRM export file (CSV, TSV, TXT, XLSX or Parquet) into a DataFrame.

Text files are read with every column as strings, so no value is changed by
type guessing before ingest parses it (:mod:`analysis.ingest.parse`); XLSX and
Parquet keep their native types. Every reader returns a frame whose
``RangeIndex`` position ``i`` is data row ``i + 1`` of the file (the header is
row 0), which is how the quarantine names rows. Blank and whitespace-only
lines (CSV) and blank rows (XLSX) are not data rows and are not counted.

A text row with more or fewer fields than the header is kept (cut or padded
to the header's width) and listed in ``frame.attrs["malformed_rows"]``, so
ingest quarantines it instead of stopping the run. Anything else unusable
(missing file, empty file, binary file, duplicate column name, corrupt
workbook) raises :class:`analysis.core.errors.InputError` naming the file and,
where known, the column and row.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from analysis.core.errors import InputError
from analysis.ingest._delimited import (
    DELIMITERS,
    EMPTY_MESSAGE,
    MAX_LINE_CHARS,
    detect_delimiter,
    detect_encoding,
    read_delimited,
)

__all__ = [
    "CONTROL_FREE",
    "DELIMITERS",
    "MALFORMED_LINES",
    "MALFORMED_ROWS",
    "MAX_LINE_CHARS",
    "SUPPORTED_SUFFIXES",
    "TEXT_SUFFIXES",
    "UNCALCULATED_CELLS",
    "clean_header",
    "detect_delimiter",
    "detect_encoding",
    "find_table_files",
    "read_header",
    "read_table_file",
]

SUPPORTED_SUFFIXES = (".csv", ".tsv", ".txt", ".xlsx", ".parquet")
TEXT_SUFFIXES = (".csv", ".tsv", ".txt")

MALFORMED_ROWS = "malformed_rows"
"""``frame.attrs`` key: sorted index labels of rows whose field count differed from the header."""
CONTROL_FREE = "control_free"
"""``frame.attrs`` key: True when a text file holds no control byte (tab and line ends aside)."""
_TEXT_CONTROLS = (0x09, 0x0A, 0x0D)  # tab and line ends are text
_CHUNK = 1 << 25
MALFORMED_LINES = "malformed_lines"
"""``frame.attrs`` key: index label of each malformed row to its text (first 500 characters)."""
UNCALCULATED_CELLS = "uncalculated_cells"
"""``frame.attrs`` key (XLSX): cells such as ``D7`` holding a formula with no stored result."""


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
        If ``directory`` does not exist or is not a folder, two files share a
        stem (``deals.csv`` and ``deals.xlsx``), so which one to read is
        unclear, or a file is a symbolic link to something outside the folder.
    """
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a folder" if directory.exists() else "does not exist"
        raise InputError(f"the source folder {what}.", file=directory)
    found: dict[str, Path] = {}
    root = directory.resolve()
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith(".") or name.upper().startswith("README"):
            continue
        if path.is_symlink() and not path.resolve().is_relative_to(root):
            # The source folder is a boundary: a link out of it could make ingest read, and
            # echo in messages, any file the user can read (/etc/passwd).
            raise InputError(
                "this file is a link to a file outside the source folder; copy the file into "
                "the folder instead of linking to it.",
                file=path,
            )
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
        gives an empty frame with its columns. ``attrs[MALFORMED_ROWS]`` lists
        the index labels of text rows with more or fewer fields than the
        header (kept: extra fields dropped, missing ones missing), and
        ``attrs[MALFORMED_LINES]`` maps each to its text; both are empty for
        XLSX and Parquet. ``attrs[UNCALCULATED_CELLS]`` names the XLSX cells
        (``D7``) holding a formula that was never calculated: they read as
        blank, and ingest warns about the file.

    Raises
    ------
    InputError
        The file is missing, unreadable, empty (no header), not text (a
        ``.csv`` that is a workbook or binary), corrupt, or repeats a column
        name (naming the column).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise InputError(
            f"unsupported file type {path.suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}.",
            file=path,
        )
    malformed: dict[int, str] = {}
    uncalculated: list[str] = []
    if suffix in TEXT_SUFFIXES:
        data = _read_bytes(path)
        text = read_delimited(path, data, encoding, delimiter)
        frame = text.frame.set_axis([clean_header(h) for h in text.header], axis=1)
        frame = _check_columns(frame, path)
        malformed = text.malformed
    elif suffix == ".xlsx":
        _check_readable(path)
        frame, uncalculated = _read_xlsx(path)
        frame = _tidy_strings(frame)
    else:
        _check_readable(path)
        frame = _tidy_strings(_read_parquet(path))
    frame = frame.reset_index(drop=True)
    if suffix in TEXT_SUFFIXES:
        # One scan of the bytes spares the per-column search of clean files (most of them).
        frame.attrs[CONTROL_FREE] = not _has_control_bytes(data)
    frame.attrs[MALFORMED_ROWS] = sorted(malformed)
    frame.attrs[MALFORMED_LINES] = dict(sorted(malformed.items()))
    frame.attrs[UNCALCULATED_CELLS] = uncalculated
    return frame


def _has_control_bytes(data: bytes) -> bool:
    """Whether ``data`` holds a control byte other than tab and line ends (0x00-0x1F, 0x7F).

    Scanned in 32 MB chunks with numpy: a byte below 0x20 is rare except for
    line ends, so only those few positions are looked at again.
    """
    for start in range(0, len(data), _CHUNK):
        chunk = np.frombuffer(
            data, dtype=np.uint8, count=min(_CHUNK, len(data) - start), offset=start
        )
        low = chunk[chunk < 0x20]
        if low.size and not np.isin(low, _TEXT_CONTROLS).all():
            return True
        if (chunk == 0x7F).any():
            return True
    return False


def read_header(path: Path, sample_bytes: int = 65_536) -> list[str]:
    """The column names of an export file, reading only its start (text, Parquet).

    Used to tell which CRM an export comes from without reading it whole.
    """
    import csv
    import io

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        _check_readable(path)
        return [clean_header(n) for n in pq.read_schema(path).names]
    if suffix not in TEXT_SUFFIXES:
        return list(read_table_file(path).columns)
    with _file_errors(path), path.open("rb") as fh:
        data = fh.read(sample_bytes)
    text = data.decode(detect_encoding(data), errors="replace").lstrip("\ufeff")
    first = next(csv.reader(io.StringIO(text), delimiter=detect_delimiter(text)), [])
    return [clean_header(h) for h in first]


@contextmanager
def _file_errors(path: Path) -> Iterator[None]:
    """Turn the OS errors of opening or reading ``path`` into an InputError."""
    try:
        yield
    except FileNotFoundError:
        raise InputError("the file does not exist.", file=path) from None
    except IsADirectoryError:
        raise InputError("this is a folder, not a file.", file=path) from None
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc}).", file=path) from None


def _read_bytes(path: Path) -> bytes:
    with _file_errors(path):
        return path.read_bytes()


def _check_readable(path: Path) -> None:
    with _file_errors(path), path.open("rb") as fh:
        first = fh.read(1)
    if not first:
        raise InputError(EMPTY_MESSAGE, file=path)


def _read_xlsx(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The first sheet's rows under its header, and its formula cells without a result."""
    try:
        sheet_rows = _xlsx_rows(path, data_only=True)
        uncalculated = _uncalculated_cells(path, sheet_rows) if _has_formulas(path) else []
    except Exception as exc:  # openpyxl raises many types for a corrupt workbook
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise InputError(
            f"the file is not a readable Excel workbook ({reason}).", file=path
        ) from None
    rows = [r for r in sheet_rows if any(_present(v) for v in r)]
    if not rows:
        raise InputError(EMPTY_MESSAGE, file=path)
    header, body = rows[0], rows[1:]
    width = len(header)
    body = [tuple(r) + (None,) * (width - len(r)) for r in body]
    if any(len(r) > width and any(_present(v) for v in r[width:]) for r in body):
        raise InputError("a row has values to the right of the last header cell.", file=path)
    frame = pd.DataFrame([r[:width] for r in body], columns=range(width))
    if frame.empty:
        frame = frame.astype("str")
    frame.columns = [clean_header(h) for h in header]
    return _check_columns(frame, path), uncalculated


def _xlsx_rows(path: Path, *, data_only: bool) -> list[tuple]:
    """Every row of the first sheet (values, or formulas where ``data_only`` is False)."""
    import openpyxl  # imported here: only XLSX sources pay for it

    book = openpyxl.load_workbook(path, read_only=True, data_only=data_only)
    try:
        return list(book.worksheets[0].iter_rows(values_only=True))
    finally:
        book.close()


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[\s>/]")


def _has_formulas(path: Path) -> bool:
    """Whether any worksheet of the workbook holds a formula (a ``<f>`` element).

    Scanned in the zip, 1 MiB at a time, so a workbook of plain values (what
    CRMs export) is read once.
    """
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if not name.startswith("xl/worksheets/"):
                continue
            with book.open(name) as part:
                tail = b""
                while chunk := part.read(1 << 20):
                    if _FORMULA_TAG.search(tail + chunk):
                        return True
                    tail = chunk[-8:]
    return False


def _uncalculated_cells(path: Path, values: list[tuple]) -> list[str]:
    """Cells of the first sheet holding a formula with no stored result, as ``D7``.

    Excel stores each formula's last result beside it; a workbook written by a
    program that does not calculate (a script, some exporters) stores none,
    and the cell reads as blank.
    """
    from openpyxl.utils import get_column_letter

    cells = []
    formulas = _xlsx_rows(path, data_only=False)
    for i, (row, shown) in enumerate(zip(formulas, values, strict=False), start=1):
        for j, value in enumerate(row):
            if _is_formula(value) and (j >= len(shown) or shown[j] is None):
                cells.append(f"{get_column_letter(j + 1)}{i}")
    return cells


def _is_formula(value: object) -> bool:
    if isinstance(value, str):
        return value.startswith("=")
    return type(value).__name__ in ("ArrayFormula", "DataTableFormula")


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
        frame = table.to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputError(f"the file is not a readable Parquet file ({exc}).", file=path) from None
    for i, field in enumerate(table.schema):
        if pa.types.is_binary(field.type) or pa.types.is_large_binary(field.type):
            frame.isetitem(i, frame.iloc[:, i].map(_decoded, na_action="ignore"))
    if not isinstance(frame.index, pd.RangeIndex) or any(frame.index.names):
        frame = frame.reset_index(drop=not any(frame.index.names))
    frame.columns = [clean_header(h) for h in frame.columns]
    return _check_columns(frame, path)


def _decoded(value: bytes) -> str | bytes:
    """Text stored as Parquet bytes (a writer that left out the string type), as text.

    A value that is not UTF-8 stays ``bytes``; parsing makes it a bad value of
    its row, so one undecodable cell costs one row, not the file.
    """
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value


# --- tidying ------------------------------------------------------------------------


def _present(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def clean_header(name: object) -> str:
    """A column name as ingest matches it: text without byte-order marks and surrounding spaces.

    ``None`` (an empty spreadsheet header cell) gives ``""``.
    """
    if name is None:
        return ""
    return str(name).replace("\ufeff", "").strip()


def _check_columns(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Drop unnamed empty columns, then reject empty headers and repeated names."""
    keep = [i for i, name in enumerate(frame.columns) if name or frame.iloc[:, i].notna().any()]
    frame = frame.iloc[:, keep]
    if not len(frame.columns):
        raise InputError(EMPTY_MESSAGE, file=path)
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
