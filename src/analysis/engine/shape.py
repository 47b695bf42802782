"""What an analysis reads: the tables and columns it needs and those it uses when present.

Real exports rarely have every table and column of the data model. Each
analysis declares its :class:`Shape` once, beside its code; the analysis
checks it on entry (:meth:`Shape.check`), the report pages turn a failed
check into one sentence saying what is missing and how to supply it, and
``docs/data-needs.md`` is generated from the same declarations
(``python -m analysis.engine.shape``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from analysis.core.errors import MissingInput
from analysis.engine.workspace import Workspace


def _frozen(spec: Mapping[str, Iterable[str]]) -> Mapping[str, tuple[str, ...]]:
    return MappingProxyType({table: tuple(cols) for table, cols in spec.items()})


@dataclass(frozen=True)
class Shape:
    """The data one analysis reads.

    Attributes
    ----------
    analysis : str
        What the analysis is called on the page ("Time in stage").
    needs : mapping of table to column names
        Tables that must exist, each with these columns holding at least one value.
    uses : mapping of table to column names
        Read when present; the analysis runs without them and says what it left out.
    supply : str
        How a user supplies what ``needs`` names when it is missing.
    empty_is_missing : bool
        Whether a needed column without any value counts as missing (default).
        False for labels that only some rows carry (a loss reason exists only
        for lost deals): the analysis reports their absence in its own rows.
    """

    analysis: str
    needs: Mapping[str, tuple[str, ...]]
    uses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    supply: str = ""
    empty_is_missing: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "needs", _frozen(self.needs))
        object.__setattr__(self, "uses", _frozen(self.uses))

    def missing(self, ws: Workspace) -> tuple[str, ...]:
        """What of ``needs`` the workspace lacks, in words ("the stage_events table").

        A column that exists but holds no value at all counts as missing: an
        export that has the header and nothing under it supplies nothing.
        """
        lacking: list[str] = []
        for table, cols in self.needs.items():
            if not ws.has(table):
                lacking.append(f"the {table} table")
                continue
            if self.empty_is_missing:
                lacking += [f"{table}.{col}" for col in empty_columns(ws, table, cols)]
            else:
                have = ws.tables[table].columns
                lacking += [f"{table}.{col}" for col in cols if col not in have]
        return tuple(lacking)

    def check(self, ws: Workspace) -> None:
        """Raise :class:`MissingInput` naming what is missing and how to supply it."""
        lacking = self.missing(ws)
        if lacking:
            raise MissingInput(self.analysis, _listed(lacking), self.supply)


def empty_columns(ws: Workspace, table: str, cols: Iterable[str]) -> list[str]:
    """Columns of ``cols`` that the table lacks, or that hold no value in any of its rows.

    A table without rows lacks nothing: there is no row to miss a value, and
    the analyses report an empty input in their own words.
    """
    t = ws.tables[table]
    cols = list(cols)
    absent = [col for col in cols if col not in t.columns]
    present = [col for col in cols if col in t.columns]
    if not present:
        return absent
    counts = ws.execute(
        t.aggregate([t.count().name("_rows"), *[t[col].count().name(col) for col in present]])
    )
    if int(counts["_rows"].iloc[0]) == 0:
        return absent
    blank = {col for col in present if int(counts[col].iloc[0]) == 0}
    return [col for col in cols if col in absent or col in blank]  # in the order asked


def _listed(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


DOC_INTRO = """# What each analysis needs from your export

Generated from the declarations in `src/analysis/engine/needs.py` by
`python -m analysis.engine.shape > docs/data-needs.md`; do not edit by hand.

Every report page runs on whatever your export has. A section whose inputs
are missing is replaced by one sentence saying what is missing and how to
supply it, and the page's `summary.json` lists it under `not_computed`. A
needed column counts as missing when the export has it but leaves every row
blank (except loss reasons and competitors, which only some deals carry).
Blank segments, sources, regions and products are shown as a group called
`unknown`; lost deals without a loss reason are left out of the reason shares. Amounts in several currencies without
exchange rates are set aside: counts and rates stand, money figures are not
computed.

"""


def data_needs_markdown(shapes: Iterable[Shape]) -> str:
    """A Markdown table of every analysis's needs, for ``docs/data-needs.md``."""

    def cells(spec: Mapping[str, tuple[str, ...]]) -> str:
        parts = [f"`{t}`" + (f" ({', '.join(cols)})" if cols else "") for t, cols in spec.items()]
        return "; ".join(parts) or "–"

    lines = [
        DOC_INTRO.rstrip("\n"),
        "",
        "| analysis | needs | uses when present | how to supply what is missing |",
        "|---|---|---|---|",
    ]
    for shape in shapes:
        lines.append(
            f"| {shape.analysis} | {cells(shape.needs)} | {cells(shape.uses)} | {shape.supply} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    from analysis.engine.needs import ALL

    print(data_needs_markdown(ALL), end="")
