"""Findings in words, generated from results.

Notebooks never type numbers into prose: they call these functions, so the
text a leader reads always matches the tables beside it.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.core import columns as c
from analysis.overview.summary import COUNT, TABLE


def format_percent(value: float, digits: int = 1) -> str:
    """``0.6315 -> '63.2%'``; NaN becomes ``'n/a'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"{100 * value:.{digits}f}%"


def format_rate(rate: float, ci_low: float, ci_high: float, digits: int = 1) -> str:
    """A rate with its interval: ``'63.2% [62.0–64.3]'``."""
    if rate is None or (isinstance(rate, float) and math.isnan(rate)):
        return "n/a (no closed deals)"
    lo = f"{100 * ci_low:.{digits}f}"
    hi = f"{100 * ci_high:.{digits}f}"
    return f"{format_percent(rate, digits)} [{lo}–{hi}]"


def format_count(value: float) -> str:
    """Thousands separators: ``8800 -> '8,800'``."""
    return f"{int(value):,}"


def format_money(value: float, currency: str = "$") -> str:
    """Compact money: ``10005534 -> '$10.0M'``, ``2360.9 -> '$2,361'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1e6:
        return f"{currency}{value / 1e6:.1f}M"
    if abs(value) >= 1e4:
        return f"{currency}{value / 1e3:.0f}k"
    return f"{currency}{value:,.0f}"


def data_quality_sentence(quarantine: pd.DataFrame) -> str:
    """One sentence on rows kept and set aside, from :func:`overview.quarantine_summary`."""
    if quarantine.empty:
        return "No ingest manifest was found, so data quality could not be summarised."
    per_table = quarantine.drop_duplicates(TABLE)
    rows_in = int(per_table[c.ROWS_IN].sum())
    held = int(per_table[c.ROWS_QUARANTINED].sum())
    if held == 0:
        return f"All {format_count(rows_in)} input rows passed validation; none were quarantined."
    held_rows = quarantine[quarantine[COUNT] > 0]
    reasons = held_rows.groupby(c.REASON)[COUNT].sum().sort_values(ascending=False)
    top = ", ".join(
        f"{r.replace('_', ' ')} ({format_count(n)})" for r, n in reasons.head(3).items()
    )
    return (
        f"{format_count(held)} of {format_count(rows_in)} input rows "
        f"({format_percent(held / rows_in, 2)}) were quarantined rather than analysed; "
        f"the main reasons: {top}. Every row is accounted for in the ingest manifest."
    )


def outcome_sentences(
    outcomes: pd.DataFrame, group: str = c.SEGMENT, window: str = "in the data"
) -> list[str]:
    """A sentence per group on volume, share open and win rate with its interval.

    Parameters
    ----------
    outcomes : pandas.DataFrame
        :func:`analysis.overview.summary.outcome_summary` frame.
    group : str
        The grouping column of ``outcomes``.
    window : str
        How the deals were selected, e.g. ``"created from 2025-01-01"``.
    """
    sentences = []
    for _, row in outcomes.iterrows():
        label = f"{row[group]} deals" if group in outcomes else "Deals"
        rate = format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH])
        sentences.append(
            f"{label}: {format_count(row[c.N_DEALS])} {window}, "
            f"{format_percent(row[c.OPEN_SHARE])} still open; "
            f"win rate of closed deals {rate} (95% interval)."
        )
    return sentences


def as_markdown_list(sentences: list[str]) -> str:
    """Join sentences as a markdown bullet list, for ``IPython.display.Markdown``."""
    return "\n".join(f"- {s}" for s in sentences)


def overview_findings(
    outcomes: pd.DataFrame,
    overall: pd.DataFrame,
    quarantine: pd.DataFrame,
    manifest: dict | None,
    period_start: str | None = None,
    period_end: str | None = None,
) -> list[str]:
    """The data-overview findings: scope, data quality, outcomes by segment.

    Parameters
    ----------
    outcomes, overall : pandas.DataFrame
        :func:`analysis.overview.summary.outcome_summary` frames by segment and overall.
    quarantine : pandas.DataFrame
        :func:`analysis.overview.summary.quarantine_summary` of the manifest.
    manifest : dict or None
        The ingest manifest (for notes such as derived stage history).
    period_start, period_end : str, optional
        The creation-date window the figures cover.
    """
    window = (
        f"created from {period_start or 'the first record'} to before {period_end}"
        if period_end
        else f"created from {period_start}"
        if period_start
        else "in the data"
    )
    sentences = []
    if not overall.empty:
        row = overall.iloc[0]
        sentences.append(
            f"{format_count(row[c.N_DEALS])} deals {window}: {format_count(row[c.N_WON])} won, "
            f"{format_count(row[c.N_LOST])} lost, {format_count(row[c.N_OPEN])} still open; "
            f"won revenue {format_money(row[c.WON_AMOUNT])}. "
            f"Win rate of closed deals {format_rate(row[c.WIN_RATE], row[c.CI_LOW], row[c.CI_HIGH])}; "
            f"open deals are not counted as losses."
        )
    sentences.extend(outcome_sentences(outcomes, window=window))
    sentences.append(data_quality_sentence(quarantine))
    derived = (manifest or {}).get("derived", {}).get(c.STAGE_EVENTS)
    if derived:
        sentences.append(
            "This source records only each deal's current stage: the stage history was derived "
            "(earlier stages implied), so stage timings are approximate."
        )
    return sentences


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


def _stage_step(stage: str, stages: tuple[str, ...]) -> str:
    i = stages.index(stage) if stage in stages else -1
    nxt = stages[i + 1] if 0 <= i < len(stages) - 1 else "won"
    return f"{stage} → {nxt}"


def funnel_findings(
    conversion: pd.DataFrame,
    time_to_close: pd.DataFrame,
    horizons: pd.DataFrame,
    velocity: pd.DataFrame,
    velocity_change: pd.DataFrame,
    stages: tuple[str, ...],
    window: str,
    group: str = c.SEGMENT,
) -> list[str]:
    """Findings of the pipeline notebook, one or two sentences per group.

    Parameters
    ----------
    conversion : pandas.DataFrame
        :func:`analysis.pipeline.funnel.stage_conversion` frame for the whole data.
    time_to_close, horizons : pandas.DataFrame
        :func:`analysis.pipeline.cycle.time_to_close` table and horizons.
    velocity, velocity_change : pandas.DataFrame
        :func:`analysis.pipeline.velocity.sales_velocity` of the current window and
        :func:`analysis.pipeline.velocity.decompose_velocity_change` against the baseline.
    stages : tuple of str
        Open stages in pipeline order.
    window : str
        Label of the current window, e.g. ``"2026-04-01 to 2026-06-30"``.
    group : str
        The grouping column shared by the frames.
    """
    from analysis.pipeline import cycle
    from analysis.pipeline import velocity as v

    sentences = []
    for name in dict.fromkeys(conversion[group]):
        conv = conversion[(conversion[group] == name) & conversion[c.CONVERSION].notna()]
        if not conv.empty:
            weakest = conv.loc[conv[c.CONVERSION].idxmin()]
            first = conv.iloc[0]
            sentences.append(
                f"{name}: the weakest step is {_stage_step(weakest[c.STAGE], stages)}, where "
                f"{format_rate(weakest[c.CONVERSION], weakest[c.CI_LOW], weakest[c.CI_HIGH])} "
                f"of decided deals move on; of deals entering {first[c.STAGE]}, "
                f"{format_rate(first[c.CUMULATIVE_CONVERSION], first[c.CUMULATIVE_CI_LOW], first[c.CUMULATIVE_CI_HIGH])} "
                "are eventually won."
            )
        close = time_to_close[time_to_close[group] == name]
        year = horizons[(horizons[group] == name) & (horizons[cycle.HORIZON_DAYS] == 365)]
        if not close.empty and not year.empty:
            row, p = close.iloc[0], year.iloc[0]
            sentences.append(
                f"{name} deals that are won take {row[cycle.WON_ONLY_MEDIAN_DAYS]:.0f} days "
                f"(median; the won-only mean CRMs report is {row[cycle.WON_ONLY_MEAN_DAYS]:.0f}). "
                f"Counting open deals as still running, half of all {name} deals close, won or "
                f"lost, within {row[cycle.KM_MEDIAN_DAYS]:.1f} days "
                f"[{row[cycle.KM_MEDIAN_CI_LOW]:.1f}–{row[cycle.KM_MEDIAN_CI_HIGH]:.1f}], and "
                f"{format_rate(p[cycle.P_WON], p[cycle.P_WON_CI_LOW], p[cycle.P_WON_CI_HIGH])} "
                "are won within a year."
            )
        vel = velocity[velocity[group] == name]
        change = velocity_change[velocity_change[group] == name]
        if not vel.empty and pd.notna(vel.iloc[0][v.VELOCITY]):
            row = vel.iloc[0]
            text = (
                f"{name} sales velocity {window}: {format_money(row[v.VELOCITY])} per day "
                f"[{format_money(row[c.CI_LOW])}–{format_money(row[c.CI_HIGH])}]"
            )
            if not change.empty and pd.notna(change.iloc[0]["change"]):
                parts = change.iloc[0][[f"from_{lever}" for lever in v.LEVERS]]
                lever = parts.abs().idxmax().removeprefix("from_").replace("_", " ")
                delta = change.iloc[0]["change"]
                sign = "+" if delta >= 0 else "−"
                text += (
                    f", {sign}{format_money(abs(delta))} per day against the baseline, "
                    f"mostly through {lever}"
                )
            sentences.append(text + ".")
    return sentences


def bottleneck_sentences(ranking: pd.DataFrame, window: str, group: str = c.SEGMENT) -> list[str]:
    """One sentence per group on its top-ranked stage transition.

    Parameters
    ----------
    ranking : pandas.DataFrame
        :func:`analysis.pipeline.bottlenecks.find.bottlenecks` frame (``to_frame()``).
    window : str
        Label of the current window.
    group : str
        The grouping column.
    """
    from analysis.pipeline.bottlenecks import find as b

    sentences = []
    for name in dict.fromkeys(ranking[group]):
        rows = ranking[(ranking[group] == name) & ranking[b.SIGNIFICANT_DROP].fillna(False)]
        if rows.empty:
            sentences.append(
                f"{name}: no stage transition converted significantly worse in {window} than in "
                "the baseline (after adjusting for testing every stage)."
            )
            continue
        top = rows.sort_values(b.RANK).iloc[0]
        caveat = " (still maturing: many deals undecided)" if "immature" in str(top[c.NOTE]) else ""
        horizon = top.get(b.HORIZON_DAYS, float("nan"))
        clock = (
            f" (decisions within {horizon:.0f} days of entering {top[c.STAGE]}, "
            "the same clock for both)"
            if pd.notna(horizon)
            else ""
        )
        current, baseline = top[f"{c.CONVERSION}_current"], top[f"{c.CONVERSION}_baseline"]
        sentences.append(
            f"{name} bottleneck: {top[c.STAGE]} → {top[b.NEXT_STAGE]} converted "
            f"{format_percent(current)} in {window} against "
            f"{format_percent(baseline)} before{clock}, a change of "
            f"{100 * top[b.DIFFERENCE]:+.0f} points [{100 * top[b.DIFF_CI_LOW]:+.0f} to "
            f"{100 * top[b.DIFF_CI_HIGH]:+.0f}], adjusted p = {top[b.P_ADJUSTED]:.3f}{caveat}. "
            f"Back at the baseline rate it would add about {format_money(top[b.REVENUE_IMPACT])} "
            "of won revenue per period like this one."
        )
    return sentences
