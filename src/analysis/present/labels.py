"""Human column labels for the pages: ``horizon_days`` reads "Horizon (days)".

Result tables keep their machine names (the CSV exports, ``to_frame()`` and
code use them); only what a page shows is relabelled, by
:func:`analysis.present.styled_table`. A name not in :data:`LABELS` is built by
rule: suffixes such as ``_ci_low``, ``_current`` or ``_days`` become words,
known acronyms stay capitals, and the first letter is raised.
"""

from __future__ import annotations

from analysis.core import columns as c

LABELS: dict[str, str] = {
    c.OWNER_ID: "Rep",
    c.REP_ID: "Rep",
    c.DEAL_ID: "Deal",
    c.EXPERIMENT_ID: "Experiment",
    "n": "Count",
    "n_deals": "Deals",
    c.P_VALUE: "p-value",
    c.P_ADJUSTED: "Adjusted p-value",
    "z": "z",
    "t_welch": "Welch t",
    "p_welch": "p-value (Welch)",
    "p_mann_whitney": "p-value (Mann–Whitney)",
    c.DIFFERENCE: "Difference",
    "rank": "Rank",
    "next_stage": "Next stage",
    "is_control": "Control",
    "srm_flagged": "Sample ratio mismatch",
    "srm_p_value": "Sample ratio p-value",
    "diff": "Difference",
    "shrunk": "Shrunk win rate",
    "n_clusters": "Clusters",
    "max_power_same_clusters": "Most power from the same clusters",
    "revenue_per_rep_month": "Revenue per rep-month",
    "mape": "Mean absolute error",
    "bias": "Bias (mean error)",
    "method": "Method",
    "target": "Scored against",
    "from_mql": "Share of MQLs getting here",
    "account_months": "Account-months",
    "first_year_value_to_cac": "First-year value / CAC",
    "first_year_value": "First-year value",
}

_ACRONYMS = {"cac": "CAC", "icc": "ICC", "srm": "SRM", "km": "KM", "b2b": "B2B", "b2c": "B2C",
             "nrr": "NRR", "grr": "GRR", "or": "Odds ratio"}  # fmt: skip
_SUFFIXES = (
    ("_ci_low", " (interval low)"),
    ("_ci_high", " (interval high)"),
    ("_current", ", current"),
    ("_baseline", ", baseline"),
    ("_days", " (days)"),
    ("_months", " (months)"),
)
_ALONE = {"ci_low": "Interval low", "ci_high": "Interval high"}


def column_label(name: object) -> str:
    """The label a page shows for a result column (see the module notes)."""
    text = str(name)
    if text in LABELS:
        return LABELS[text]
    if text in _ALONE:
        return _ALONE[text]
    for suffix, words in _SUFFIXES:
        if text.endswith(suffix) and len(text) > len(suffix):
            return column_label(text[: -len(suffix)]) + words
    if text.startswith("converted_by_") and text[len("converted_by_") :].isdigit():
        return f"Converted by day {text[len('converted_by_') :]}"
    words = [_ACRONYMS.get(w, w) for w in text.split("_") if w]
    if not words:
        return text
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]])
