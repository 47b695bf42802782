"""What a report run covers, in one line a reader sees first: the data's end, its size, the run date.

"Data through 30 June 2026 · 5,000 deals · run 2 Dec 2026" heads the index and
every page, so a leader knows the period before reading a number, and a
page printed or mailed on its own still says what it rests on.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

import analysis
from analysis.core.errors import InputError
from analysis.engine.journey import data_cutoff


def _day(stamp: pd.Timestamp | dt.datetime) -> str:
    return f"{stamp.day} {stamp:%B %Y}"


def data_line(data_dir: Path) -> str | None:
    """``Data through 30 June 2026 · 5,000 deals`` for a processed folder; None without data.

    The end is the data's cut-off (:func:`analysis.engine.journey.data_cutoff`:
    the export's own time when ingest recorded it); data without any date
    says so instead.
    """
    try:
        ws = analysis.connect(data_dir)
    except InputError:
        return None
    n_deals = int(ws.execute(ws.deals.count()))
    cutoff = data_cutoff(ws)
    period = "Data without dates" if pd.isna(cutoff) else f"Data through {_day(cutoff)}"
    return f"{period} · {n_deals:,} deal{'' if n_deals == 1 else 's'}"


def run_line(data: str | None, started: dt.datetime, run_id: str) -> str:
    """The data line followed by the run's date and id."""
    run = f"run {_day(started)} ({run_id})"
    return f"{data} · {run}" if data else f"R{run[1:]}"
