"""Sales Process Workbench: canonical CRM tables, metrics with intervals, reports.

Start with :func:`connect` to open the processed data as ibis tables::

    import analysis
    ws = analysis.connect()          # data/processed, DuckDB in-process
    ws.deals.count().execute()

Heavy imports (ibis, pandas) are deferred until first use so that the command
line answers ``--help`` instantly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.2.0"
__all__ = ["ConfigError", "InputError", "Workspace", "connect", "load_stages"]

_LAZY = {
    "connect": "analysis.engine.workspace",
    "Workspace": "analysis.engine.workspace",
    "load_stages": "analysis.core.stages",
    "InputError": "analysis.core.errors",
    "ConfigError": "analysis.core.errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from analysis.core.errors import ConfigError, InputError
    from analysis.core.stages import load_stages
    from analysis.engine.workspace import Workspace, connect


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'analysis' has no attribute {name!r}")
