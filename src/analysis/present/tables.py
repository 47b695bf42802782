"""Result tables for display: rates as percentages, small figures to three significant digits."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c

RATE_COLUMNS = (c.OPEN_SHARE, c.WIN_RATE, c.CI_LOW, c.CI_HIGH)


def styled_table(frame: pd.DataFrame, percent: tuple[str, ...] = RATE_COLUMNS):
    """A pandas Styler with readable number formats and no index, for reports.

    Parameters
    ----------
    frame : pandas.DataFrame
        A result table.
    percent : tuple of str
        Columns shown as percentages (default: the shared rate and interval
        columns). Integers get thousands separators, other numbers one decimal
        (three significant digits in columns below 1 in size, such as
        p-values), timestamps their date.

    Returns
    -------
    pandas.io.formats.style.Styler
    """
    formats = {col: "{:.1%}" for col in percent if col in frame}
    for col in frame.columns:
        if col in formats or pd.api.types.is_bool_dtype(frame[col]):
            continue
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            formats[col] = lambda ts: "–" if pd.isna(ts) else f"{ts:%Y-%m-%d}"
        elif pd.api.types.is_integer_dtype(frame[col]):
            formats[col] = "{:,.0f}"
        elif pd.api.types.is_float_dtype(frame[col]):
            # p-values, ICCs, odds ratios near 0: one decimal would show 0.0.
            small = frame[col].abs().max() < 1
            formats[col] = "{:.3g}" if small else "{:,.1f}"
    # Text cells are HTML-escaped: labels come from CRM exports.
    return frame.style.format(formats, na_rep="–", escape="html").hide(axis="index")
