"""HubSpot deal properties: finding them in either header style, and what they become.

A UI export of a deals view has the properties' labels as headers; an API
export has their internal names (:data:`LABELS` gives both). This module
reads the outcome, money, owner and segment properties into computed
columns of the deals frame (named with :data:`~analysis.ingest.vendors.adapted.COMPUTED`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.core.stages import normalise_label
from analysis.ingest.colmap import ColumnSpec
from analysis.ingest.fx import convert_amounts
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorOptions,
    as_timestamps,
    column,
    custom_column,
    deleted_rows,
    full_names,
    require,
    segment_values,
    table_map,
    truthy,
    values_text,
)
from analysis.ingest.vendors.stages import (
    outcome_from_flags,
    stage_flags,
)

OWNERS = "owners"
LABELS: dict[str, str] = {
    "hs_object_id": "Record ID",
    "dealname": "Deal Name",
    "dealstage": "Deal Stage",
    "pipeline": "Pipeline",
    "amount": "Amount",
    "deal_currency_code": "Currency",
    "amount_in_home_currency": "Amount in company currency",
    "closedate": "Close Date",
    "createdate": "Create Date",
    "hubspot_owner_id": "Deal owner",
    "hs_is_closed": "Is Deal Closed?",
    "hs_is_closed_won": "Is Closed Won",
    "hs_is_closed_lost": "Is closed lost",
    "closed_lost_reason": "Closed Lost Reason",
    "hs_lastmodifieddate": "Last Modified Date",
    "archived": "Archived",
}
"""Deal property internal name to its label in a UI export (both are read)."""

OUTCOME = COMPUTED + "outcome"
CLOSE = COMPUTED + "close"
AMOUNT = COMPUTED + "amount"
CURRENCY = COMPUTED + "currency"
SEGMENT = COMPUTED + "segment"
OWNER = COMPUTED + "owner"
NAME_COLUMN = COMPUTED + "name"
_ARCHIVED = ("archived", "Archived", "hs_archived", "isDeleted", "is_deleted")


def prop(frame: pd.DataFrame, name: str) -> str | None:
    """The header of property ``name`` (internal name or UI label), else None."""
    return column(frame, name, LABELS.get(name, name))


def need(frame: pd.DataFrame, obj: str, path, *names: str) -> list[str]:
    """The headers of properties ``names``; an InputError naming the first missing one."""
    return require(
        frame,
        names,
        file=path,
        what=f"the HubSpot {obj} file",
        advice="Export the deals with these properties.",
        find=prop,
        spell=lambda n: f"{n} ({LABELS[n]})" if n in LABELS else n,
        header=lambda n: LABELS.get(n, n),
    )


_STAGE_PROPERTY = re.compile(
    r"^(hs_(v2_)?(date_(entered|exited)|(cumulative_|latest_)?time_in)_|"
    r"(date (entered|exited)|(cumulative |latest )?time in) )",
    re.IGNORECASE,
)


def custom(frame: pd.DataFrame, *patterns: str) -> str | None:
    """A custom property whose name or label matches one of the regex ``patterns``.

    Per-stage properties (Date entered, Time in ...) and computed columns are skipped.
    """
    return custom_column(frame, *patterns, skip=_STAGE_PROPERTY.match)


def deleted(deals: pd.DataFrame) -> np.ndarray:
    """Rows archived (deleted) in HubSpot, when the export says so."""
    return deleted_rows(deals, *_ARCHIVED)


def outcomes(
    deals: pd.DataFrame,
    flags: dict[tuple[str, str], tuple[bool, bool]],
    path,
    pipeline: pd.Series | None = None,
) -> pd.Series:
    """won / lost / open from Is Closed Won with Is Deal Closed? or Is closed lost, else the stage.

    Parameters
    ----------
    deals : pandas.DataFrame
    flags : dict
        (pipeline, normalised stage id or label) to the stage's (closed, won),
        from the pipelines file (:attr:`hubspot_stages.Pipelines.flags`).
    path : Path
        The deals file, for the error.
    pipeline : pandas.Series, optional
        Each deal's canonical pipeline; where it is unknown, a stage's flags
        are used only when they agree in every pipeline.

    Raises
    ------
    InputError
        When neither the outcome properties nor ``flags`` are there.
    """
    won_col, closed_col, lost_col = (
        prop(deals, n) for n in ("hs_is_closed_won", "hs_is_closed", "hs_is_closed_lost")
    )
    if won_col and (closed_col or lost_col):
        won = truthy(deals[won_col])
        if closed_col:
            closed = truthy(deals[closed_col])
        else:
            lost = truthy(deals[lost_col])
            closed = (won.fillna(False) | lost.fillna(False)).where(won.notna() | lost.notna())
    elif flags:
        closed, won = stage_flags(_flags_of_stages(deals, flags, pipeline))
    else:
        raise InputError(
            "the deals file has no Is Closed Won (hs_is_closed_won) with Is Deal Closed? "
            "(hs_is_closed), and there is no pipelines file to tell closed and won stages; "
            "export these properties (the outcome is never guessed from stage names).",
            file=path,
            column="Is Closed Won",
        )
    return outcome_from_flags(closed, won)


def _flags_of_stages(deals: pd.DataFrame, flags: dict, pipeline: pd.Series | None) -> pd.Series:
    """Each deal's (closed, won): its stage in its pipeline, else a stage alike in every pipeline."""
    seen: dict[str, set[tuple[bool, bool]]] = {}
    for (_, stage), flag in flags.items():
        seen.setdefault(stage, set()).add(flag)
    alike = {stage: next(iter(found)) for stage, found in seen.items() if len(found) == 1}
    stages = deals[prop(deals, "dealstage")].map(lambda s: normalise_label(str(s)))
    pipes = [None] * len(deals) if pipeline is None else list(pipeline)
    looked = [
        flags.get((p, s), alike.get(s)) if isinstance(p, str) else alike.get(s)
        for p, s in zip(pipes, stages, strict=True)
    ]
    return pd.Series(looked, index=deals.index, dtype=object)


def _home_currency(deals: pd.DataFrame, amount: str, home: str) -> str | None:
    """The currency whose amounts equal their amount in company currency (the company's)."""
    a = pd.to_numeric(values_text(deals[amount]), errors="coerce")
    h = pd.to_numeric(values_text(deals[home]), errors="coerce")
    both = a.notna() & h.notna() & (a > 0)
    same = ((a - h).abs() <= 0.005).groupby(deals.loc[both, CURRENCY]).all()
    found = sorted(same[same].index)
    return found[0] if len(found) == 1 else None


def money(deals: pd.DataFrame, options: VendorOptions, notes: list, path):
    """Column specs for money and the reporting currency (None: amounts as exported)."""
    amount, code, home = (
        prop(deals, n) for n in ("amount", "deal_currency_code", "amount_in_home_currency")
    )
    wanted = options.reporting_currency.upper() if options.reporting_currency else None
    if amount is None:
        return {c.AMOUNT: ColumnSpec(constant=None)}, None
    if code is None:
        specs: dict = {c.AMOUNT: home or amount}
        if wanted:
            specs[c.CURRENCY] = ColumnSpec(constant=wanted)
        return specs, wanted
    deals[CURRENCY] = values_text(deals[code]).str.upper()
    specs = {c.CURRENCY: CURRENCY, c.AMOUNT_ORIGINAL: amount}
    if options.rates is not None:
        created = as_timestamps(deals[prop(deals, "createdate")], options.timezone)
        deals[AMOUNT], reporting = convert_amounts(
            deals[amount],
            deals[CURRENCY],
            deals[OUTCOME],
            as_timestamps(deals[CLOSE], options.timezone),
            created,
            options.rates,
            wanted,
            notes,
        )
        return {**specs, c.AMOUNT: AMOUNT}, reporting
    if home is not None:
        company = _home_currency(deals, amount, home)
        if wanted and company and wanted != company:
            raise InputError(
                f"the export's amounts in company currency are in {company}, not {wanted}; "
                "give exchange rates with --fx-rates to report in another currency.",
                file=path,
                column=home,
            )
        if company is None and wanted is None:
            notes.append(
                f"cannot tell the company currency of {home!r} (no currency whose amounts "
                "equal it); give --reporting-currency to name it."
            )
        return {**specs, c.AMOUNT: home}, company or wanted
    codes = set(deals[CURRENCY].dropna().unique())
    if len(codes) == 1:  # one currency: comparable as they are
        return {**specs, c.AMOUNT: amount}, codes.pop()
    notes.append(
        "no amount in company currency and no --fx-rates: amounts stay in each deal's "
        "currency and are not summed across currencies."
    )
    return {**specs, c.AMOUNT: amount}, None


def read_owners(files: ExportFiles, options: VendorOptions):
    """The reps table from the owners file, and owner name to id."""
    owners = files.read(OWNERS, "owner")
    if owners is None:
        return None, {}
    path = files.used[OWNERS]
    oid = column(owners, "id", "owner id", "hubspot_owner_id", "ownerId")
    if oid is None:
        raise InputError(
            f"the HubSpot owners file has no id; columns found: {', '.join(owners.columns)}.",
            file=path,
            column="id",
        )
    owners = owners.copy()
    first, last = column(owners, "firstName", "first name"), column(owners, "lastName", "last name")
    owners[NAME_COLUMN] = full_names(owners, first, last)
    spec: dict[str, str] = {c.REP_ID: oid}
    if first is not None and last is not None:
        spec[c.NAME] = NAME_COLUMN
    team = column(owners, "teams", "team", "primaryTeamName", "primary team")
    if team is not None:
        spec[c.TEAM] = team
    names = {
        normalise_label(n): str(i)
        for n, i in zip(owners[NAME_COLUMN], owners[oid], strict=True)
        if isinstance(n, str) and n
    }
    reps = AdaptedTable(c.REPS, owners, table_map(c.REPS, path, spec, options.timezone), path)
    return reps, names


def owner_ids(deals: pd.DataFrame, names: dict[str, str]) -> str | None:
    """Deal owner as the owner id: API exports give it, UI exports the owner's name."""
    owner = prop(deals, "hubspot_owner_id")
    if owner is None:
        return None
    values = values_text(deals[owner])
    deals[OWNER] = values.map(
        lambda v: names.get(normalise_label(v), v) if isinstance(v, str) else v
    )
    return OWNER


def segment_column(deals: pd.DataFrame) -> str:
    """B2B/B2C from a custom property named after the segment; empty (allowed) without one."""
    own = custom(deals, r"segment")
    deals[SEGMENT] = pd.Series(pd.NA, index=deals.index, dtype="str")
    if own is not None:
        deals[SEGMENT] = segment_values(deals[own])
    return SEGMENT
