"""Industry benchmark figures for stage conversion and win rate, loaded strictly.

``config/benchmarks.yaml`` is edited by hand: every figure carries its source,
year, URL and the exact definition of what it divides by what, because a
"win rate" of won / all opportunities and one of won / (won + lost) are
different numbers. :func:`load_benchmarks` rejects unknown or missing keys,
values outside [0, 1] and stages the pipeline does not define, with a
:class:`~analysis.errors.ConfigError` naming the entry and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Literal

import pandas as pd

from analysis import columns as c
from analysis import config
from analysis.errors import ConfigError
from analysis.stages import Pipeline, load_stages
from analysis.yamlconfig import check_keys, load_yaml_strict

__all__ = [
    "Benchmark",
    "Benchmarks",
    "METRIC_STAGE_CONVERSION",
    "METRIC_WIN_RATE",
    "SEGMENT_ALL",
    "load_benchmarks",
    "same_definition",
]

Metric = Literal["win_rate", "stage_conversion"]
METRIC_WIN_RATE = "win_rate"
METRIC_STAGE_CONVERSION = "stage_conversion"
METRICS = (METRIC_WIN_RATE, METRIC_STAGE_CONVERSION)
SEGMENT_ALL = "all"
BENCHMARK_SEGMENTS = (*c.SEGMENTS, SEGMENT_ALL)
_TOP_KEY = "benchmarks"


@dataclass(frozen=True)
class Benchmark:
    """One cited benchmark figure.

    Attributes
    ----------
    metric : {"win_rate", "stage_conversion"}
    stage : str or None
        Canonical open stage for ``stage_conversion``; None for ``win_rate``.
    segment : {"B2B", "B2C", "all"}
    value : float
        A proportion in [0, 1].
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
    if metric == METRIC_WIN_RATE and stage is not None:
        raise fail("stage", f"must be null for a win_rate benchmark, not {stage!r}.")
    segment = entry["segment"]
    if segment not in BENCHMARK_SEGMENTS:
        raise fail("segment", f"must be one of {', '.join(BENCHMARK_SEGMENTS)}, not {segment!r}.")
    value = entry["value"]
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise fail("value", f"must be a proportion in [0, 1], not {value!r}.")
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
    path = Path(path) if path is not None else config.BENCHMARKS_FILE
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
