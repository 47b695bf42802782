"""Errors a user can act on.

``InputError`` is raised for unusable input (a broken export, a bad config or
column map). It carries the file, column and row it concerns, and the CLI turns
it into a one-paragraph message and exit code 2 instead of a traceback.
"""

from __future__ import annotations

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
