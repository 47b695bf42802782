"""Result tables for display: human column labels, rates as percentages, small figures to
three significant digits, free text redacted and escaped."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.present.formatting import money_symbol
from analysis.present.labels import column_label
from analysis.present.redaction import redact

RATE_COLUMNS = (c.OPEN_SHARE, c.WIN_RATE, c.CI_LOW, c.CI_HIGH)
# Money: whole currency units with thousands separators (cents are noise on a page).
MONEY_COLUMNS = frozenset(
    {
        "amount", "amount_ci_low", "amount_ci_high", "amount_original", "amount_total",
        "won_amount", "lost_amount", "open_amount", "avg_won_amount", "open_pipeline",
        "pipeline_gap", "revenue_target", "revenue_impact", "benchmark_revenue_impact",
        "revenue_at_stake_per_quarter", "revenue_per_deal_created", "revenue_per_rep_month",
        "avg_won_deal", "revenue_per_rep", "revenue_per_lead",
        "cac", "cac_ci_low", "cac_ci_high", "paid_cac", "spend", "paid_spend",
        "sales_cost", "marketing_cost",
    }
)  # fmt: skip


def styled_table(
    frame: pd.DataFrame, percent: tuple[str, ...] = RATE_COLUMNS, money: tuple[str, ...] = ()
):
    """A pandas Styler with readable number formats and no index, safe for reports.

    Parameters
    ----------
    frame : pandas.DataFrame
        A result table.
    percent : tuple of str
        Columns shown as percentages (default: the shared rate and interval
        columns). Integers and money (:data:`MONEY_COLUMNS`) get thousands
        separators and no decimals, other numbers one decimal
        (three significant digits in columns below 1 in size, such as
        p-values), timestamps their date. Money headers carry the page's
        currency (:func:`analysis.present.formatting.set_money_symbol`).
    money : tuple of str
        Further money columns, beyond :data:`MONEY_COLUMNS` (a result whose
        columns are named ``mean`` or ``p10`` says which hold money).

    Returns
    -------
    pandas.io.formats.style.Styler

    Notes
    -----
    Text cells come from CRM exports (comments, phrases, names): contacts are
    redacted (:func:`analysis.present.redaction.redact`) and the Styler escapes
    HTML, so ``<img onerror=...>`` renders as text.
    """
    text_cols = [
        col
        for col in frame.columns
        if pd.api.types.is_string_dtype(frame[col]) or frame[col].dtype == object
    ]
    frame = frame.copy()
    for col in text_cols:
        frame[col] = frame[col].map(redact)
    formats = {col: "{:.1%}" for col in percent if col in frame}
    money_columns = MONEY_COLUMNS | set(money)
    for col in frame.columns:
        if col in formats or pd.api.types.is_bool_dtype(frame[col]):
            continue
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            formats[col] = lambda ts: "–" if pd.isna(ts) else f"{ts:%Y-%m-%d}"
        elif pd.api.types.is_integer_dtype(frame[col]) or (
            col in money_columns and pd.api.types.is_float_dtype(frame[col])
        ):
            formats[col] = "{:,.0f}"
        elif pd.api.types.is_float_dtype(frame[col]):
            # p-values, ICCs, odds ratios near 0: one decimal would show 0.0.
            small = frame[col].abs().max() < 1
            formats[col] = "{:.3g}" if small else "{:,.1f}"
    styler = frame.style.format(formats, na_rep="–", escape="html").hide(axis="index")
    # Human headers on the page; the data (and every export) keeps the machine names.
    # Money headers name the page's currency, so "Won amount ($)" cannot be misread.
    unit = money_symbol().strip()

    def header(name: object) -> str:
        label = column_label(name)
        return f"{label} ({unit})" if unit and name in money_columns else label

    styler = styler.format_index(header, axis="columns", escape="html")
    if text_cols:
        styler = styler.format(subset=text_cols, escape="html", na_rep="–")
    return styler
