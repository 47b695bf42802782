"""Every path the workbench uses, resolved from the project root.

Library code never builds a path from string literals; it asks this module.
``SALES_WORKBENCH_DATA`` overrides the data folder (e.g. a shared drive) and
``SALES_WORKBENCH_REPORTS`` the reports folder, so scheduled runs can write
elsewhere without editing code.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJ_ROOT = Path(__file__).resolve().parents[3]

CONFIG_DIR = PROJ_ROOT / "config"
STAGES_FILE = CONFIG_DIR / "stages.yaml"
MAPS_DIR = CONFIG_DIR / "maps"
SAMPLE_MAP_FILE = MAPS_DIR / "sample.yaml"
MAVEN_MAP_FILE = MAPS_DIR / "maven_crm.yaml"

DATA_DIR = Path(os.environ.get("SALES_WORKBENCH_DATA", PROJ_ROOT / "data"))
RAW_DIR = DATA_DIR / "raw"
SAMPLE_DIR = RAW_DIR / "sample"
PROCESSED_DIR = DATA_DIR / "processed"
QUARANTINE_DIRNAME = "quarantine"
MANIFEST_FILENAME = "manifest.json"
# The stage config an ingest used, copied beside its tables so every reader uses it.
STAGES_COPY_FILENAME = "stages.yaml"

NOTEBOOKS_DIR = PROJ_ROOT / "notebooks"
REPORTS_DIR = Path(os.environ.get("SALES_WORKBENCH_REPORTS", PROJ_ROOT / "reports"))

SHARED_DATASETS_DIR = PROJ_ROOT.parent / "shared" / "datasets"

DEFAULT_SEED = 20240601
DEFAULT_SAMPLE_DEALS = 5_000
BENCHMARKS_FILE = CONFIG_DIR / "benchmarks.yaml"
TARGETS_FILE = CONFIG_DIR / "targets.yaml"  # bookings targets of forecast windows
THEMES_FILE = CONFIG_DIR / "themes.yaml"  # feedback theme lexicon
REPORTS_FILE = CONFIG_DIR / "reports.yaml"  # report runs: notebooks, parameters, periods
