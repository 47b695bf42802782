"""The process scorecard: the brief's five measures, each against last review, last year and a benchmark.

A sales process is judged, in the words of the brief this product answers,
by "conversion rates at each stage, average sales cycle length, win rate,
revenue per rep, and customer acquisition cost", compared "against industry
benchmarks and your historical data". :func:`process_scorecard` puts them in
one table per segment: this period's value with its interval, the change
since the period before and since the same period a year earlier (each with
its interval, and whether it is more than noise), the benchmark where one
exists, and the values of the last periods for a trend line.

Every measure counts what was decided in the period, as a review reads it:
deals closed in it, stages deals left in it, revenue won in it, customers
won in it. A period is therefore complete once it has ended, and the latest
one is never a half-grown cohort.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core.types import Window, WindowLike, as_window
from analysis.engine.journey import data_cutoff
from analysis.engine.needs import CLOSE_DATES, CREATED_DATES, OWNERS, SPEND, STAGE_HISTORY
from analysis.engine.periods import last_full_quarter
from analysis.engine.shape import Shape
from analysis.engine.workspace import Workspace
from analysis.reference.benchmarks import (
    METRIC_CAC,
    METRIC_CYCLE_DAYS,
    METRIC_STAGE_CONVERSION,
    METRIC_WIN_RATE,
    SEGMENT_ALL,
    VALUE,
    Benchmarks,
    compare_to_benchmarks,
)
from analysis.scorecard import columns as c
from analysis.scorecard import decided
from analysis.scorecard.samples import Cost, Days, PerRep, Rate, Sample
from analysis.stats.multitest import adjust_pvalues, adjusted_levels
from analysis.team.acquisition import acquisition_cost
from analysis.team.columns import NEW_CUSTOMERS, NOTE_NO_SPEND, SPEND_TOTAL
from analysis.team.history import period_before, year_before

__all__ = ["DEFINITIONS", "ProcessScorecard", "process_scorecard", "process_scorecards"]

DEFINITIONS = {
    c.STAGE_CONVERSION: "deals that left the stage in the period: advanced / (advanced + lost)",
    c.WIN_RATE: "deals closed in the period: won / (won + lost)",
    c.DAYS_TO_WIN: "median whole days from creation to close of the deals won in the period",
    c.REVENUE_PER_REP: (
        "won revenue of the period / reps with a deal open during it (mean over reps)"
    ),
    c.CAC: "(sales + marketing spend of the period) / new customers won in it",
}
# Benchmark metric each measure is compared with, and our definition in the benchmarks' terms.
_BENCHMARKED = {
    c.STAGE_CONVERSION: METRIC_STAGE_CONVERSION,
    c.WIN_RATE: METRIC_WIN_RATE,
    c.DAYS_TO_WIN: METRIC_CYCLE_DAYS,
    c.CAC: METRIC_CAC,
}
_BENCHMARK_DEFINITION = {
    c.STAGE_CONVERSION: "advanced / (advanced + lost)",
    c.WIN_RATE: "won / (won + lost)",
    c.DAYS_TO_WIN: "median days from creation to close of won deals",
    c.CAC: "(sales + marketing spend) / new customers won",
}
LOWER_IS_BETTER = (c.DAYS_TO_WIN, c.CAC)
Key = tuple[str, str | None, str]  # measure, stage, segment


@dataclass(frozen=True)
class ProcessScorecard:
    """The five measures per segment with their changes, benchmark and trend.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (measure, stage, segment): ``measure, stage, next_stage, segment,
        value, ci_low, ci_high, basis``; for each baseline ``previous`` and
        ``last_year`` the columns ``<baseline>_value, _change,
        _change_ci_low, _change_ci_high, _p_value, _p_adjusted,
        _beyond_noise``; ``benchmark, benchmark_source,
        benchmark_definition_differs``; ``trend`` (the values of the trend
        windows, oldest first) and ``note``. A change is a difference, except
        for CAC, where it is the ratio current / baseline.
    windows : tuple of Window
        The trend windows, oldest first; the last is the current period
        (empty when the data has no dates, and the card with it).
    previous, last_year : Window or None
        The baselines.
    currency : str or None
        Currency of revenue per rep and CAC.
    alpha : float
    correction : str
        Multiple-testing adjustment over each baseline's changes.
    notes : tuple of str
        Sentences on what could not be computed and why.
    """

    table: pd.DataFrame
    windows: tuple[Window, ...]
    previous: Window | None
    last_year: Window | None
    currency: str | None
    alpha: float
    correction: str
    notes: tuple[str, ...] = ()

    @property
    def current(self) -> Window | None:
        """The period the scorecard is about; None when the data has no dates."""
        return self.windows[-1] if self.windows else None

    def to_frame(self) -> pd.DataFrame:
        """The scorecard table (a copy)."""
        return self.table.copy()


def trend_windows(current: Window, periods: int) -> tuple[Window, ...]:
    """``periods`` windows of the current one's length ending with it, oldest first."""
    windows = [current]
    for _ in range(periods - 1):
        windows.insert(0, period_before(windows[0]))
    return tuple(windows)


def _lacking(ws: Workspace, shape: Shape, what: str) -> str:
    missing = shape.missing(ws)
    if not missing:
        return ""
    return f"{what} is not shown: the data lacks {', '.join(missing)}. {shape.supply}"


def _segments(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The frame with its segment column as text, plus the whole business as ``All``."""
    frame = frame.copy()
    if keys:
        frame[c.SEGMENT] = frame[c.SEGMENT].astype("string").fillna(c.UNKNOWN).astype(str)
    else:
        frame[c.SEGMENT] = c.ALL_SEGMENTS
    return frame


def _with_everyone(
    frame: pd.DataFrame, keys: list[str], segs: list[str], by: list[str], values: list[str]
) -> pd.DataFrame:
    """The rows of each segment plus their sums over all segments (segment ``All``).

    With one segment only the ``All`` rows are kept: the card shows one table.
    """
    frame = _segments(frame, keys)
    totals = frame.groupby(by)[values].sum().reset_index().assign(**{c.SEGMENT: c.ALL_SEGMENTS})
    return pd.concat([frame, totals] if len(segs) > 1 else [totals], ignore_index=True)


def _rate_samples(counts: pd.DataFrame, measure: str, hits: str, misses: str, keys, segs):
    by = [c.WINDOW, *([c.STAGE] if c.STAGE in counts.columns else [])]
    samples: dict[tuple[Key, int], Sample] = {}
    for row in _with_everyone(counts, keys, segs, by, [hits, misses]).to_dict("records"):
        x, miss = int(row[hits]), int(row[misses])
        key = (measure, row.get(c.STAGE), row[c.SEGMENT])
        samples[(key, int(row[c.WINDOW]))] = Rate(x, x + miss)
    return samples


def _days_samples(hist: pd.DataFrame, keys, segs):
    samples: dict[tuple[Key, int], Sample] = {}
    every = _with_everyone(hist, keys, segs, [c.WINDOW, c.DAYS], [c.COUNT])
    for (window, segment), group in every.groupby([c.WINDOW, c.SEGMENT]):
        counts = group.groupby(c.DAYS)[c.COUNT].sum().sort_index()
        samples[((c.DAYS_TO_WIN, None, segment), int(window))] = Days(
            counts.index.to_numpy(dtype=float), counts.to_numpy(dtype="int64")
        )
    return samples


def _rep_samples(revenue: pd.DataFrame, keys, segs):
    samples: dict[tuple[Key, int], Sample] = {}
    every = _with_everyone(revenue, keys, segs, [c.WINDOW, c.OWNER_ID], [c.WON_AMOUNT])
    for (window, segment), group in every.groupby([c.WINDOW, c.SEGMENT]):
        per_rep = group.groupby(c.OWNER_ID)[c.WON_AMOUNT].sum().to_numpy(dtype=float)
        samples[((c.REVENUE_PER_REP, None, segment), int(window))] = PerRep(per_rep)
    return samples


def _cost_samples(ws: Workspace, windows, segs):
    samples: dict[tuple[Key, int], Sample] = {}
    by_segment = len(segs) > 1
    for i, window in enumerate(windows):
        runs = [(None, c.ALL_SEGMENTS)] + ([("segment", None)] if by_segment else [])
        for by, label in runs:
            table = acquisition_cost(ws, None, by, window=window).to_frame()
            for row in table.to_dict("records"):
                if row[c.NOTE] == NOTE_NO_SPEND:
                    continue
                segment = label or str(row[c.SEGMENT])
                samples[((c.CAC, None, segment), i)] = Cost(
                    float(row[SPEND_TOTAL]), int(row[NEW_CUSTOMERS])
                )
    return samples


def _collect(ws: Workspace, windows, keys, segs, notes: list[str]) -> dict:
    """Every (measure, stage, segment, window) sample the data supports."""
    samples: dict[tuple[Key, int], Sample] = {}
    history = _lacking(ws, STAGE_HISTORY, "Conversion at each stage")
    if history:
        notes.append(history)
    else:
        counts = decided.stage_decisions(ws, windows, keys)
        samples |= _rate_samples(
            counts, c.STAGE_CONVERSION, c.N_ADVANCED, c.N_LOST_HERE, keys, segs
        )
    closes = _lacking(ws, CLOSE_DATES, "Win rate and days to win")
    if closes:
        notes.append(closes)
        return samples
    samples |= _rate_samples(
        decided.closed_outcomes(ws, windows, keys), c.WIN_RATE, c.N_WON, c.N_LOST, keys, segs
    )
    samples |= _days_samples(decided.days_to_win(ws, windows, keys), keys, segs)
    owners = _lacking(ws, OWNERS, "Revenue per rep")
    if owners:
        notes.append(owners)
    elif not ws.money.comparable or c.AMOUNT not in ws.deals.columns:
        notes.append(f"Revenue per rep is not shown. {ws.money.note}".strip())
    else:
        samples |= _rep_samples(decided.rep_revenue(ws, windows, keys), keys, segs)
    spend = _lacking(ws, SPEND, "Customer acquisition cost")
    if spend:
        notes.append(spend)
    else:
        samples |= _cost_samples(ws, windows, segs)
    return samples


def _order(keys: list[Key], stages: tuple[str, ...], segs: list[str]) -> list[Key]:
    measure_rank = {m: i for i, m in enumerate(c.MEASURES)}
    stage_rank = {s: i for i, s in enumerate(stages)}
    segment_rank = {s: i for i, s in enumerate(segs)}
    return sorted(
        keys,
        key=lambda k: (
            segment_rank.get(k[2], len(segs)),
            measure_rank[k[0]],
            stage_rank.get(k[1], -1),
        ),
    )


def _changes(
    rows: list[dict],
    samples: dict,
    base: int,
    current: int,
    name: str,
    alpha: float,
    correction: str,
) -> None:
    """Fill ``<name>_*`` of each row: the change against window ``base``, tested as one family."""
    pairs = [(samples.get((r["_key"], current)), samples.get((r["_key"], base))) for r in rows]
    p = np.array([a.p_value(b) if a is not None and b is not None else np.nan for a, b in pairs])
    p_adj = adjust_pvalues(p, correction) if np.isfinite(p).any() else p
    levels = adjusted_levels(p, p_adj, alpha)
    col: Callable[[str], str] = lambda part: c.baseline_column(name, part)  # noqa: E731
    for row, (a, b), pi, pa, level in zip(rows, pairs, p, p_adj, levels, strict=True):
        row[col(c.BASE_VALUE)] = b.estimate(alpha)[0] if b is not None else np.nan
        change = a.change(b, level) if a is not None and b is not None else (np.nan,) * 3
        row[col(c.CHANGE)], row[col(c.CHANGE_LOW)], row[col(c.CHANGE_HIGH)] = change
        row[col(c.BASE_P)], row[col(c.BASE_P_ADJ)] = pi, pa
        row[col(c.BEYOND_NOISE)] = bool(np.isfinite(pa) and pa < alpha)


def _benchmarks(table: pd.DataFrame, benchmarks: Benchmarks | None, currency) -> pd.DataFrame:
    table[c.BENCHMARK] = np.nan
    table[c.BENCHMARK_SOURCE] = ""
    table[c.BENCHMARK_DEFINITION_DIFFERS] = False
    if benchmarks is None or table.empty:
        return table
    ours = table[table[c.MEASURE].isin(list(_BENCHMARKED))]
    measures = pd.DataFrame(
        {
            c.METRIC: ours[c.MEASURE].map(_BENCHMARKED),
            c.STAGE: ours[c.STAGE].astype(object).where(ours[c.STAGE].notna(), None),
            c.SEGMENT: ours[c.SEGMENT].replace({c.ALL_SEGMENTS: None}),
            VALUE: ours[c.VALUE],
            "definition": ours[c.MEASURE].map(_BENCHMARK_DEFINITION),
            "_row": ours.index,
        }
    )
    if measures.empty:
        return table
    found = compare_to_benchmarks(measures, benchmarks, currency)
    found = found[found["benchmark_value"].notna()]
    # The whole business is set beside whole-market figures only, not a segment's.
    ours_segment = found[c.SEGMENT].fillna(SEGMENT_ALL)
    found = found[
        found["benchmark_segment"].isin([SEGMENT_ALL])
        | (found["benchmark_segment"] == ours_segment)
    ]
    found = found.drop_duplicates("_row")
    for row in found.to_dict("records"):
        i = row["_row"]
        table.loc[i, c.BENCHMARK] = row["benchmark_value"]
        table.loc[i, c.BENCHMARK_SOURCE] = (
            f"{row['benchmark_source']} ({int(row['benchmark_year'])})"
        )
        table.loc[i, c.BENCHMARK_DEFINITION_DIFFERS] = bool(row["definition_differs"])
    return table


def _columns() -> list[str]:
    return [
        c.MEASURE, c.STAGE, c.NEXT_STAGE, c.SEGMENT, c.VALUE, c.CI_LOW, c.CI_HIGH, c.BASIS,
        *[c.baseline_column(b, part) for b in c.BASELINES for part in c.BASELINE_PARTS],
        c.BENCHMARK, c.BENCHMARK_SOURCE, c.BENCHMARK_DEFINITION_DIFFERS, c.TREND, c.NOTE,
    ]  # fmt: skip


def _empty_table() -> pd.DataFrame:
    return pd.DataFrame(columns=_columns())


def process_scorecard(
    ws: Workspace,
    current: WindowLike | None = None,
    *,
    periods: int = 8,
    alpha: float = 0.05,
    correction: str = "holm",
    benchmarks: Benchmarks | None = None,
) -> ProcessScorecard:
    """The brief's five measures per segment, against the last review, last year and benchmarks.

    Parameters
    ----------
    ws : Workspace
    current : Window or (start, end), optional
        The period reviewed; default the last full calendar quarter before
        the data's cut-off.
    periods : int
        Windows of the trend line, the current one included.
    alpha : float
        1 - confidence level of every interval; the significance level of
        each baseline's family of changes.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment over the changes against one baseline; each change's
        interval is at the level that agrees with its adjusted p-value.
    benchmarks : Benchmarks, optional
        Published figures (:func:`analysis.reference.load_benchmarks`).

    Returns
    -------
    ProcessScorecard

    Notes
    -----
    Per segment (and ``All``), over what was decided in a window ``[s, e)``:

    - ``stage_conversion`` of stage :math:`k`: :math:`a/(a+l)` of deals that
      advanced past :math:`k` (:math:`a`) or were lost at it (:math:`l`) in
      the window; Wilson interval; change by the score test.
    - ``win_rate``: :math:`w/(w+l)` of deals closed in the window.
    - ``days_to_win``: median days from creation to close of the deals won
      in the window; order-statistic interval; change by a bootstrap.
    - ``revenue_per_rep``: :math:`\\frac1R\\sum_r W_r`, the mean over the
      :math:`R` reps with a deal open during the window of their won revenue
      :math:`W_r` in it; t interval; change by Welch's test.
    - ``cac``: :math:`S/k`, spend of the window over new customers won in
      it (:func:`analysis.team.acquisition.acquisition_cost`); change as a
      ratio. Spend carries no segment: a segment's share follows its deals.

    The statistics of each kind are in :mod:`analysis.scorecard.samples`.
    """
    if periods < 1:
        raise ValueError(f"periods must be at least 1, got {periods}.")
    undated = _lacking(ws, CREATED_DATES, "The scorecard")
    if undated or (current is None and pd.isna(data_cutoff(ws))):
        note = undated or "The scorecard is not shown: no deal or stage entry has a date."
        return ProcessScorecard(
            _empty_table(), (), None, None, ws.money.currency, alpha, correction, (note,)
        )
    if current is None:
        window = last_full_quarter(data_cutoff(ws))
    else:
        window = as_window(current, "current", bounded=True)
    windows = trend_windows(window, periods)
    previous, last_year = period_before(window), year_before(window)
    everything = tuple(windows) + (() if last_year in windows else (last_year,))
    keys = [c.SEGMENT] if c.SEGMENT in ws.deals.columns else []
    segs = sorted(
        ws.execute(ws.deals.select(c.SEGMENT).distinct())[c.SEGMENT]
        .astype("string")
        .fillna(c.UNKNOWN)
        .astype(str)
    ) if keys else []  # fmt: skip
    segs = [*segs, c.ALL_SEGMENTS] if len(segs) > 1 else [c.ALL_SEGMENTS]
    notes: list[str] = []
    samples = _collect(ws, everything, keys, segs, notes)
    now = len(windows) - 1
    index = {w: i for i, w in enumerate(everything)}
    rows = []
    for key in _order(sorted({k for k, _ in samples}, key=str), ws.pipeline.stages, segs):
        here = samples.get((key, now))
        value, low, high = here.estimate(alpha) if here is not None else (np.nan,) * 3
        trend = [
            samples[(key, i)].estimate(alpha)[0] if (key, i) in samples else np.nan
            for i in range(len(windows))
        ]
        rows.append(
            {
                "_key": key, c.MEASURE: key[0], c.STAGE: key[1], c.SEGMENT: key[2],
                c.VALUE: value, c.CI_LOW: low, c.CI_HIGH: high,
                c.BASIS: here.basis if here is not None else 0, c.TREND: trend,
            }
        )  # fmt: skip
    for name, base in ((c.PREVIOUS, previous), (c.LAST_YEAR, last_year)):
        _changes(rows, samples, index[base], now, name, alpha, correction)
    for row in rows:
        row[c.NOTE] = c.NOTE_NOTHING_DECIDED if row[c.BASIS] == 0 else ""
    table = pd.DataFrame(rows, columns=["_key", *_columns()]).drop(columns="_key")
    stages = list(ws.pipeline.stages)
    following = dict(zip(stages, [*stages[1:], c.WON], strict=True))
    table[c.NEXT_STAGE] = table[c.STAGE].map(following)
    table = _benchmarks(table, benchmarks, ws.money.currency)[_columns()]
    return ProcessScorecard(
        table, windows, previous, last_year, ws.money.currency, alpha, correction, tuple(notes)
    )


def process_scorecards(
    source: str | Path | None, current: WindowLike | None = None, **kwargs
) -> dict[str, ProcessScorecard]:
    """One scorecard per pipeline of a processed folder, the default pipeline first.

    Stages, conversion and even win rates differ between pipelines (new
    business, renewals), so each gets its own card. Keyword arguments go to
    :func:`process_scorecard`.
    """
    from analysis.engine.workspace import connect

    first = connect(source)
    names = (first.stages.default, *first.other_pipelines)
    return {
        name: process_scorecard(
            first if name == first.stages.default else connect(source, pipeline=name),
            current,
            **kwargs,
        )
        for name in names
    }
