"""Errors a user can act on.

``InputError`` is raised for unusable input (a broken export, a bad config or
column map). It carries the file, column and row it concerns, and the CLI turns
it into a one-paragraph message and exit code 2 instead of a traceback.
"""

from __future__ import annotations

from pathlib import Path


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


class ConfigError(InputError):
    """A configuration file (stages, column map, reports) is invalid."""
