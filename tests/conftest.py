"""Shared fixtures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.core import columns as c
from analysis.core import paths


def make_processed_folder(folder: Path, n_deals: int = 1500, seed: int = 7, plan=None) -> Path:
    """A small processed folder (canonical Parquet + manifest) from the sample generator.

    Tests compare report outputs with counts taken from these Parquet files
    (or with the generator's truth), never with hard-coded totals. The
    manifest claims two quarantined duplicate deals so data-quality text has
    something to say. ``plan`` changes what the generator plants
    (:class:`analysis.sample.params.Plan`).
    """
    from analysis.sample import generate_sample

    crm = generate_sample(n_deals, seed=seed, plan=plan)
    folder.mkdir(parents=True, exist_ok=True)
    tables = {}
    for name, frame in crm.tables.items():
        frame.to_parquet(folder / f"{name}.parquet")
        extra = 2 if name == c.DEALS else 0
        tables[name] = {
            c.ROWS_IN: len(frame) + extra,
            c.ROWS_CLEAN: len(frame),
            c.ROWS_QUARANTINED: extra,
            c.QUARANTINE_REASONS: {"duplicate_id": extra} if extra else {},
        }
    (folder / paths.MANIFEST_FILENAME).write_text(json.dumps({"tables": tables}))
    return folder


@pytest.fixture(scope="session")
def processed_folder(tmp_path_factory) -> Path:
    return make_processed_folder(tmp_path_factory.mktemp("processed"))


# The report matrix (tests/test_report_matrix*.py): the sample it shapes, and the
# pages of each shape. Module scope, so each of the two files (run side by side
# by pytest-xdist) builds its own cache of the cases it runs.
MATRIX_DEALS, MATRIX_SEED = 300, 3


@pytest.fixture(scope="module")
def matrix_tables():
    from analysis.sample import generate_sample

    return generate_sample(MATRIX_DEALS, seed=MATRIX_SEED).tables


@pytest.fixture(scope="module")
def shaped_pages(matrix_tables, tmp_path_factory):
    """``shaped_pages(case)``: the pages and output folder of one data shape, run once."""
    from notebook_pages import pages_by_case

    return pages_by_case(matrix_tables, tmp_path_factory)


# Issue 20: the count of handled hostile-input cases is a figure the suite prints.
HOSTILE_PROBE = "test_hostile_input.py::test_probe["


def pytest_terminal_summary(terminalreporter):
    """Print ``hostile input: N cases, M handled`` when a probe of test_hostile_input.py ran.

    A case is handled when its call passed and no phase of it failed. Under
    pytest-xdist the controller receives every worker's reports, so the line
    is the same in both modes.
    """
    seen: set[str] = set()
    handled: set[str] = set()
    failed: set[str] = set()
    for category in ("passed", "failed", "error", "skipped", "xfailed", "xpassed"):
        for report in terminalreporter.stats.get(category, []):
            nodeid = getattr(report, "nodeid", "")
            if HOSTILE_PROBE not in nodeid:
                continue
            case = nodeid.split(HOSTILE_PROBE, 1)[1].rstrip("]")
            seen.add(case)
            if category == "passed" and report.when == "call":
                handled.add(case)
            elif category != "passed":
                failed.add(case)
    if not seen:
        return
    handled -= failed
    line = f"hostile input: {len(seen)} cases, {len(handled)} handled"
    terminalreporter.write_line(line)
    if seen - handled:
        terminalreporter.write_line(f"not handled: {', '.join(sorted(seen - handled))}")
