"""The sample CRM as a Salesforce org's Data Loader export.

Files (as Salesforce names the objects): ``Opportunity.csv`` (cp1252, as
Excel on Windows saves it), ``OpportunityHistory.csv``, ``OpportunityStage.csv``,
``Account.csv``, ``User.csv``, ``Task.csv``, ``CurrencyType.csv``. The org is
in Spanish: stage labels are Spanish, their API names English.

Warts planted, each returned in :class:`SalesforceExport`: CloseDate is a
date in the org's time zone (same-day wins included); an open opportunity's
CloseDate is its expected close, after the export; a few deals were logged
after they closed (backdated); deleted opportunities are still in the file
(IsDeleted); the history has rows for amount and close-date edits that are
not stage changes; descriptions carry NUL bytes; LATAM deals are booked in
a fourth currency (MXN); a few tasks sit on accounts, not opportunities.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.core import columns as c
from analysis.sample import SampleCRM
from analysis.sample.crm_exports._warts import (
    flag_text,
    in_zone,
    local_date,
    rates_to_usd,
    rich_text,
    with_fourth_currency,
)
from analysis.sample.export import write_csv

TIMEZONE = "America/Bogota"
STAGE_LABELS = {  # canonical stage -> (Spanish label, API name)
    "prospecting": ("Prospección", "Prospecting"),
    "qualification": ("Calificación", "Qualification"),
    "discovery": ("Análisis de necesidades", "Needs Analysis"),
    "presentation": ("Presentación", "Value Proposition"),
    "proposal": ("Propuesta/Presupuesto", "Proposal/Price Quote"),
    "negotiation": ("Negociación/Revisión", "Negotiation/Review"),
    "won": ("Cerrada ganada", "Closed Won"),
    "lost": ("Cerrada perdida", "Closed Lost"),
}
INACTIVE_STAGE = ("Percepción del análisis", "Perception Analysis")  # in the org, never used
SLUGS = {  # what ingest names each stage (analysis.ingest.vendors.stages.stage_slug)
    "prospecting": "prospección",
    "qualification": "calificación",
    "discovery": "análisis_de_necesidades",
    "presentation": "presentación",
    "proposal": "propuesta_presupuesto",
    "negotiation": "negociación_revisión",
    "won": "won",
    "lost": "lost",
}
SF_TIME = "%Y-%m-%dT%H:%M:%S.000+0000"


@dataclass(frozen=True)
class SalesforceExport:
    """What the writer planted.

    Attributes
    ----------
    folder : Path
    ids : dict
        Sample deal id to Opportunity Id.
    backdated : tuple of str
        Sample deal ids logged after they closed (CreatedDate after CloseDate).
    deleted : int
        Extra opportunities with IsDeleted true.
    edits : int
        History rows that edit amount or close date, not the stage.
    nul_rows : int
        Opportunities whose Description holds a NUL byte.
    out_of_scope_tasks : int
        Tasks on accounts rather than opportunities.
    as_of : pandas.Timestamp
        The latest SystemModstamp (the export's time).
    timezone : str
    """

    folder: Path
    ids: dict[str, str]
    backdated: tuple[str, ...]
    deleted: int
    edits: int
    nul_rows: int
    out_of_scope_tasks: int
    as_of: pd.Timestamp
    timezone: str = TIMEZONE


def _sf_id(prefix: str, i: int) -> str:
    return f"{prefix}{i:012d}AAA"


def _time(ts: pd.Series) -> pd.Series:
    return in_zone(ts, "UTC", SF_TIME)


def write_salesforce(crm: SampleCRM, out_dir: str | Path, *, seed: int = 0) -> SalesforceExport:
    """Write ``crm`` as a Salesforce export into ``out_dir`` (created)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    deals = with_fourth_currency(crm.tables[c.DEALS]).reset_index(drop=True)
    events = crm.tables[c.STAGE_EVENTS]
    n = len(deals)
    ids = {d: _sf_id("006", i + 1) for i, d in enumerate(deals[c.DEAL_ID])}
    accounts = sorted(deals[c.ACCOUNT_ID].dropna().unique())
    account_ids = {a: _sf_id("001", i + 1) for i, a in enumerate(accounts)}
    reps = crm.tables[c.REPS]
    user_ids = {r: _sf_id("005", i + 1) for i, r in enumerate(reps[c.REP_ID])}
    closed = deals[c.OUTCOME] != c.OPEN
    backdated = closed & (rng.random(n) < 0.02)
    created = deals[c.CREATED_AT].where(~backdated, deals[c.CLOSED_AT] + pd.Timedelta(days=3))
    stamps = (created.max(), deals[c.CLOSED_AT].max(), events[c.ENTERED_AT].max())
    as_of = max(stamps) + pd.Timedelta(hours=6)
    expected = as_of + pd.to_timedelta(rng.integers(10, 120, n), unit="D")
    close_date = local_date(deals[c.CLOSED_AT].where(closed, expected), TIMEZONE)
    description, nul_rows = rich_text(n, rng)
    label = {k: v[0] for k, v in STAGE_LABELS.items()}
    modstamp = pd.concat([created, deals[c.CLOSED_AT].fillna(created)], axis=1).max(axis=1)
    modstamp = modstamp.where(modstamp <= as_of, as_of)
    modstamp.iloc[int(np.argmax(created.to_numpy()))] = as_of  # someone edited at export time
    opp = pd.DataFrame(
        {
            "Id": deals[c.DEAL_ID].map(ids),
            "IsDeleted": "false",
            "AccountId": deals[c.ACCOUNT_ID].map(account_ids),
            "Name": deals[c.DEAL_ID] + " " + deals[c.PRODUCT].fillna(""),
            "Description": description,
            "StageName": deals[c.STAGE].map(label),
            "Amount": deals[c.AMOUNT_ORIGINAL].round(2),
            "CurrencyIsoCode": deals[c.CURRENCY],
            "Probability": np.where(deals[c.OUTCOME] == c.WON, 100, np.where(closed, 0, 40)),
            "CloseDate": close_date,
            "LeadSource": deals[c.SOURCE].str.title(),
            "IsClosed": flag_text(closed),
            "IsWon": flag_text(deals[c.OUTCOME] == c.WON),
            "ForecastCategoryName": np.where(
                deals[c.OUTCOME] == c.WON, "Closed", np.where(closed, "Omitted", "Pipeline")
            ),
            "OwnerId": deals[c.OWNER_ID].map(user_ids),
            "CreatedDate": _time(created),
            "LastModifiedDate": _time(modstamp),
            "SystemModstamp": _time(modstamp),
            "Loss_Reason__c": deals[c.LOSS_REASON],
            "Competitor__c": deals[c.COMPETITOR],
            "Region__c": deals[c.REGION],
            "Product__c": deals[c.PRODUCT],
        }
    )
    n_deleted = max(1, n // 100)
    ghosts = opp.sample(n_deleted, random_state=seed).copy()
    ghosts["Id"] = [_sf_id("006", n + 1 + i) for i in range(n_deleted)]
    ghosts["IsDeleted"] = "true"
    opp = pd.concat([opp, ghosts], ignore_index=True)
    write_csv(opp, out / "Opportunity.csv", encoding="cp1252")

    history, n_edits = _history(deals, events, ids, label, close_date, rng)
    write_csv(history, out / "OpportunityHistory.csv")
    write_csv(_stages(), out / "OpportunityStage.csv")
    segment_of = deals.drop_duplicates(c.ACCOUNT_ID).set_index(c.ACCOUNT_ID)[c.SEGMENT]
    write_csv(
        pd.DataFrame(
            {
                "Id": [account_ids[a] for a in accounts],
                "Name": accounts,
                "IsPersonAccount": flag_text([segment_of[a] == c.B2C for a in accounts]),
            }
        ),
        out / "Account.csv",
    )
    names = reps[c.NAME].str.split(" ", n=1, expand=True)
    write_csv(
        pd.DataFrame(
            {
                "Id": reps[c.REP_ID].map(user_ids),
                "FirstName": names[0],
                "LastName": names[1],
                "Name": reps[c.NAME],
                "Department": reps[c.TEAM],
                "IsActive": "true",
            }
        ),
        out / "User.csv",
        encoding="utf-8-sig",
    )
    tasks, n_scope = _tasks(crm.tables[c.ACTIVITIES], ids, user_ids, account_ids, rng)
    write_csv(tasks, out / "Task.csv")
    rates = rates_to_usd(crm.truth)
    write_csv(
        pd.DataFrame(
            {
                "IsoCode": list(rates),
                "ConversionRate": [1.0 / v for v in rates.values()],
                "IsCorporate": flag_text([k == "USD" for k in rates]),
                "IsActive": "true",
            }
        ),
        out / "CurrencyType.csv",
    )
    return SalesforceExport(
        folder=out,
        ids=ids,
        backdated=tuple(deals.loc[backdated, c.DEAL_ID]),
        deleted=n_deleted,
        edits=n_edits,
        nul_rows=nul_rows,
        out_of_scope_tasks=n_scope,
        as_of=as_of,
    )


def _history(deals, events, ids, label, close_date, rng) -> tuple[pd.DataFrame, int]:
    """One row per stage entered, plus amount and close-date edits within a stay."""
    ev = events.sort_values([c.DEAL_ID, c.ENTERED_AT], kind="stable").reset_index(drop=True)
    info = deals.set_index(c.DEAL_ID)
    nxt = ev.groupby(c.DEAL_ID)[c.ENTERED_AT].shift(-1)
    rows = pd.DataFrame(
        {
            "OpportunityId": ev[c.DEAL_ID].map(ids),
            "StageName": ev[c.STAGE].map(label),
            "Amount": ev[c.DEAL_ID].map(info[c.AMOUNT_ORIGINAL]).round(2),
            "CloseDate": ev[c.DEAL_ID].map(dict(zip(deals[c.DEAL_ID], close_date, strict=True))),
            "CreatedDate": ev[c.ENTERED_AT],
            "IsDeleted": "false",
        }
    )
    # An edit of amount or close date halfway through an open stay (never the last stay).
    edit = nxt.notna().to_numpy() & (rng.random(len(ev)) < 0.3)
    edits = rows[edit].copy()
    edits["CreatedDate"] = ev.loc[edit, c.ENTERED_AT] + (nxt[edit] - ev.loc[edit, c.ENTERED_AT]) / 2
    edits["Amount"] = (edits["Amount"] * 1.1).round(2)
    out = pd.concat([rows, edits], ignore_index=True).sort_values(
        ["OpportunityId", "CreatedDate"], kind="stable"
    )
    out["CreatedDate"] = _time(out["CreatedDate"])
    return out.reset_index(drop=True), int(edit.sum())


def _stages() -> pd.DataFrame:
    rows = []
    for order, (stage, (text, api)) in enumerate(STAGE_LABELS.items(), start=1):
        rows.append((text, api, order, True, stage in ("won", "lost"), stage == "won"))
    rows.insert(3, (*INACTIVE_STAGE, 35, False, False, False))
    frame = pd.DataFrame(
        rows, columns=["MasterLabel", "ApiName", "SortOrder", "IsActive", "IsClosed", "IsWon"]
    )
    for col in ("IsActive", "IsClosed", "IsWon"):
        frame[col] = flag_text(frame[col])
    return frame


def _tasks(activities, ids, user_ids, account_ids, rng) -> tuple[pd.DataFrame, int]:
    kind = activities[c.ACTIVITY_TYPE]
    frame = pd.DataFrame(
        {
            "WhatId": activities[c.DEAL_ID].map(ids),
            "TaskSubtype": np.where(
                kind == c.CALL, "Call", np.where(kind == c.EMAIL, "Email", "Task")
            ),
            "Type": np.where(kind == c.MEETING, "Meeting", ""),
            "Subject": kind.str.title(),
            "ActivityDate": local_date(activities[c.AT], TIMEZONE),
            "CompletedDateTime": _time(activities[c.AT]),
            "OwnerId": activities[c.REP_ID].map(user_ids),
            "IsDeleted": "false",
        }
    )
    n_scope = max(1, len(frame) // 200)
    on_accounts = frame.sample(n_scope, random_state=1).copy()
    on_accounts["WhatId"] = list(account_ids.values())[:1] * n_scope
    return pd.concat([frame, on_accounts], ignore_index=True), n_scope
