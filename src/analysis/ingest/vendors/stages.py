"""Stages of a CRM export: its pipelines in its own words, and which history rows change stage.

A CRM describes each stage with a label, an order and whether it is closed
and won; :func:`pipeline_from_stages` turns that into a canonical pipeline
(open stages named after their labels, every closed label aliased to ``won``
or ``lost``), :func:`stage_rows_from_history` learns the order when the
export has no stage list, and :func:`stage_changes` tells real stage changes
from history rows that edited another field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import Pipeline, StageConfig, normalise_label

WON, LOST = "won", "lost"


def stage_slug(label: str) -> str:
    """A stage name from a CRM label: case-folded words joined by ``_`` (any script)."""
    slug = re.sub(r"\W+", "_", normalise_label(label)).strip("_")
    return slug or "stage"


@dataclass(frozen=True)
class StageRow:
    """One stage as a CRM describes it."""

    label: str
    order: float
    closed: bool
    won: bool


def pipeline_from_stages(
    name: str, rows: Iterable[StageRow], extra_labels: Mapping[str, str] | None = None
) -> Pipeline:
    """A pipeline from a CRM's stage list: open stages in order, every closed label aliased.

    Parameters
    ----------
    name : str
        Pipeline name.
    rows : iterable of StageRow
        The stages: open ones become stages (named :func:`stage_slug` of the
        label, the label kept as an alias), won ones alias ``won``, other
        closed ones alias ``lost``.
    extra_labels : Mapping[str, str], optional
        Other labels (such as API names) to the label they stand for.
    """
    rows = sorted(rows, key=lambda r: (r.order, r.label))
    stages: list[str] = []
    aliases: dict[str, str] = {}
    target_of: dict[str, str] = {}
    for row in rows:
        target = WON if row.won else LOST if row.closed else stage_slug(row.label)
        if not row.closed and target in (WON, LOST):
            raise InputError(
                f"stage {row.label!r} of pipeline {name!r} is an open stage, but its name reads "
                f"as the {target} stage every pipeline ends in; rename it in the CRM, or give "
                "a stage config with --stages that aliases it to another name."
            )
        if target not in (WON, LOST) and target not in stages:
            stages.append(target)
        target_of[normalise_label(row.label)] = target
        _alias(aliases, row.label, target)
    for label, means in (extra_labels or {}).items():
        if normalise_label(means) in target_of:
            _alias(aliases, label, target_of[normalise_label(means)])
    if not stages:
        raise InputError(f"the pipeline {name!r} of this export has no open stage.")
    return Pipeline(
        name=name, stages=tuple(stages), won=WON, lost=LOST, aliases=MappingProxyType(aliases)
    )


def _alias(aliases: dict[str, str], label: str, target: str) -> None:
    norm = normalise_label(label)
    if norm == normalise_label(target) or any(normalise_label(k) == norm for k in aliases):
        return
    aliases[str(label).strip()] = target


def outcome_from_flags(closed: pd.Series, won: pd.Series) -> pd.Series:
    """``won``/``lost``/``open`` from nullable closed and won flags (same index).

    Missing when closed is unknown, or closed with won unknown.
    """
    out = np.where(won.fillna(False), c.WON, np.where(closed.fillna(False), c.LOST, c.OPEN))
    unknown = closed.isna() | (closed.fillna(False) & won.isna())
    return pd.Series(out, index=closed.index, dtype="str").where(~unknown.to_numpy())


def stage_flags(looked: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Closed and won (nullable) from each deal's stage's ``(closed, won)``, None when unknown."""
    closed = looked.map(lambda f: pd.NA if f is None else f[0]).astype("boolean")
    won = looked.map(lambda f: pd.NA if f is None else f[1]).astype("boolean")
    return closed, won


def stage_keys(labels: pd.Series) -> pd.Series:
    """Stage labels as matching keys (None when missing), one Python call per distinct label."""
    codes, uniques = pd.factorize(labels, use_na_sentinel=True)
    keys = np.array([normalise_label(u) for u in uniques] + [None], dtype=object)
    return pd.Series(keys[codes], index=labels.index)


def stage_changes(
    deals: pd.Series,
    stages: pd.Series,
    times: pd.Series,
    judge: np.ndarray,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """Mask of the history rows that enter a stage other than their deal's previous row.

    Parameters
    ----------
    deals, stages, times : pandas.Series
        Each row's deal, stage label and UTC time (same index).
    judge : numpy.ndarray
        Rows taking part; the others are neither changes nor a previous row.
    order : numpy.ndarray, optional
        Rank among a deal's rows at the same time; rows are ordered by deal,
        time, order, position, and stages compared as :func:`stage_keys`.
    """
    n = len(stages)
    rows = np.flatnonzero(np.asarray(judge, dtype=bool))
    deal = pd.factorize(deals.to_numpy()[rows])[0]
    stage = pd.factorize(stage_keys(stages).to_numpy()[rows])[0]
    instants = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
    when = np.where(instants.isna(), np.iinfo(np.int64).max, instants.asi8)[rows]  # NaT last
    rank = np.zeros(len(rows)) if order is None else np.asarray(order, dtype=float)[rows]
    # Integer sort keys (np.lexsort: the last key is the primary one): deal, time, rank, row.
    perm = np.lexsort((rows, rank, when, deal))
    d, s = deal[perm], stage[perm]
    first = np.ones(len(perm), dtype=bool)
    first[1:] = d[1:] != d[:-1]
    moved = np.ones(len(perm), dtype=bool)
    moved[1:] = s[1:] != s[:-1]
    change = np.zeros(n, dtype=bool)
    change[rows[perm[first | moved]]] = True
    return change


def stage_rows_from_history(
    events: pd.DataFrame, deal: str, stage: str, at: str, outcomes: Mapping[str, str]
) -> list[StageRow]:
    """Stage order learnt from the history when the export has no stage list.

    Open stages are ordered by the median rank of their first entry among the
    deals that entered them; a label that is the last of a won deal is won,
    of a lost deal lost. ``outcomes`` maps deal to ``won``/``lost``/``open``.
    """
    ordered = events.sort_values([deal, at], kind="stable")
    first = ordered.drop_duplicates([deal, stage])
    rank = first.groupby(deal, sort=False).cumcount()
    order = rank.groupby(first[stage]).median()
    last = ordered.drop_duplicates(deal, keep="last").set_index(deal)[stage]
    outcome = last.index.map(lambda d: outcomes.get(d, c.OPEN))
    won = set(last[outcome == c.WON])
    lost = set(last[outcome == c.LOST]) - won
    return [
        StageRow(label=str(label), order=float(pos), closed=label in won | lost, won=label in won)
        for label, pos in order.items()
    ]


def stage_config(pipelines: Iterable[Pipeline]) -> StageConfig:
    """A stage configuration of the given pipelines (the first is the default)."""
    found = {p.name: p for p in pipelines}
    return StageConfig(pipelines=MappingProxyType(found), default=next(iter(found)))


def combined_pipeline(config: StageConfig) -> Pipeline:
    """One pipeline holding every pipeline's stages, to read and check a multi-pipeline export.

    Each deal keeps its own pipeline in ``deals.pipeline``; ingest checks
    stage labels against all of them at once. Open stages keep the order of
    the pipelines and of their stages; every pipeline's won and lost stage
    must be ``won`` and ``lost`` (adapters name them so).

    Raises
    ------
    InputError
        When a label means different stages in two pipelines.
    """
    stages: list[str] = []
    # Every label, stage names included, to what it means and in which pipeline.
    meaning: dict[str, tuple[str, str]] = {}
    aliases: dict[str, str] = {}
    for p in config.pipelines.values():
        if (p.won, p.lost) != (WON, LOST):
            raise InputError(f"pipeline {p.name!r} names its terminal stages {p.won!r}/{p.lost!r}.")
        stages += [s for s in p.stages if s not in stages]
        own = [(s, s) for s in p.all_stages] + list(p.aliases.items())
        for label, target in own:
            key = normalise_label(label)
            if key in meaning and meaning[key][1] != target:
                where, means = meaning[key]
                raise InputError(
                    f"stage label {label!r} means {means!r} in pipeline {where!r} and "
                    f"{target!r} in pipeline {p.name!r}; rename one of them in the CRM or give "
                    "a stage config with --stages."
                )
            if key not in meaning:
                meaning[key] = (p.name, target)
                if key != normalise_label(target):
                    aliases[label] = target
    return Pipeline(
        name="+".join(config.pipelines),
        stages=tuple(stages),
        won=WON,
        lost=LOST,
        aliases=MappingProxyType(aliases),
    )
