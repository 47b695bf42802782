"""Deal histories written as timelines, turned into consistent canonical tables.

A history is a list of deals, each a dict::

    {"id": "A", "created": t("2026-01-01"), "closed": None, "outcome": "open",
     "initial": {"amount": 100.0, "expected_close_at": t("2026-06-30"), "stage": "discovery"},
     "changes": [(t("2026-02-01"), "amount", 150.0)],
     "logged": True, "segment": "B2B", "owner": "r1"}

``initial`` holds the values a deal was created with; ``changes`` the later
edits. The tables written from it obey the data model's invariants by
construction: each change's ``old_value`` is the value before it, each
deal's current value is the ``new_value`` of its last change, and a close
sets the stage to won or lost at ``closed``. With ``logged`` (default) the
creation values are changes at ``created`` with a null old value; without,
the first recorded change of a field carries the creation value as its old
value (the export starts later). ``value_at`` is the plain-Python truth the
engine's rewind is checked against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.forecast import columns as c

TEXT_TIME = "%Y-%m-%dT%H:%M:%S+00:00"


def as_text(value: object) -> str | None:
    """Canonical text of a value, as ingest writes it (decimals, ISO 8601 UTC)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.tz_convert("UTC").strftime(TEXT_TIME)
    if isinstance(value, int | float):
        return repr(float(value))
    return str(value)


def timeline(deal: dict) -> list[tuple[pd.Timestamp, str, object]]:
    """Every (time, field, new value) of a deal in time order, creation values and close included."""
    events = [(deal["created"], f, v) for f, v in deal.get("initial", {}).items()]
    events += list(deal.get("changes", []))
    if deal.get("closed") is not None and deal.get("outcome", c.OPEN) != c.OPEN:
        events.append((deal["closed"], c.STAGE, deal["outcome"]))
    return sorted(events, key=lambda e: e[0])


def value_at(deal: dict, field: str, at: pd.Timestamp) -> object:
    """The truth at ``at`` (not before creation): the last value set at or before it."""
    value = None
    for when, name, new in timeline(deal):
        if name == field and when <= at:
            value = new
    return value


def current_value(deal: dict, field: str) -> object:
    values = [new for _, name, new in timeline(deal) if name == field]
    return values[-1] if values else None


def build_frames(deals: list[dict], stage_history: str = "changes") -> dict[str, pd.DataFrame]:
    """``deals``, ``deal_changes`` and (for ``stage_history="events"``) ``stage_events``.

    With ``"events"`` the stage history is written as stage events (every
    stage entered, creation included) and ``deal_changes`` holds no stage rows.
    """
    deal_rows, change_rows, event_rows = [], [], []
    for deal in deals:
        row = {
            c.DEAL_ID: deal["id"],
            c.CREATED_AT: deal["created"],
            c.OUTCOME: deal.get("outcome", c.OPEN),
            c.SEGMENT: deal.get("segment", c.B2B),
            c.OWNER_ID: deal.get("owner", "r1"),
            c.CLOSED_AT: deal.get("closed"),
        }
        for field in c.TRACKED_FIELDS:
            row[field] = current_value(deal, field)
        deal_rows.append(row)
        previous: dict[str, object] = {}
        for when, field, new in timeline(deal):
            creation = when == deal["created"] and field in deal.get("initial", {})
            old = previous.get(field)
            previous[field] = new
            as_event = field == c.STAGE and stage_history == "events"
            if creation and old is None and not deal.get("logged", True) and not as_event:
                continue  # not exported: the first later change carries it as its old value
            if field == c.STAGE and stage_history == "events":
                event_rows.append({c.DEAL_ID: deal["id"], c.STAGE: new, c.ENTERED_AT: when})
                continue
            change_rows.append({
                c.DEAL_ID: deal["id"], c.CHANGED_AT: when, c.FIELD: field,
                c.OLD_VALUE: as_text(old), c.NEW_VALUE: as_text(new), c.CHANGED_BY: "r1",
            })  # fmt: skip
    frames = {
        c.DEALS: _typed_deals(pd.DataFrame(deal_rows)),
        c.DEAL_CHANGES: _typed_changes(change_rows),
    }
    if stage_history == "events":
        frames[c.STAGE_EVENTS] = pd.DataFrame(
            event_rows or None, columns=[c.DEAL_ID, c.STAGE, c.ENTERED_AT]
        ).astype({c.DEAL_ID: "str", c.STAGE: "str", c.ENTERED_AT: "datetime64[us, UTC]"})
    return frames


def _typed_deals(deals: pd.DataFrame) -> pd.DataFrame:
    times = (c.CREATED_AT, c.CLOSED_AT, c.EXPECTED_CLOSE_AT)
    for col in times:
        deals[col] = pd.to_datetime(deals[col], utc=True).astype("datetime64[us, UTC]")
    for col in (c.AMOUNT, c.PROBABILITY):
        deals[col] = pd.to_numeric(deals[col]).astype("float64")
    return deals.astype({c.STAGE: "str", c.FORECAST_CATEGORY: "str"})


def _typed_changes(rows: list[dict]) -> pd.DataFrame:
    columns = [c.DEAL_ID, c.CHANGED_AT, c.FIELD, c.OLD_VALUE, c.NEW_VALUE, c.CHANGED_BY]
    frame = pd.DataFrame(rows or None, columns=columns)
    frame[c.CHANGED_AT] = pd.to_datetime(frame[c.CHANGED_AT], utc=True)
    strings = {col: "str" for col in columns if col != c.CHANGED_AT}
    return frame.astype({**strings, c.CHANGED_AT: "datetime64[us, UTC]"})


T0 = pd.Timestamp("2026-01-01", tz="UTC")
OPEN_STAGES = ("prospecting", "qualification", "discovery", "presentation", "proposal")
CATEGORIES = ("Pipeline", "Best Case", "Commit")


def random_value(rng: np.random.Generator, field: str, created: pd.Timestamp) -> object:
    """A random value of a tracked field (amounts in whole hundreds, closes on whole days)."""
    if field == c.AMOUNT:
        return float(rng.integers(1, 100) * 100)
    if field == c.EXPECTED_CLOSE_AT:
        return created.normalize() + pd.Timedelta(days=int(rng.integers(5, 200)))
    if field == c.STAGE:
        return str(rng.choice(OPEN_STAGES))
    if field == c.FORECAST_CATEGORY:
        return str(rng.choice(CATEGORIES))
    return float(rng.choice([0.1, 0.25, 0.5, 0.75, 0.9]))


def random_deal(
    rng: np.random.Generator, deal_id: str, created: pd.Timestamp, until: pd.Timestamp
) -> dict:
    """A deal created at ``created`` with up to 8 edits and perhaps a close before ``until``."""
    span = max(int((until - created).total_seconds() // 60), 2)
    minutes = np.sort(rng.choice(np.arange(1, span), size=min(9, span - 1), replace=False))
    times = [created + pd.Timedelta(minutes=int(m)) for m in minutes]
    closed = times.pop() if rng.random() < 0.5 else None
    n_changes = int(rng.integers(0, len(times) + 1))
    changes = [(when, str(rng.choice(c.TRACKED_FIELDS)), None) for when in times[:n_changes]]
    changes = [(when, f, random_value(rng, f, created)) for when, f, _ in changes]
    initial = {f: random_value(rng, f, created) for f in c.TRACKED_FIELDS if rng.random() < 0.9}
    return {
        "id": deal_id, "created": created, "initial": initial, "changes": changes,
        "closed": closed, "outcome": str(rng.choice([c.WON, c.LOST])) if closed else c.OPEN,
        "logged": bool(rng.random() < 0.6), "segment": str(rng.choice(c.SEGMENTS)),
    }  # fmt: skip


def random_deals(rng: np.random.Generator, n: int, days: int = 120) -> list[dict]:
    """``n`` deals created over ``days`` days from :data:`T0`, edited until ``days`` after."""
    deals = []
    for i in range(n):
        created = T0 + pd.Timedelta(minutes=int(rng.integers(0, days * 24 * 60)))
        deals.append(random_deal(rng, f"d{i:03d}", created, created + pd.Timedelta(days=days)))
    return deals


@pytest.fixture(scope="session")
def crm():
    """The history helpers: ``crm.frames(deals)``, ``crm.value_at(deal, field, t)``, …"""

    class Helpers:
        frames = staticmethod(build_frames)
        value_at = staticmethod(value_at)
        current_value = staticmethod(current_value)
        as_text = staticmethod(as_text)
        random_deal = staticmethod(random_deal)
        random_deals = staticmethod(random_deals)
        random_value = staticmethod(random_value)

    return Helpers
