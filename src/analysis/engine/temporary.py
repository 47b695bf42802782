"""A query's result kept as a temporary table while several queries read it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import ibis

from analysis.engine.workspace import Workspace


@contextmanager
def materialized(ws: Workspace, expr: ibis.Table) -> Iterator[ibis.Table]:
    """``expr`` computed once into a temporary table of the workspace's engine, dropped after.

    For an intermediate that several aggregates read (the engine would
    otherwise recompute it for each). An engine that cannot create a temporary
    table (a read-only warehouse connection) gets ``expr`` itself. ibis's own ``Table.cache()`` is keyed on
    the expression and, once released, hands a dropped table to the next
    identical expression, so each use here gets a table of its own name.
    """
    name = f"_workbench_{uuid.uuid4().hex}"
    try:
        table = ws.backend.create_table(name, expr, temp=True)
    except Exception:  # an engine without temporary tables recomputes instead
        yield expr
        return
    try:
        yield table
    finally:
        ws.backend.drop_table(name, force=True)
