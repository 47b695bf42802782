"""The vocabulary of Pipedrive's exports: files, fields and how to find them.

The API names a field (``add_time``); the web app's export labels its
column ``Deal - <label>`` (``Deal - Deal created``). Every lookup accepts
both, ignoring case.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from analysis.ingest.vendors.adapted import (
    ExportFiles,
    column,
    custom_column,
    require,
    stem_key,
    values_text,
)

DEALS, STAGES, PIPELINES, USERS, FLOW, DEAL_FIELDS = (
    "deals",
    "stages",
    "pipelines",
    "users",
    "deal_flow",
    "dealFields",
)
FIELDS: dict[str, tuple[str, ...]] = {
    DEALS: (
        "id",
        "value",
        "currency",
        "status",
        "stage_id",
        "pipeline_id",
        "user_id",
        "add_time",
        "update_time",
        "won_time",
        "lost_time",
        "close_time",
        "lost_reason",
        "expected_close_date",
        "is_deleted",
    ),
    STAGES: ("id", "name", "pipeline_id", "pipeline_name", "order_nr", "active_flag"),
    PIPELINES: ("id", "name", "order_nr"),
    USERS: ("id", "name"),
    FLOW: ("item_id", "field_key", "old_value", "new_value", "log_time", "user_id"),
    DEAL_FIELDS: ("key", "name"),
}
"""Every file the adapter reads, with the API fields it uses (docs/vendors/pipedrive.md)."""

UI_PREFIX = "Deal - "
UI_LABELS: dict[str, tuple[str, ...]] = {  # API field -> labels in the web app's export
    "id": ("ID",),
    "value": ("Value",),
    "currency": ("Currency",),
    "status": ("Status",),
    "stage_id": ("Stage",),
    "pipeline_id": ("Pipeline",),
    "user_id": ("Owner",),
    "add_time": ("Deal created", "Deal created on", "Add time"),
    "update_time": ("Update time", "Last update"),
    "won_time": ("Won time",),
    "lost_time": ("Lost time",),
    "close_time": ("Deal closed on", "Close time"),
    "lost_reason": ("Lost reason",),
    "expected_close_date": ("Expected close date",),
}
OTHER_NAMES: dict[str, tuple[str, ...]] = {  # API field -> its other spellings (v2, flow tools)
    "user_id": ("owner_id",),
    "is_deleted": ("deleted",),
    "item_id": ("deal_id",),
    "log_time": ("time",),
}
FLOW_NAMES = ("deal_flow", "deals_flow", "deal_updates", "deals_updates", "deal_changelog")


def deals_path(files: ExportFiles) -> Path | None:
    """The deals file: a stem starting with ``deals`` (exact ``deals`` first), not the flow."""
    others = tuple(stem_key(n) for n in (*FLOW_NAMES, "dealsfields"))
    found = sorted(
        (stem, path)
        for stem, path in files.files.items()
        if stem_key(stem).startswith("deals") and not stem_key(stem).startswith(others)
    )
    exact = [path for stem, path in found if stem_key(stem) == "deals"]
    return (exact or [path for _, path in found] or [None])[0]


def is_web_export(frame: pd.DataFrame) -> bool:
    """Whether the file is the web app's export (its columns read ``Deal - <label>``)."""
    return any(str(h).startswith(UI_PREFIX) for h in frame.columns)


def field(frame: pd.DataFrame, api: str) -> str | None:
    """The column of an API field, under its API name or its web-export label."""
    labels = UI_LABELS.get(api, ())
    names = (api, *OTHER_NAMES.get(api, ()), *(UI_PREFIX + label for label in labels), *labels)
    found = column(frame, *names)
    return None if found is None else str(found)


def need(frame: pd.DataFrame, obj: str, path: Path, *apis: str) -> list[str]:
    """The columns of ``apis`` (API field names); raise naming the file and the first missing.

    A web export's missing fields are named by their ``Deal - <label>``.
    """
    web = is_web_export(frame)

    def shown(api: str) -> str:
        return UI_PREFIX + UI_LABELS[api][0] if web and api in UI_LABELS else api

    return require(
        frame,
        apis,
        file=path,
        what=f"the Pipedrive {obj} file",
        advice="Export it with these fields.",
        find=field,
        spell=shown,
        header=shown,
    )


def ids_text(values: pd.Series) -> pd.Series:
    """Ids as text (``12``, not ``12.0`` from a spreadsheet); missing stays missing."""
    return values_text(values).str.replace(r"\.0+$", "", regex=True)


def lower_text(values: pd.Series) -> pd.Series:
    """Values as stripped lower-case text (missing stays missing)."""
    return values_text(values).str.lower()


def iso_utc(stamps: pd.Series) -> pd.Series:
    """UTC timestamps as ISO text with ``Z`` (missing stays missing)."""
    return stamps.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(stamps.notna())


def custom_field(frame: pd.DataFrame, names: dict[str, str], pattern: str) -> str | None:
    """A custom field whose name (its label, or its dealFields name) matches ``pattern``."""
    return custom_column(
        frame, pattern, label=lambda col: names.get(col, col).removeprefix(UI_PREFIX)
    )


def custom_field_names(files: ExportFiles) -> dict[str, str]:
    """Hashed custom-field key to its name, from a dealFields file."""
    fields = files.read(DEAL_FIELDS, "deal_fields", "dealsfields")
    if fields is None:
        return {}
    key, name = need(fields, DEAL_FIELDS, files.used[DEAL_FIELDS], "key", "name")
    return dict(zip(values_text(fields[key]), values_text(fields[name]), strict=True))
