"""How is the sales process doing? The brief's five measures, against history and benchmarks.

The one analysis import of the executive summary's scorecard::

    from analysis import scorecard
    card = scorecard.process_scorecard(ws)
    card.to_frame()

:mod:`.decided` counts what was decided in each review period (in the
engine), :mod:`.samples` holds the statistics of each kind of measure,
:mod:`.card` assembles the scorecard and :mod:`.view` renders it for a page.
"""

from __future__ import annotations

from analysis.scorecard import columns
from analysis.scorecard.card import (
    DEFINITIONS,
    ProcessScorecard,
    process_scorecard,
    process_scorecards,
)
from analysis.scorecard.findings import (
    headline_figures,
    scorecard_sentences,
    scorecards_frame,
    scorecards_sentences,
)
from analysis.scorecard.view import period_label, scorecard_html, scorecards_html

__all__ = [
    "DEFINITIONS",
    "ProcessScorecard",
    "columns",
    "headline_figures",
    "period_label",
    "process_scorecard",
    "process_scorecards",
    "scorecard_html",
    "scorecard_sentences",
    "scorecards_frame",
    "scorecards_html",
    "scorecards_sentences",
]
