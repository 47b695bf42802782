"""HubSpot leads: contacts with their lifecycle-stage dates.

A contacts export (the UI's ``hubspot-crm-exports-…-contacts-….csv`` or the
API's ``contacts.csv``) gives one lead per contact. Properties read, by
internal name or UI label (HubSpot's default contact properties):

- ``hs_object_id`` (Record ID) and ``createdate`` (Create Date), required;
- ``lifecyclestage`` (Lifecycle Stage) and ``hs_lead_status`` (Lead
  Status): the status is the lifecycle stage, except that a lead status of
  ``UNQUALIFIED`` reads as disqualified;
- ``hs_lifecyclestage_marketingqualifiedlead_date`` (Became a Marketing
  Qualified Lead Date) as ``mql_at``,
  ``hs_lifecyclestage_salesqualifiedlead_date`` (Became a Sales Qualified
  Lead Date) as ``sql_at``, ``hs_lifecyclestage_opportunity_date`` (Became
  an Opportunity Date) as ``converted_at``;
- ``hs_analytics_source`` (Original Source) as the source,
  ``hs_analytics_first_touch_converting_campaign`` (First Touch Converting
  Campaign) as the campaign, ``hubspot_owner_id`` (Contact owner);
- ``hs_sa_first_engagement_date`` (Date of first engagement) as the first
  response;
- the associated deal, where the export carries it (``Associated Deal IDs``
  or ``associated_deal_ids``, the first of a ``;``-separated list) as the
  converted deal;
- ``archived`` rows are deleted in the source.

HubSpot has no standard "accepted by sales" date or disqualification
reason; custom properties named for them are read when present.
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.errors import InputError
from analysis.ingest import reasons as r
from analysis.ingest.read import read_header
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorOptions,
    column,
    custom_column,
    deleted_rows,
    stem_key,
    table_map,
    values_text,
)

__all__ = ["CONTACTS", "CONTACT_LABELS", "contacts_file", "read_leads"]

CONTACTS = "contacts"
CONTACT_LABELS = {
    "hs_object_id": "Record ID",
    "createdate": "Create Date",
    "lifecyclestage": "Lifecycle Stage",
    "hs_lead_status": "Lead Status",
    "hs_lifecyclestage_marketingqualifiedlead_date": "Became a Marketing Qualified Lead Date",
    "hs_lifecyclestage_salesqualifiedlead_date": "Became a Sales Qualified Lead Date",
    "hs_lifecyclestage_opportunity_date": "Became an Opportunity Date",
    "hs_analytics_source": "Original Source",
    "hs_analytics_first_touch_converting_campaign": "First Touch Converting Campaign",
    "hubspot_owner_id": "Contact owner",
    "hs_sa_first_engagement_date": "Date of first engagement",
    "associated_deal_ids": "Associated Deal IDs",
}
_READ = {
    c.MQL_AT: "hs_lifecyclestage_marketingqualifiedlead_date",
    c.SQL_AT: "hs_lifecyclestage_salesqualifiedlead_date",
    c.CONVERTED_AT: "hs_lifecyclestage_opportunity_date",
    c.SOURCE: "hs_analytics_source",
    c.CAMPAIGN: "hs_analytics_first_touch_converting_campaign",
    c.OWNER_ID: "hubspot_owner_id",
    c.FIRST_RESPONSE_AT: "hs_sa_first_engagement_date",
}
_CUSTOM = {
    c.ACCEPTED_AT: (r"(\bsal\b|accepted).*(date|time)",),
    c.DISQUALIFIED_AT: (r"(disqualif|unqualif|reject).*(date|time)",),
    c.DISQUALIFY_REASON: (r"(disqualif|unqualif|reject).*reason",),
}
STATUS_COLUMN = f"{COMPUTED}lead_status"
DEAL_COLUMN = f"{COMPUTED}converted_deal"


def _prop(frame: pd.DataFrame, name: str) -> str | None:
    return column(frame, name, CONTACT_LABELS.get(name, name))


def contacts_file(files: ExportFiles):
    """The contacts file: a file named for contacts with a lifecycle stage or its dates."""
    keyed = {stem_key(stem): path for stem, path in files.files.items()}
    for key, path in sorted(keyed.items()):
        if "contact" not in key:
            continue
        try:
            header = {str(h).strip().lower() for h in read_header(path)}
        except InputError:
            continue
        names = {n.lower() for pair in CONTACT_LABELS.items() for n in pair}
        if {"lifecyclestage", "lifecycle stage"} & header or len(header & names) >= 3:
            return path
    return None


def read_leads(files: ExportFiles, options: VendorOptions) -> AdaptedTable | None:
    """The ``leads`` table from the contacts export (None when there is none)."""
    path = contacts_file(files)
    if path is None:
        return None
    contacts = files.read_path(CONTACTS, path).copy()
    lead_id, created = _prop(contacts, "hs_object_id"), _prop(contacts, "createdate")
    if lead_id is None or created is None:
        missing = "hs_object_id (Record ID)" if lead_id is None else "createdate (Create Date)"
        raise InputError(
            f"the HubSpot contacts file has no {missing}; export the contacts with it.",
            file=path,
        )
    spec: dict[str, str] = {c.LEAD_ID: lead_id, c.CREATED_AT: created}
    for canonical, name in _READ.items():
        found = _prop(contacts, name)
        if found is not None:
            spec[canonical] = found
    for canonical, patterns in _CUSTOM.items():
        found = custom_column(contacts, *patterns)
        if found is not None and found not in spec.values():
            spec[canonical] = found
    status = _status(contacts)
    if status is not None:
        contacts[STATUS_COLUMN] = status
        spec[c.LEAD_STATUS] = STATUS_COLUMN
    deal = _prop(contacts, "associated_deal_ids") or column(contacts, "Associated Deal")
    if deal is not None:
        first = values_text(contacts[deal]).str.split(";").str[0].str.strip()
        contacts[DEAL_COLUMN] = first.where(first != "")
        spec[c.CONVERTED_DEAL_ID] = DEAL_COLUMN
    flags = {r.DELETED_IN_SOURCE: deleted_rows(contacts, "archived", "Archived")}
    files.used[CONTACTS] = path
    return AdaptedTable(
        c.LEADS, contacts, table_map(c.LEADS, path, spec, options.timezone), path, flags
    )


def _status(contacts: pd.DataFrame) -> pd.Series | None:
    """The lifecycle stage, or ``unqualified`` where the lead status says so."""
    stage, lead_status = _prop(contacts, "lifecyclestage"), _prop(contacts, "hs_lead_status")
    if stage is None and lead_status is None:
        return None
    out = (
        values_text(contacts[stage])
        if stage is not None
        else pd.Series(pd.NA, index=contacts.index)
    )
    if lead_status is not None:
        unqualified = values_text(contacts[lead_status]).str.strip().str.upper() == "UNQUALIFIED"
        out = out.mask(unqualified.fillna(False), "unqualified")
    return out
