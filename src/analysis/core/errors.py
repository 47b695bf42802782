"""Errors a user can act on.

``InputError`` is raised for unusable input (a broken export, a bad config or
column map). It carries the file, column and row it concerns, and the CLI turns
it into a one-paragraph message and exit code 2 instead of a traceback.
``OutputError`` is raised when the machine, not the input, stops a run (a
full disk, a folder that cannot be written): exit code 1, with the path.
"""

from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike


class InputError(ValueError):
    """Unusable input, located by file, column and row where known.

    Parameters
    ----------
    message : str
        What is wrong and, where possible, what to do about it.
    file : str or Path, optional
        The input file concerned.
    column : str, optional
        The column (or configuration key) concerned.
    row : int, optional
        1-based data row in the file (the header is row 0).
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.message = message
        self.file = None if file is None else str(file)
        self.column = column
        self.row = row
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return the message with its location, as one paragraph."""
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        if self.row is not None:
            where.append(f"row {self.row}")
        prefix = f"In {', '.join(where)}: " if where else ""
        return prefix + self.message


def stop_at_first_row(flagged: ArrayLike, message: str, *, file: str | Path, column: str) -> None:
    """Raise :class:`InputError` at the first flagged row (1-based), if any.

    For inputs where one bad value makes the whole file unusable (an
    exchange rate, a stage order): the message names the row to fix.
    ``flagged`` is a boolean mask over the file's data rows (no missing values).
    """
    rows = np.flatnonzero(np.asarray(flagged, dtype=bool))
    if rows.size:
        raise InputError(message, file=file, column=column, row=int(rows[0]) + 1)


class ConfigError(InputError):
    """A configuration file (stages, column map, reports) is invalid."""


class MissingInput(InputError):
    """An analysis cannot run because the data lacks a table, a column or the rows it needs.

    Report pages catch it and print :attr:`sentence` in place of the section,
    so the run goes on; called directly, it is an ``InputError`` like any other.

    Parameters
    ----------
    analysis : str
        The analysis that cannot run ("Time in stage").
    lacking : str
        What is missing, in words ("the stage_events table", "any closed deal").
    supply : str
        How to supply it.
    """

    def __init__(self, analysis: str, lacking: str, supply: str = "") -> None:
        self.analysis = analysis
        self.lacking = lacking
        self.supply = supply
        super().__init__(self.sentence)

    @property
    def sentence(self) -> str:
        """One sentence for the page: what could not be computed, why, how to fix it."""
        text = f"{self.analysis} is not computed: the data lacks {self.lacking}."
        return f"{text} {self.supply}" if self.supply else text


class OutputError(RuntimeError):
    """Writing the results failed for a reason outside the input (disk full, permissions).

    Parameters
    ----------
    message : str
        What failed, what was left as it was, and what to do.
    path : str or Path
        The file or folder being written.
    """

    def __init__(self, message: str, *, path: str | Path) -> None:
        self.message = message
        self.path = str(path)
        super().__init__(self.describe())

    def describe(self) -> str:
        """Return the message with the path, as one paragraph."""
        return f"Writing {self.path}: {self.message}"


_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.EIO: "the disk reported an input/output error",
}


@contextlib.contextmanager
def writing(path: str | Path, left_as_it_was: str) -> Iterator[None]:
    """Turn an OS error while writing ``path`` into an :class:`OutputError`.

    ``left_as_it_was`` says what the failure did not touch (e.g. "the previous
    output is unchanged"), so the sentence tells the user what state they are in.
    """
    try:
        yield
    except OSError as exc:
        number = exc.errno if exc.errno is not None else _errno_in_text(str(exc))
        reason = _OS_REASONS.get(number, exc.strerror or str(exc))
        hint = " Free some space and run again." if number in (errno.ENOSPC, errno.EDQUOT) else ""
        raise OutputError(f"{reason}; {left_as_it_was}.{hint}", path=path) from None


def _errno_in_text(text: str) -> int | None:
    """pyarrow's write errors carry the number only in the text (``[errno 28] ...``)."""
    for number in _OS_REASONS:
        if f"errno {number}]" in text.lower():
            return number
    return None
