"""Banded deal features for driver models: amount, lead score, cycle length, decision makers.

:func:`driver_bands` turns numeric deal columns into categorical bands
(quantile bands with edges computed in the engine, or fixed bands) so a
driver model or a scorecard can treat them as levels. Re-exported by
:mod:`analysis.winloss.drivers.model`.
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import pandas as pd

from analysis.core.types import SECONDS_PER_DAY
from analysis.engine.workspace import Workspace
from analysis.winloss import columns as c

__all__ = ["CYCLE_BANDS", "DM_BANDS", "DataLike", "driver_bands", "resolve_data"]

DataLike = Workspace | ibis.Table | pd.DataFrame
CYCLE_BANDS = ((0, 30, "<30d"), (30, 90, "30-90d"), (90, 180, "90-180d"), (180, None, "180d+"))
DM_BANDS = ((None, 1, "1"), (2, 2, "2"), (3, 3, "3"), (4, 4, "4"), (5, None, "5+"))


def resolve_data(data: DataLike) -> tuple[ibis.Table, Callable[[ibis.Expr], pd.DataFrame]]:
    """The table of ``data`` (a workspace's deals) and a function executing expressions on it."""
    if isinstance(data, Workspace):
        return data.deals, data.execute
    if isinstance(data, pd.DataFrame):
        backend = ibis.duckdb.connect()
        return ibis.memtable(data), backend.execute
    if isinstance(data, ibis.Table):
        return data, lambda expr: expr.execute()
    raise TypeError(
        f"win_drivers takes a Workspace, an ibis table or a DataFrame, not {type(data).__name__}."
    )


def driver_bands(data: DataLike, amount_quantiles: int = 4) -> ibis.Table:
    """Deals with banded features for driver models, as an ibis table.

    Adds ``amount_band`` and ``lead_score_band`` (quantile bands, edges
    computed in the engine), ``cycle_band`` (days from creation to close: <30, 30-90, 90-180,
    180+) and ``decision_makers_band`` (1, 2, 3, 4, 5+) where the source
    columns exist. Cycle length is known only at close: it describes won and
    lost deals, it is not a qualification criterion.
    """
    table, execute = resolve_data(data)
    new = {}
    for column, band in ((c.AMOUNT, c.AMOUNT_BAND), (c.LEAD_SCORE, c.LEAD_SCORE_BAND)):
        if column in table.columns:
            new[band] = _quantile_band(table, column, amount_quantiles, execute)
    if c.CLOSED_AT in table.columns and c.CREATED_AT in table.columns:
        days = (
            table[c.CLOSED_AT].epoch_seconds() - table[c.CREATED_AT].epoch_seconds()
        ) / SECONDS_PER_DAY
        new[c.CYCLE_BAND] = _band(days, CYCLE_BANDS)
    if c.N_DECISION_MAKERS in table.columns:
        new[c.DM_BAND] = _band(table[c.N_DECISION_MAKERS], DM_BANDS, inclusive_high=True)
    return table.mutate(**new)


def _quantile_band(table: ibis.Table, column: str, k: int, execute: Callable) -> ibis.Value:
    """Bands between the k-quantiles of ``column`` (edges computed in the engine)."""
    value = table[column]
    probs = [i / k for i in range(1, k)]
    q = execute(table.aggregate(**{f"q{i}": value.quantile(p) for i, p in enumerate(probs)}))
    edges = sorted({float(v) for v in q.iloc[0] if pd.notna(v)})
    bounds = [None, *edges, None]
    cases = []
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        if lo is None and hi is None:
            label = "all"
        elif lo is None:
            label = f"<{hi:,.0f}"
        elif hi is None:
            label = f"{lo:,.0f}+"
        else:
            label = f"{lo:,.0f}-{hi:,.0f}"
        cond = value.notnull()
        if lo is not None:
            cond = cond & (value >= lo)
        if hi is not None:
            cond = cond & (value < hi)
        cases.append((cond, f"{i + 1}: {label}"))
    return ibis.cases(*cases, else_=ibis.null().cast("string"))


def _band(value: ibis.Value, bands: tuple, inclusive_high: bool = False) -> ibis.Value:
    cases = []
    for lo, hi, label in bands:
        cond = ibis.literal(True)
        if lo is not None:
            cond = cond & (value >= lo)
        if hi is not None:
            cond = cond & ((value <= hi) if inclusive_high else (value < hi))
        cases.append((value.notnull() & cond, label))
    return ibis.cases(*cases, else_=ibis.null().cast("string"))
