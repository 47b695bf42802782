"""How results are shown: numbers in words, safe styled tables, redaction, chart style, outputs.

Shared by every question's findings and charts and by the notebooks::

    from analysis import present
    present.styled_table(frame)              # percentages, escaped and redacted text
    present.as_markdown_list(findings)
    present.write_outputs(output_dir, tables, summary)
    page = present.Page()                    # sections skipped, with the reason, when data lacks inputs
"""

from __future__ import annotations

from analysis.present.formatting import (
    as_markdown_list,
    format_count,
    format_days,
    format_money,
    format_p_value,
    format_percent,
    format_points,
    format_rate,
    is_missing,
)
from analysis.present.outputs import read_summary, write_outputs
from analysis.present.page import Page, frame_of
from analysis.present.plot_style import (
    PALETTE,
    error_bars,
    new_figure,
    nothing_to_plot,
    points_with_intervals,
)
from analysis.present.redaction import escape_html, escape_markdown, redact, redact_expr
from analysis.present.tables import RATE_COLUMNS, styled_table

__all__ = [
    "PALETTE",
    "Page",
    "RATE_COLUMNS",
    "as_markdown_list",
    "error_bars",
    "escape_html",
    "escape_markdown",
    "format_count",
    "format_days",
    "format_money",
    "format_p_value",
    "format_percent",
    "format_points",
    "format_rate",
    "frame_of",
    "is_missing",
    "new_figure",
    "nothing_to_plot",
    "points_with_intervals",
    "read_summary",
    "redact",
    "redact_expr",
    "styled_table",
    "write_outputs",
]
