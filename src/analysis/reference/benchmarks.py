"""Industry benchmark figures, loaded strictly, and compared with our own measures.

``config/benchmarks.yaml`` is edited by hand: every figure carries its source,
year, URL and the exact definition of what it divides by what, because a
"win rate" of won / all opportunities and one of won / (won + lost) are
different numbers. :func:`load_benchmarks` rejects unknown or missing keys,
unknown metrics, rates outside [0, 1], non-positive durations and amounts,
and stages the pipeline does not define, with a
:class:`~analysis.core.errors.ConfigError` naming the file, the entry and the key.
:func:`compare_to_benchmarks` sets our measures beside every matching figure
and says when the definitions differ (e.g. a won-only mean cycle against our
censoring-aware median).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core import paths
from analysis.core.errors import ConfigError
from analysis.core.stages import Pipeline, load_stages
from analysis.core.yamlconfig import check_keys, load_yaml_strict

__all__ = [
    "Benchmark",
    "Benchmarks",
    "METRIC_STAGE_CONVERSION",
    "METRIC_WIN_RATE",
    "OUR_DEFINITIONS",
    "SEGMENT_ALL",
    "compare_to_benchmarks",
    "load_benchmarks",
    "same_definition",
]

Metric = Literal[
    "win_rate", "stage_conversion", "sales_cycle_days", "avg_deal_size", "cac", "cac_payback_months"
]
METRIC_WIN_RATE = "win_rate"
METRIC_STAGE_CONVERSION = "stage_conversion"
METRIC_CYCLE_DAYS = "sales_cycle_days"
METRIC_DEAL_SIZE = "avg_deal_size"
METRIC_CAC = "cac"
METRIC_PAYBACK = "cac_payback_months"
RATE_METRICS = (METRIC_WIN_RATE, METRIC_STAGE_CONVERSION)
METRICS = (*RATE_METRICS, METRIC_CYCLE_DAYS, METRIC_DEAL_SIZE, METRIC_CAC, METRIC_PAYBACK)
OUR_DEFINITIONS = {
    METRIC_WIN_RATE: "won / (won + lost)",
    METRIC_STAGE_CONVERSION: "advanced / (advanced + lost)",
    METRIC_CYCLE_DAYS: (
        "Kaplan-Meier median days from creation to close (won or lost), open deals censored"
    ),
    METRIC_DEAL_SIZE: "mean amount of won deals",
    METRIC_CAC: "(sales + marketing spend) / new customers won",
    METRIC_PAYBACK: "CAC / (gross margin x won amount / contract months)",
}
SEGMENT_ALL = "all"
BENCHMARK_SEGMENTS = (*c.SEGMENTS, SEGMENT_ALL)
_TOP_KEY = "benchmarks"


@dataclass(frozen=True)
class Benchmark:
    """One cited benchmark figure.

    Attributes
    ----------
    metric : {"win_rate", "stage_conversion", "sales_cycle_days", "avg_deal_size", "cac", \
"cac_payback_months"}
    stage : str or None
        Canonical open stage for ``stage_conversion``; None for every other metric.
    segment : {"B2B", "B2C", "all"}
    value : float
        A proportion in [0, 1] for rates; a positive number of days, money
        (reporting currency) or months for the others.
    source : str
        Publisher and title.
    year : int
    url : str
    definition : str
        What the figure divides by what (``"won / (won + lost)"``).
    note : str
        Caveats: secondary source, survey, definition differences.
    """

    metric: str
    stage: str | None
    segment: str
    value: float
    source: str
    year: int
    url: str
    definition: str
    note: str


_FIELDS = tuple(f.name for f in fields(Benchmark))


@dataclass(frozen=True)
class Benchmarks:
    """The validated benchmark file.

    Attributes
    ----------
    entries : tuple of Benchmark
        In file order.
    path : str or None
        The file they were read from.
    """

    entries: tuple[Benchmark, ...]
    path: str | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per benchmark with the fields of :class:`Benchmark`."""
        return pd.DataFrame([asdict(e) for e in self.entries], columns=list(_FIELDS))

    def matching(self, metric: str, stage: str | None, segment: str | None) -> list[Benchmark]:
        """Entries for ``metric`` and ``stage``: the given segment's first, then ``all``, in file order."""
        found = [e for e in self.entries if e.metric == metric and e.stage == stage]
        exact = [e for e in found if segment is not None and e.segment == segment]
        return exact + [e for e in found if e.segment == SEGMENT_ALL]


def same_definition(theirs: str, ours: str) -> bool:
    """Whether two definitions read the same, ignoring case and whitespace."""
    return "".join(theirs.lower().split()) == "".join(ours.lower().split())


def _text(entry: Mapping, key: str, where: str, path: Path, *, allow_empty: bool = False) -> str:
    value = entry[key]
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        raise ConfigError(
            f"{where}.{key} must be a non-empty text.", file=path, column=f"{where}.{key}"
        )
    return " ".join(value.split())


def _parse_entry(entry: object, index: int, path: Path, pipeline: Pipeline) -> Benchmark:
    where = f"{_TOP_KEY}[{index}]"
    if not isinstance(entry, Mapping):
        raise ConfigError(
            f"{where} must be a mapping of {', '.join(_FIELDS)}.", file=path, column=where
        )
    check_keys(entry, _FIELDS, where, path)
    missing = [k for k in _FIELDS if k not in entry]
    if missing:
        raise ConfigError(
            f"{where} lacks the key {missing[0]!r}; every entry needs {', '.join(_FIELDS)} "
            "(stage may be null, note may be empty).",
            file=path,
            column=f"{where}.{missing[0]}",
        )

    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(f"{where}.{key} {message}", file=path, column=f"{where}.{key}")

    metric = entry["metric"]
    if metric not in METRICS:
        raise fail("metric", f"must be one of {', '.join(METRICS)}, not {metric!r}.")
    stage = entry["stage"]
    if metric == METRIC_STAGE_CONVERSION and stage not in pipeline.stages:
        raise fail(
            "stage",
            f"must be an open stage of the pipeline ({', '.join(pipeline.stages)}), not {stage!r}.",
        )
    if metric != METRIC_STAGE_CONVERSION and stage is not None:
        raise fail("stage", f"must be null for a {metric} benchmark, not {stage!r}.")
    segment = entry["segment"]
    if segment not in BENCHMARK_SEGMENTS:
        raise fail("segment", f"must be one of {', '.join(BENCHMARK_SEGMENTS)}, not {segment!r}.")
    value = entry["value"]
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if metric in RATE_METRICS and not (number and 0 <= value <= 1):
        raise fail("value", f"must be a proportion in [0, 1], not {value!r}.")
    if metric not in RATE_METRICS and not (number and value > 0):
        raise fail("value", f"must be a positive number for {metric}, not {value!r}.")
    year = entry["year"]
    if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2100:
        raise fail("year", f"must be a four-digit year, not {year!r}.")
    url = _text(entry, "url", where, path)
    if not url.startswith(("http://", "https://")):
        raise fail("url", f"must start with http:// or https://, not {url!r}.")
    return Benchmark(
        metric=metric,
        stage=stage,
        segment=segment,
        value=float(value),
        source=_text(entry, "source", where, path),
        year=year,
        url=url,
        definition=_text(entry, "definition", where, path),
        note=_text(entry, "note", where, path, allow_empty=True),
    )


def load_benchmarks(
    path: str | Path | None = None, *, pipeline: Pipeline | None = None
) -> Benchmarks:
    """Load and validate a benchmark file.

    Parameters
    ----------
    path : str or Path, optional
        YAML file; defaults to ``config/benchmarks.yaml``.
    pipeline : Pipeline, optional
        Pipeline whose open stages a ``stage`` must name; defaults to the
        default pipeline of ``config/stages.yaml``.

    Returns
    -------
    Benchmarks

    Raises
    ------
    ConfigError
        On duplicate or unknown keys, a missing field, an unknown metric or
        segment, a value outside [0, 1], or a stage the pipeline does not
        define; ``column`` names the key as ``benchmarks[i].key``.

    Notes
    -----
    The file is a mapping with one key, ``benchmarks``, holding a list of
    entries with exactly the fields of :class:`Benchmark`. Texts are read with
    runs of whitespace collapsed, so folded YAML blocks compare cleanly.
    """
    path = Path(path) if path is not None else paths.BENCHMARKS_FILE
    pipeline = pipeline if pipeline is not None else load_stages().pipeline()
    raw = load_yaml_strict(path)
    if not isinstance(raw, Mapping) or _TOP_KEY not in raw:
        raise ConfigError(f"the benchmark file must be a mapping with {_TOP_KEY!r}.", file=path)
    check_keys(raw, [_TOP_KEY], "", path)
    items = raw[_TOP_KEY]
    if not isinstance(items, list):
        raise ConfigError(f"{_TOP_KEY} must be a list of entries.", file=path, column=_TOP_KEY)
    entries = tuple(_parse_entry(e, i, path, pipeline) for i, e in enumerate(items))
    return Benchmarks(entries, str(path))


VALUE = "value"  # a measure's value (input of compare_to_benchmarks)
BENCHMARK_VALUE = "benchmark_value"
BENCHMARK_GAP = "benchmark_gap"
BENCHMARK_SEGMENT = "benchmark_segment"
BENCHMARK_SOURCE = "benchmark_source"
BENCHMARK_YEAR = "benchmark_year"
BENCHMARK_DEFINITION = "benchmark_definition"
DEFINITION = "definition"
DEFINITION_DIFFERS = "definition_differs"
COMPARISON = "comparison"
NOTE_NO_BENCHMARK = "no_benchmark"
NOTE_OTHER_CURRENCY = "other_currency"  # our money is not in the benchmarks' currency
BENCHMARK_CURRENCY = "USD"
"""Currency of the money figures in the benchmark file (published surveys report US dollars)."""
MONEY_METRICS = (METRIC_DEAL_SIZE, METRIC_CAC)


def _describe(value: float, metric: str, currency: str = BENCHMARK_CURRENCY) -> str:
    if pd.isna(value):
        return "n/a"
    if metric in RATE_METRICS:
        return f"{100 * value:.1f}%"
    if metric in MONEY_METRICS:
        return f"{currency} {value:,.0f}"
    return f"{value:.1f} {'days' if metric == METRIC_CYCLE_DAYS else 'months'}"


def compare_to_benchmarks(
    measures: pd.DataFrame, benchmarks: Benchmarks, currency: str | None = BENCHMARK_CURRENCY
) -> pd.DataFrame:
    """Set each measure beside every matching benchmark, saying when definitions differ.

    Parameters
    ----------
    measures : pandas.DataFrame
        ``metric, stage, segment, value`` and optionally ``definition``
        (default: :data:`OUR_DEFINITIONS`), ``ci_low, ci_high``. ``stage``
        is None except for stage conversion; ``segment`` None or ``all`` for
        the whole business.
    benchmarks : Benchmarks
    currency : str or None
        Currency of our money measures (``Workspace.money.currency``). Money
        benchmarks are in :data:`BENCHMARK_CURRENCY`; measures in another
        currency are not set beside them (note ``other_currency``).

    Returns
    -------
    pandas.DataFrame
        One row per (measure, matching benchmark) — or one row with note
        ``no_benchmark`` — with ``benchmark_value, benchmark_gap (ours -
        theirs), benchmark_segment, benchmark_source, benchmark_year,
        benchmark_definition, definition_differs, comparison, note``.

    Notes
    -----
    A benchmark matches on metric and stage, and on segment where it names
    one (``all`` matches every segment; see :meth:`Benchmarks.matching`).
    Definitions are compared ignoring case and whitespace
    (:func:`same_definition`); where they differ, ``comparison`` says so and
    the gap is indicative only.
    """
    unknown = sorted(set(measures[c.METRIC]) - set(METRICS))
    if unknown:
        raise ValueError(f"Unknown metric {unknown[0]!r}; benchmarks cover {', '.join(METRICS)}.")
    rows = []
    for m in measures.to_dict("records"):
        metric, stage = m[c.METRIC], m.get(c.STAGE) or None
        segment = m.get(c.SEGMENT)
        segment = None if segment in (None, SEGMENT_ALL) or pd.isna(segment) else segment
        ours = m.get(DEFINITION) or OUR_DEFINITIONS[metric]
        base = {**m, DEFINITION: ours}
        found = benchmarks.matching(metric, stage, segment)
        if segment is None:
            found = [e for e in benchmarks.entries if e.metric == metric and e.stage == stage]
        scope = f" ({segment})" if segment else ""
        if found and metric in MONEY_METRICS and currency != BENCHMARK_CURRENCY:
            rows.append(
                {
                    **base,
                    c.NOTE: NOTE_OTHER_CURRENCY,
                    COMPARISON: (
                        f"{metric.replace('_', ' ').capitalize()}{scope}: ours is in "
                        f"{currency or 'no single currency'}, the benchmarks in "
                        f"{BENCHMARK_CURRENCY}, so they are not compared."
                    ),
                }
            )
            continue
        if not found:
            scope = f" ({segment})" if segment else ""
            rows.append(
                {
                    **base,
                    c.NOTE: NOTE_NO_BENCHMARK,
                    COMPARISON: f"No {metric} benchmark{scope} in the benchmark file.",
                }
            )
            continue
        for e in found:
            differs = not same_definition(e.definition, ours)
            scope = f" ({segment})" if segment else ""
            text = (
                f"{metric.replace('_', ' ').capitalize()}{scope}: ours "
                f"{_describe(m[VALUE], metric)} vs {_describe(e.value, metric)} "
                f"({e.source}, {e.year}, {e.segment})"
            )
            text += (
                f"; definitions differ (theirs: {e.definition}; ours: {ours}), so the gap is "
                "indicative only."
                if differs
                else "; same definition."
            )
            rows.append({
                **base, BENCHMARK_VALUE: e.value, BENCHMARK_GAP: m[VALUE] - e.value,
                BENCHMARK_SEGMENT: e.segment, BENCHMARK_SOURCE: e.source,
                BENCHMARK_YEAR: e.year, BENCHMARK_DEFINITION: e.definition,
                DEFINITION_DIFFERS: differs, COMPARISON: text, c.NOTE: "",
            })  # fmt: skip
    cols = [BENCHMARK_VALUE, BENCHMARK_GAP, BENCHMARK_SEGMENT, BENCHMARK_SOURCE, BENCHMARK_YEAR,
            BENCHMARK_DEFINITION, DEFINITION_DIFFERS, COMPARISON, c.NOTE]  # fmt: skip
    out = pd.DataFrame(rows)
    for col in cols:
        if col not in out.columns:
            out[col] = np.nan
    return out


def comparison_sentences(table: pd.DataFrame | None, comparable_only: bool = False) -> list[str]:
    """The comparison sentences of :func:`compare_to_benchmarks`, each once.

    ``comparable_only`` keeps rows without a note (a benchmark was found and
    its definition matches); None (a table the page skipped) gives none.
    """
    if table is None:
        return []
    if comparable_only:
        table = table[table[c.NOTE] == ""]
    # A measure this data could not give (no B2B deals, say) has nothing to compare.
    table = table[table[VALUE].notna()] if VALUE in table else table
    return table[COMPARISON].drop_duplicates().tolist()
