"""Make a clean export messy the way real exports are, and plant bad rows.

Format mess (the data stay the same; a good parser reads them back):

* ``deals.csv`` is cp1252 with ``;`` as delimiter; ``reps.csv`` and
  ``feedback.csv`` are UTF-8 with a byte-order mark; the rest UTF-8.
* Dates in mixed formats: ISO ``2024-03-14T09:30:00Z``, with an offset
  ``2024-03-14 10:30:00+01:00`` (same instant), naive UTC
  ``2024-03-14 09:30:00``, and, only where dropping the time cannot reorder
  anything (deal creation, hire dates, months), ``03/14/2024`` and
  ``14 Mar 2024`` (month first: the map says ``dayfirst: false``).
* Money as ``$1,200.50``; original EUR amounts of 1,000 or more as
  ``1.200,50 €`` (both separators present: the rightmost is the decimal).
* Case and whitespace noise in category labels; booleans as Yes/No, Y/N,
  true/false, 1/0.
* ``deal_changes.csv`` is written as in the clean export (UTF-8, ISO times,
  canonical value text): the field history stays clean.
* ``leads.csv``: its times in mixed full formats and case and whitespace noise
  in lead sources and statuses, from a random stream of its own (so the other
  files are as they were before leads existed); no bad lead rows are planted.
* ``orders.csv``, ``subscriptions.csv`` and ``onboarding.csv`` are written as in
  the clean export.

Planted bad rows (each with exactly one defect, counted in
``truth["messy"]["expected_quarantine"]``): extra deals with new ids (so no
other table refers to them) that have a negative amount, a duplicated id with
conflicting values (both rows count), a close date before the create date, an
unparseable create date, an empty segment or an unknown status; extra stage
events with a stage label the config does not know, or for a deal id that is
not in the deals file.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.core import columns as c
from analysis.core.stages import Pipeline
from analysis.ingest import reasons as r
from analysis.sample import labels
from analysis.sample.frames import id_width

NOISE_RATE = 0.03
BAD_DEAL_RATE = 0.0008  # per reason, of the deals
BAD_EVENT_RATE = 0.0005  # per reason, of the stage events
UNPARSEABLE_DATES = ("TBD", "2024-13-45", "31/02/2024", "yesterday")
UNKNOWN_STAGES = ("On Hold", "Verbal Commit", "Legal Review")
BAD_OUTCOMES = ("Pending", "Closed")
OFFSETS = ((60, "+01:00"), (-300, "-05:00"), (330, "+05:30"))  # minutes east of UTC
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FULL_FORMATS = ("iso_z", "offset", "naive_utc")
ALL_FORMATS = (*FULL_FORMATS, "us_date", "day_mon")
BOOLEAN_STYLES = (("No", "Yes"), ("N", "Y"), ("false", "true"), ("0", "1"), ("no", "yes"))
FORMATS = {
    c.DEALS: {"encoding": "cp1252", "sep": ";"},
    c.REPS: {"encoding": "utf-8-sig", "sep": ","},
    c.FEEDBACK: {"encoding": "utf-8-sig", "sep": ","},
}


def _format_times(ts: pd.Series, kinds: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Text of UTC timestamps, each row in the format ``ALL_FORMATS[kinds[i]]``."""
    present = ts.notna().to_numpy()
    out = labels.iso_utc(ts).to_numpy(dtype=object).copy()
    out[~present] = None
    naive = ts.dt.tz_localize(None)
    for code, kind in enumerate(ALL_FORMATS):
        m = present & (kinds == code)
        if kind == "iso_z" or not m.any():
            continue
        if kind == "offset":
            pick = rng.integers(0, len(OFFSETS), size=int(m.sum()))
            text = np.empty(pick.size, dtype=object)
            sub = naive[m]
            for j, (minutes, label) in enumerate(OFFSETS):
                local = _plain(sub[pick == j] + pd.Timedelta(minutes=minutes))
                text[pick == j] = local + label
            out[m] = text
        elif kind == "naive_utc":
            out[m] = _plain(naive[m])
        elif kind == "us_date":
            out[m] = naive[m].dt.strftime("%m/%d/%Y").to_numpy(dtype=object)
        else:  # day_mon, with English month names whatever the locale
            d = naive[m]
            out[m] = (
                d.dt.day.astype(str).str.zfill(2)
                + " "
                + np.array(MONTHS, dtype=object)[d.dt.month.to_numpy() - 1]
                + " "
                + d.dt.year.astype(str)
            ).to_numpy(dtype=object)
    return out


def _plain(naive: pd.Series) -> np.ndarray:
    """``YYYY-MM-DD HH:MM:SS`` text of naive timestamps (Arrow's cast, vectorised)."""
    seconds = pc.cast(pa.array(naive), pa.timestamp("s"))
    return np.asarray(pc.cast(seconds, pa.string()).to_pylist(), dtype=object)


def _mixed_times(ts: pd.Series, rng: np.random.Generator, *, date_only: bool) -> np.ndarray:
    """Mixed formats: mostly ISO; date-only formats only when ``date_only``."""
    if date_only:
        kinds = rng.choice(len(ALL_FORMATS), size=len(ts), p=[0.55, 0.15, 0.0, 0.15, 0.15])
    else:
        kinds = rng.choice(len(FULL_FORMATS), size=len(ts), p=[0.6, 0.2, 0.2])
    return _format_times(ts, kinds, rng)


def money(values: pd.Series, symbol: str = "$") -> np.ndarray:
    """``$1,200.50`` text (None where missing)."""
    return np.array([None if pd.isna(v) else f"{symbol}{v:,.2f}" for v in values], dtype=object)


def _euro(values: pd.Series) -> np.ndarray:
    """``1.200,50 €`` text."""
    return np.array(
        [f"{v:,.2f}".replace(",", "_").replace(".", ",").replace("_", ".") + " €" for v in values],
        dtype=object,
    )


def _add_noise(
    values: pd.Series, rng: np.random.Generator, rate: float = NOISE_RATE
) -> tuple[np.ndarray, int]:
    """Case and whitespace noise on a share of the non-empty labels."""
    out = values.to_numpy(dtype=object).copy()
    text = pd.Series(values, dtype="str")
    present = (text.notna() & (text != "")).to_numpy(dtype=bool)
    hit = present & (rng.random(out.size) < rate)
    style = rng.integers(0, 4, size=out.size)
    for i in np.flatnonzero(hit):
        v = out[i]
        out[i] = (v.lower(), v.upper(), "  " + v, v + " ")[style[i]]
    return out, int(hit.sum())


def _mixed_booleans(values: pd.Series, rng: np.random.Generator) -> np.ndarray:
    """Yes/No labels rewritten in mixed boolean styles."""
    text = pd.Series(values, dtype="str")
    missing = text.isna().to_numpy()
    flag = (text == labels.BOOLEAN_LABELS[1]).fillna(False).to_numpy(dtype=bool).astype(np.int64)
    style = rng.integers(0, len(BOOLEAN_STYLES), size=flag.size)
    out = np.array(BOOLEAN_STYLES, dtype=object)[style, flag]
    out[missing] = None
    return out


def _insert(df: pd.DataFrame, extra: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Rows of ``extra`` placed at random positions among those of ``df``."""
    key = np.concatenate([np.arange(len(df), dtype=float), rng.random(len(extra)) * len(df)])
    both = pd.concat([df, extra], ignore_index=True)
    return both.iloc[np.argsort(key, kind="stable")].reset_index(drop=True)


def _messy_deals(
    df: pd.DataFrame,
    deals: pd.DataFrame,
    rng: np.random.Generator,
    noise: dict,
    start: pd.Timestamp,
    end: pd.Timestamp,
) -> tuple[pd.DataFrame, dict, dict]:
    h = labels.HEADERS[c.DEALS]
    df = df.copy()
    df[h[c.CREATED_AT]] = _mixed_times(deals[c.CREATED_AT], rng, date_only=True)
    df[h[c.CLOSED_AT]] = _mixed_times(deals[c.CLOSED_AT], rng, date_only=False)
    df[h[c.AMOUNT]] = money(deals[c.AMOUNT])
    orig = money(deals[c.AMOUNT_ORIGINAL])
    cur = deals[c.CURRENCY].to_numpy(dtype=object)
    orig[cur == "GBP"] = money(deals[c.AMOUNT_ORIGINAL][cur == "GBP"], "£")
    eur = cur == "EUR"
    orig[eur] = money(deals[c.AMOUNT_ORIGINAL][eur], "€")
    big = eur & (deals[c.AMOUNT_ORIGINAL].to_numpy() >= 1000)
    orig[big] = _euro(deals[c.AMOUNT_ORIGINAL][big])
    df[h[c.AMOUNT_ORIGINAL]] = orig
    for col in (c.STAGE, c.OUTCOME, c.SEGMENT, c.SOURCE, c.REGION):
        df[h[col]], noise[f"{c.DEALS}.{col}"] = _add_noise(df[h[col]], rng)
    for col in (c.QUAL_BUDGET, c.QUAL_AUTHORITY, c.QUAL_NEED, c.QUAL_TIMELINE):
        df[h[col]] = _mixed_booleans(df[h[col]], rng)

    n = len(df)
    k = max(1, round(n * BAD_DEAL_RATE))
    width = id_width(n)
    next_id = iter(range(n + 1, n + 1 + 7 * k))
    closed = np.flatnonzero(deals[c.CLOSED_AT].notna().to_numpy())
    rows, ids = [], {}

    def template(pool: np.ndarray) -> pd.Series:
        row = df.iloc[int(rng.choice(pool))].copy()
        row[h[c.DEAL_ID]] = f"D{next(next_id):0{width}d}"
        return row

    everyone = np.arange(n)
    for reason in (
        r.NEGATIVE_AMOUNT,
        r.DUPLICATE_ID,
        r.CLOSED_BEFORE_CREATED,
        r.UNPARSEABLE_DATE,
        r.MISSING_REQUIRED,
        r.BAD_OUTCOME,
    ):
        ids[reason] = []
        for _ in range(k):
            row = template(closed if reason == r.CLOSED_BEFORE_CREATED else everyone)
            if reason == r.NEGATIVE_AMOUNT:
                row[h[c.AMOUNT]] = f"-{rng.uniform(100, 5000):.2f}"
            elif reason == r.DUPLICATE_ID:
                twin = row.copy()
                twin[h[c.AMOUNT]] = f"${rng.uniform(1000, 90000):,.2f}"
                rows.append(twin)
            elif reason == r.CLOSED_BEFORE_CREATED:
                created = start + (end - start) * float(rng.uniform(0.1, 0.9))
                closed_at = created - pd.Timedelta(days=float(rng.uniform(1, 30)))
                row[h[c.CREATED_AT]] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
                row[h[c.CLOSED_AT]] = closed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            elif reason == r.UNPARSEABLE_DATE:
                row[h[c.CREATED_AT]] = UNPARSEABLE_DATES[int(rng.integers(len(UNPARSEABLE_DATES)))]
            elif reason == r.MISSING_REQUIRED:
                row[h[c.SEGMENT]] = None
            else:
                row[h[c.OUTCOME]] = BAD_OUTCOMES[int(rng.integers(len(BAD_OUTCOMES)))]
            rows.append(row)
            ids[reason].append(row[h[c.DEAL_ID]])
    extra = pd.DataFrame(rows, columns=df.columns)
    counts = {r: len(v) for r, v in ids.items()}
    counts[r.DUPLICATE_ID] *= 2  # both rows of a duplicated id are rejected
    return _insert(df, extra, rng), counts, ids


def _messy_events(
    df: pd.DataFrame,
    events: pd.DataFrame,
    pipeline: Pipeline,
    n_deals: int,
    rng: np.random.Generator,
    noise: dict,
) -> tuple[pd.DataFrame, dict, dict]:
    h = labels.HEADERS[c.STAGE_EVENTS]
    df = df.copy()
    df[h[c.ENTERED_AT]] = _mixed_times(events[c.ENTERED_AT], rng, date_only=False)
    df[h[c.STAGE]], noise[f"{c.STAGE_EVENTS}.{c.STAGE}"] = _add_noise(df[h[c.STAGE]], rng)
    for label in UNKNOWN_STAGES:
        if pipeline.normalise(label) is not None:
            raise ValueError(f"Planted unknown stage {label!r} is an alias in the stage config.")
    k = max(1, round(len(df) * BAD_EVENT_RATE))
    unknown = df.iloc[rng.choice(len(df), size=k, replace=False)].copy()
    unknown[h[c.STAGE]] = np.array(UNKNOWN_STAGES, dtype=object)[
        rng.integers(0, len(UNKNOWN_STAGES), size=k)
    ]
    orphan = df.iloc[rng.choice(len(df), size=k, replace=False)].copy()
    width = id_width(n_deals)
    orphan_ids = [f"D{n_deals + 1_000_000 + i:0{width}d}" for i in range(k)]
    orphan[h[c.DEAL_ID]] = orphan_ids
    out = _insert(df, pd.concat([unknown, orphan], ignore_index=True), rng)
    return out, {r.UNKNOWN_STAGE: k, r.ORPHAN_EVENT: k}, {r.ORPHAN_EVENT: orphan_ids}


def _messy_leads(df: pd.DataFrame, leads: pd.DataFrame, seed: int, noise: dict) -> pd.DataFrame:
    """Leads with mixed time formats and label noise, from their own stream."""
    rng = np.random.default_rng([seed, 0x6D657373, 0x6C656164])  # "mess", "lead"
    h = labels.HEADERS[c.LEADS]
    df = df.copy()
    for column, header in h.items():
        if isinstance(leads[column].dtype, pd.DatetimeTZDtype):
            df[header] = _mixed_times(leads[column], rng, date_only=False)
    for column in (c.SOURCE, c.LEAD_STATUS):
        df[h[column]], noise[f"{c.LEADS}.{column}"] = _add_noise(df[h[column]], rng)
    return df


def messy_export(
    frames: Mapping[str, pd.DataFrame],
    tables: Mapping[str, pd.DataFrame],
    pipeline: Pipeline,
    truth: Mapping,
) -> tuple[dict, dict, dict]:
    """Messy versions of the export frames, their file formats and ``truth["messy"]``."""
    seed = int(truth.get("generator", {}).get("seed", 0))
    rng = np.random.default_rng([seed, 0x6D657373])  # "mess": independent of the sample's stream
    noise: dict[str, int] = {}
    out = dict(frames)
    created = tables[c.DEALS][c.CREATED_AT]
    deals, deal_counts, deal_ids = _messy_deals(
        frames[c.DEALS], tables[c.DEALS], rng, noise, created.min(), created.max()
    )
    events, event_counts, event_ids = _messy_events(
        frames[c.STAGE_EVENTS], tables[c.STAGE_EVENTS], pipeline, len(tables[c.DEALS]), rng, noise
    )
    out[c.DEALS], out[c.STAGE_EVENTS] = deals, events

    for table, column, date_only in (
        (c.ACTIVITIES, c.AT, False),
        (c.ASSIGNMENTS, c.ASSIGNED_AT, False),
        (c.REPS, c.HIRED_AT, True),
        (c.SPEND, c.PERIOD, True),
        (c.FEEDBACK, c.COLLECTED_AT, False),
    ):
        df = out[table].copy()
        header = labels.HEADERS[table][column]
        df[header] = _mixed_times(tables[table][column], rng, date_only=date_only)
        out[table] = df
    for table, column in (
        (c.ACTIVITIES, c.ACTIVITY_TYPE),
        (c.ASSIGNMENTS, c.UNIT_TYPE),
        (c.SPEND, c.CHANNEL),
        (c.FEEDBACK, c.SOURCE),
    ):
        header = labels.HEADERS[table][column]
        out[table][header], noise[f"{table}.{column}"] = _add_noise(out[table][header], rng)
    for column in (c.REPLIED, c.CONNECTED):
        header = labels.HEADERS[c.ACTIVITIES][column]
        out[c.ACTIVITIES][header] = _mixed_booleans(out[c.ACTIVITIES][header], rng)
    out[c.REPS][labels.HEADERS[c.REPS][c.QUOTA]] = money(tables[c.REPS][c.QUOTA])
    for column in (c.SALES_COST, c.MARKETING_COST):
        out[c.SPEND][labels.HEADERS[c.SPEND][column]] = money(tables[c.SPEND][column])
    out[c.LEADS] = _messy_leads(out[c.LEADS], tables[c.LEADS], seed, noise)

    formats = {t: FORMATS.get(t, {"encoding": "utf-8", "sep": ","}) for t in c.TABLES}
    expected = {t: {} for t in c.TABLES}
    expected[c.DEALS], expected[c.STAGE_EVENTS] = deal_counts, event_counts
    rows = {t: len(out[t]) for t in c.TABLES}
    quarantined = {t: sum(v.values()) for t, v in expected.items()}
    messy_truth = {
        "expected_quarantine": expected,
        "expected_quarantine_total": quarantined,
        "rows_written": rows,
        "expected_clean_rows": {t: rows[t] - quarantined[t] for t in c.TABLES},
        "bad_ids": {
            **{f"deals.{r}": v for r, v in deal_ids.items()},
            **{f"stage_events.{r}": v for r, v in event_ids.items()},
        },
        "files": {
            f"{t}.csv": {"encoding": f["encoding"], "delimiter": f["sep"]}
            for t, f in formats.items()
        },
        "date_formats": {
            "full": list(FULL_FORMATS),
            "date_only": ["us_date (%m/%d/%Y)", "day_mon (%d %b %Y)"],
            "date_only_columns": ["deals.created_at", "reps.hired_at", "spend.period"],
        },
        "money_formats": ["$1,200.50", "£1,200.50", "€950.00", "1.200,50 €"],
        "label_noise_cells": noise,
        "notes": (
            "duplicate_id counts both rows of each duplicated id (duplicate_ids: ids); "
            "bad deal rows are extra deals with new ids that no other table references; "
            "label noise (case, spaces) is not an error and must be normalised."
        ),
        "duplicate_ids": len(deal_ids[r.DUPLICATE_ID]),
    }
    return out, formats, messy_truth
