"""Findings sentences for the pipeline: stage conversion and bottlenecks."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import COUNT
from analysis.pipeline.cycle.close import TimeToClose
from analysis.present.formatting import (
    format_days,
    format_money,
    format_percent,
    format_rate,
    is_missing,
)


def _stage_step(stage: str, stages: tuple[str, ...]) -> str:
    i = stages.index(stage) if stage in stages else -1
    nxt = stages[i + 1] if 0 <= i < len(stages) - 1 else "won"
    return f"{stage} → {nxt}"


def _rows(frame: pd.DataFrame | None, group: str, name: object) -> pd.DataFrame:
    """The rows of ``name``; empty for a skipped result (None)."""
    if frame is None or group not in frame:
        return pd.DataFrame()
    return frame[frame[group] == name]


def funnel_findings(
    conversion: pd.DataFrame | None,
    close_time: TimeToClose | None,
    velocity: pd.DataFrame | None,
    velocity_change: pd.DataFrame | None,
    stages: tuple[str, ...],
    window: str,
    group: str = c.SEGMENT,
) -> list[str]:
    """Findings of the pipeline notebook, one or two sentences per group.

    Parameters
    ----------
    conversion : pandas.DataFrame or None
        :func:`analysis.pipeline.funnel.stage_conversion` frame for the whole data.
    close_time : TimeToClose or None
        :func:`analysis.pipeline.cycle.time_to_close` of the whole data.
    velocity, velocity_change : pandas.DataFrame or None
        :func:`analysis.pipeline.velocity.sales_velocity` of the current window and
        :func:`analysis.pipeline.velocity.decompose_velocity_change` against the baseline.
    stages : tuple of str
        Open stages in pipeline order.
    window : str
        Label of the current window, e.g. ``"2026-04-01 to 2026-06-30"``.
    group : str
        The grouping column shared by the frames.

    Notes
    -----
    A result the page skipped (None: the data lacked its inputs) gives no
    sentence here; the page says why where its section would be.
    """
    from analysis.pipeline import cycle
    from analysis.pipeline import velocity as v

    time_to_close = None if close_time is None else close_time.table
    horizons = None if close_time is None else close_time.horizons
    frames = (conversion, time_to_close, horizons, velocity)
    names = dict.fromkeys(n for f in frames if f is not None and group in f for n in f[group])
    sentences = []
    for name in names:
        conv = _rows(conversion, group, name)
        if not conv.empty:
            conv = conv[conv[c.CONVERSION].notna()]
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
        close = _rows(time_to_close, group, name)
        year = _rows(horizons, group, name)
        if not year.empty:
            year = year[year[cycle.HORIZON_DAYS] == 365]
        if not close.empty and not year.empty:
            row, p = close.iloc[0], year.iloc[0]
            text = ""
            if not is_missing(row[cycle.WON_ONLY_MEDIAN_DAYS]):
                text = (
                    f"{name} deals that are won take {row[cycle.WON_ONLY_MEDIAN_DAYS]:.0f} days "
                    f"(median; the won-only mean CRMs report is "
                    f"{row[cycle.WON_ONLY_MEAN_DAYS]:.0f}). "
                )
            if is_missing(row[cycle.KM_MEDIAN_DAYS]):
                text += (
                    f"Fewer than half of all {name} deals have closed, so the median time to "
                    f"close is not known yet; {format_rate(p[cycle.P_WON], p[cycle.P_WON_CI_LOW], p[cycle.P_WON_CI_HIGH])} "
                    "are won within a year."
                )
            else:
                text += (
                    f"Counting open deals as still running, half of all {name} deals close, won "
                    "or lost, within "
                    f"{format_days(row[cycle.KM_MEDIAN_DAYS], row[cycle.KM_MEDIAN_CI_LOW], row[cycle.KM_MEDIAN_CI_HIGH])}"
                    ", and "
                    f"{format_rate(p[cycle.P_WON], p[cycle.P_WON_CI_LOW], p[cycle.P_WON_CI_HIGH])} "
                    "are won within a year."
                )
            sentences.append(text)
        vel = _rows(velocity, group, name)
        change = _rows(velocity_change, group, name)
        if not vel.empty and vel.iloc[0][v.VELOCITY] == 0:
            # Zero is a finding only with its reason: nothing open, or nothing won.
            row = vel.iloc[0]
            why = []
            if row[v.OPEN_QUALIFIED] == 0:
                why.append("no qualified deal was open at its end")
            if row[c.N_WON] == 0:
                why.append("no deal was won in it")
            sentences.append(
                f"{name} sales velocity {window} is zero because {' and '.join(why) or 'a lever is zero'}."
            )
        elif not vel.empty and pd.notna(vel.iloc[0][v.VELOCITY]):
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
    return sentences + undated_close_sentences(close_time)


def undated_close_sentences(close_time: TimeToClose | None) -> list[str]:
    """What the times to close rest on when closed deals lack a close date.

    A CRM that dates only its wins makes every time to close, and the share
    won within a horizon, lean towards wins; the page must say so.
    """
    if close_time is None or not (close_time.n_won_undated + close_time.n_lost_undated):
        return []
    won, lost = close_time.n_won_undated, close_time.n_lost_undated
    kept = int(close_time.durations[COUNT].sum())
    backdated = close_time.n_backdated
    why = (
        f", {backdated:,} of them because the CRM shows them closed before they were created"
        if backdated
        else ""
    )
    text = (
        f"{won + lost:,} closed deals have no close date ({won:,} won, {lost:,} lost{why}) and "
        f"are left out of the times to close, which rest on the other {kept:,} deals"
    )
    if won == 0:
        text += "; as only lost deals lack dates, the share won is overstated"
    elif lost == 0:
        text += "; as only won deals lack dates, the share won is understated"
    return [text + "."]


def bottleneck_sentences(
    ranking: pd.DataFrame | None,
    window: str,
    group: str = c.SEGMENT,
) -> list[str]:
    """One sentence per group on its top bottleneck, and on drops that cannot be read yet.

    Parameters
    ----------
    ranking : pandas.DataFrame
        :func:`analysis.pipeline.bottlenecks.find.bottlenecks` frame (``to_frame()``).
    window : str
        Label of the current window.
    group : str
        The grouping column.

    Notes
    -----
    Only readable significant drops (:func:`analysis.pipeline.bottlenecks.views.drops`)
    are called bottlenecks; an improvement never is, and an immature row is
    never ranked as if it were a weaker drop: a significant drop in a row not
    readable yet gets its own sentence saying when it will be
    (:func:`analysis.pipeline.bottlenecks.views.not_yet_readable`).
    """
    from analysis.pipeline.bottlenecks import find as b
    from analysis.pipeline.bottlenecks import views

    if ranking is None:
        return []
    readable = views.drops(ranking)
    pending = views.not_yet_readable(ranking)
    sentences = []
    for name in dict.fromkeys(ranking[group]):
        rows = readable[(readable[group] == name) & readable[b.SIGNIFICANT_DROP].fillna(False)]
        if rows.empty:
            sentences.append(
                f"{name}: no stage transition converted significantly worse in {window} than in "
                "the baseline (after adjusting for testing every stage)."
            )
        else:
            sentences.append(_bottleneck_sentence(name, rows.iloc[0], window))
        later = pending[(pending[group] == name) & pending[b.SIGNIFICANT_DROP].fillna(False)]
        for _, row in later.iterrows():
            sentences.append(
                f"{name}: {row[c.STAGE]} → {row[b.NEXT_STAGE]} looks lower in {window} "
                f"({format_percent(row[f'{c.CONVERSION}_current'])} against "
                f"{format_percent(row[f'{c.CONVERSION}_baseline'])}), but cannot be read yet: "
                f"{row[views.READABLE_WHEN]}."
            )
    return sentences


def _bottleneck_sentence(name: str, top: pd.Series, window: str) -> str:
    from analysis.pipeline.bottlenecks import find as b

    horizon = top.get(b.HORIZON_DAYS, float("nan"))
    clock = (
        f" (decisions within {horizon:.0f} days of entering {top[c.STAGE]}, "
        "the same clock for both)"
        if pd.notna(horizon)
        else ""
    )
    current, baseline = top[f"{c.CONVERSION}_current"], top[f"{c.CONVERSION}_baseline"]
    return (
        f"{name} bottleneck: {top[c.STAGE]} → {top[b.NEXT_STAGE]} converted "
        f"{format_percent(current)} in {window} against "
        f"{format_percent(baseline)} before{clock}, a change of "
        f"{100 * top[b.DIFFERENCE]:+.0f} points [{100 * top[b.DIFF_CI_LOW]:+.0f} to "
        f"{100 * top[b.DIFF_CI_HIGH]:+.0f}, adjusted for the stages tested], adjusted p = "
        f"{top[b.P_ADJUSTED]:.3f}. Back at the baseline rate it would add about "
        f"{format_money(top[b.REVENUE_IMPACT])} of won revenue per period like this one."
    )


def _per(window_days: float) -> str:
    """``'a quarter'`` for a window of about three months, else ``'per period like this one'``."""
    return "a quarter" if 89 <= window_days <= 92 else "per period like this one"


def bottleneck_actions(ranking: pd.DataFrame | None, group: str = c.SEGMENT) -> list[dict]:
    """The readable significant drops as actions for the executive summary, money first.

    Parameters
    ----------
    ranking : pandas.DataFrame or None
        :func:`analysis.pipeline.bottlenecks.find.bottlenecks` frame.
    group : str

    Returns
    -------
    list of dict
        ``{"action": sentence, "money": won revenue a period would regain at the
        baseline rate}``; drops without a money figure are left out (they have
        nothing to rank by and stay on the page).
    """
    from analysis.pipeline.bottlenecks import find as b
    from analysis.pipeline.bottlenecks import views

    if ranking is None:
        return []
    rows = views.drops(ranking)
    rows = rows[rows[b.SIGNIFICANT_DROP].fillna(False) & (rows[b.REVENUE_IMPACT] > 0)]
    out = []
    for r in rows.sort_values(b.REVENUE_IMPACT, ascending=False).to_dict("records"):
        step = f"{str(r[c.STAGE]).capitalize()} → {r[b.NEXT_STAGE]}"
        where = f" in {r[group]}" if group in r and pd.notna(r[group]) else ""
        out.append(
            {
                "action": (
                    f"Find out why {step}{where} fell from "
                    f"{format_percent(r[f'{c.CONVERSION}_baseline'], 0)} to "
                    f"{format_percent(r[f'{c.CONVERSION}_current'], 0)}: about "
                    f"{format_money(r[b.REVENUE_IMPACT])} of won revenue "
                    f"{_per(r.get(b.WINDOW_DAYS, float('nan')))} rides on it."
                ),
                "money": float(r[b.REVENUE_IMPACT]),
            }
        )
    return out
