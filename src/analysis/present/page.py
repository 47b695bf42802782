"""A report page that says what it could not compute instead of failing.

Notebooks compute each result through :meth:`Page.compute`. When the data
lacks what an analysis needs (its :class:`analysis.engine.shape.Shape` check
fails, or it finds no rows to work on), the analysis raises
:class:`analysis.core.errors.MissingInput`; the page keeps the sentence, the
result is None, and the section that would show it prints the sentence in its
place (:meth:`Page.shows`), naming the analysis after the function computed. Any other error still fails the run: a bug is
never turned into a note.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import IPython.display
import pandas as pd

from analysis.core.errors import MissingInput
from analysis.engine.journey import data_cutoff
from analysis.engine.workspace import Workspace
from analysis.present.formatting import set_money_symbol
from analysis.present.redaction import escape_markdown

T = TypeVar("T")


class Page:
    """The sections of one report page and the reasons any were skipped.

    Examples
    --------
    >>> page = Page()
    >>> stage_time = page.compute(pipeline.time_in_stage, ws)  # doctest: +SKIP
    >>> if page.shows(pipeline.time_in_stage):                  # doctest: +SKIP
    ...     pipeline.time_in_stage_chart(stage_time.to_frame())
    """

    def __init__(self, ws: Workspace | None = None) -> None:
        self.skipped: dict[str, str] = {}
        self.data_notes: list[str] = []
        self.header = ""
        if ws is not None:
            # Money on this page is printed in the data's own currency.
            set_money_symbol(ws.money.symbol)
            self.data_notes += [ws.money.note] if ws.money.note else []
            if ws.unrecorded_stages:
                self.data_notes.append(
                    f"The data never records the stages {', '.join(ws.unrecorded_stages)}, so "
                    "they are left out of the funnel rather than shown as passed by every deal."
                )
            self.header = data_line(ws)

    def compute(
        self, analysis: Callable[..., T], *args, section: str | None = None, **kwargs
    ) -> T | None:
        """``analysis(*args, **kwargs)``, or None when the data lacks what it needs.

        The skipped section is named ``section`` (default: after the function,
        see :func:`section_title`); name it when one function fills two sections.
        A positional argument that is None (a result this page skipped) skips
        ``analysis`` too: what rests on a missing result is missing.
        """
        title = section or section_title(analysis)
        if any(arg is None for arg in args):
            self.skipped.setdefault(
                title, f"{title} is not computed: it rests on a result this page could not compute."
            )
            return None
        try:
            return analysis(*args, **kwargs)
        except MissingInput as missing:
            sentence = MissingInput(title, missing.lacking, missing.supply).sentence
            self.skipped.setdefault(title, sentence)
            return None

    def table(
        self, analysis: Callable, *args, section: str | None = None, **kwargs
    ) -> pd.DataFrame | None:
        """:meth:`compute`, then the result's ``to_frame()``; None when skipped."""
        result = self.compute(analysis, *args, section=section, **kwargs)
        return None if result is None else result.to_frame()

    def shows(self, analysis: Callable | str) -> bool:
        """Whether ``analysis`` (the function computed) has a result; if not, print why."""
        title = analysis if isinstance(analysis, str) else section_title(analysis)
        if title not in self.skipped:
            return True
        note = IPython.display.Markdown(f"*{escape_markdown(self.skipped[title])}*")
        IPython.display.display(note)
        return False

    def notes(self) -> list[str]:
        """What the page could not compute and why, for its findings and summary.json."""
        return self.data_notes + list(self.skipped.values())


def data_line(ws: Workspace) -> str:
    """What a page rests on: deals, the data's cut-off and its currency, in one sentence.

    The cut-off is the latest time in the data (open deals count as open up to
    it); every page states it so a reader knows how fresh the figures are.
    """
    n_deals = int(ws.execute(ws.deals.count()))
    cutoff = data_cutoff(ws)
    when = "no dates" if pd.isna(cutoff) else f"data up to {cutoff:%Y-%m-%d} (cut-off)"
    money = f"; amounts in {ws.money.currency}" if ws.money.currency else ""
    line = f"{n_deals:,} deals, {when}{money}."
    if ws.other_pipelines:
        line += (
            f" Pipeline {ws.stages.default!r} only (the data also has "
            f"{', '.join(map(repr, ws.other_pipelines))}; each has its own report)."
        )
    return line


def section_title(analysis: Callable) -> str:
    """``time_in_stage`` -> ``'Time in stage'``: how a skipped section is named on the page."""
    return analysis.__name__.replace("_", " ").strip().capitalize()


def frame_of(result: object) -> pd.DataFrame | None:
    """``result.to_frame()``, or None for a result the page skipped."""
    return None if result is None else result.to_frame()


def no_sentence_for_skipped(sentences: Callable[..., list[str]]) -> Callable[..., list[str]]:
    """Decorate a findings function: a skipped result (None first argument) gives no
    sentence, since the page already says why it is missing."""

    @functools.wraps(sentences)
    def wrapper(result, *args, **kwargs):
        return [] if result is None else sentences(result, *args, **kwargs)

    return wrapper
