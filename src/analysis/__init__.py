"""Sales Process Workbench: canonical CRM tables, metrics with intervals, reports.

Start with :func:`connect` to open the processed data as ibis tables.
"""

from analysis.engine import Workspace, connect
from analysis.errors import ConfigError, InputError
from analysis.stages import load_stages

__all__ = ["ConfigError", "InputError", "Workspace", "connect", "load_stages"]
__version__ = "0.1.0"
