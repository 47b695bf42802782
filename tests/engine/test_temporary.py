"""A query kept as a temporary table while several queries read it."""

from __future__ import annotations

import pandas as pd

import analysis
from analysis.core import columns as c
from analysis.engine.temporary import materialized


def _ws():
    deals = pd.DataFrame({c.DEAL_ID: ["d1", "d2"], c.OUTCOME: [c.WON, c.LOST],
                          c.CREATED_AT: pd.to_datetime(["2025-01-01"] * 2, utc=True)})  # fmt: skip
    return analysis.connect({c.DEALS: deals})


def test_the_table_holds_the_result_and_is_dropped_after():
    ws = _ws()
    expr = ws.deals.filter(ws.deals[c.OUTCOME] == c.WON)

    def ours() -> list[str]:
        return [t for t in ws.backend.list_tables() if t.startswith("_workbench_")]

    with materialized(ws, expr) as kept:
        assert ws.execute(kept)[c.DEAL_ID].tolist() == ["d1"]
        assert len(ours()) == 1
    assert ours() == []
    with materialized(ws, expr) as again:  # the same expression twice: a table of its own
        assert ws.execute(again.count()) == 1


def test_an_engine_without_temporary_tables_gets_the_expression(monkeypatch):
    ws = _ws()
    expr = ws.deals.select(c.DEAL_ID)

    def refuse(*_args, **_kwargs):
        raise PermissionError("read-only warehouse")

    monkeypatch.setattr(type(ws.backend), "create_table", refuse)
    with materialized(ws, expr) as kept:
        assert kept is expr
