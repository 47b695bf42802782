"""Salesforce leads: the ``Lead`` object, with its first campaign from ``CampaignMember``.

Fields read (Salesforce Object Reference):

- ``Lead``: Id, CreatedDate (required); Status, LeadSource, OwnerId,
  IsConverted, ConvertedDate, ConvertedOpportunityId, IsDeleted. Salesforce
  has no standard field for the marketing hand-off, so custom fields are
  read by name where an org has them: an MQL date ("MQL", "marketing
  qualified"), an accepted date ("SAL", "accepted"), an SQL date ("SQL",
  "sales qualified"), a disqualification date and reason ("disqualif",
  "reject", "unqualified") and a first-response time ("first response",
  "first touch").
- ``CampaignMember``: LeadId, CampaignId, CreatedDate; ``Campaign``: Id,
  Name. A lead's campaign is the name of the campaign it joined first.

Status values are the org's own words (``Open - Not Contacted``,
``Working - Contacted``, ``Closed - Converted``, ``Closed - Not
Converted``…); ingest maps them to the canonical statuses
(:mod:`analysis.ingest.leads`). ``ConvertedDate`` is a date: ingest reads
it as that day in the export's time zone, and the lifecycle check lets a
same-day date-only step stand.
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.ingest import reasons as r
from analysis.ingest.vendors.adapted import (
    COMPUTED,
    AdaptedTable,
    ExportFiles,
    VendorOptions,
    column,
    custom_column,
    deleted_rows,
    table_map,
)
from analysis.ingest.vendors.salesforce_fields import need

__all__ = ["LEAD_FIELDS", "read_leads"]

LEAD_FIELDS = {
    "Lead": (
        "Id", "CreatedDate", "Status", "LeadSource", "OwnerId", "IsConverted", "ConvertedDate",
        "ConvertedOpportunityId", "IsDeleted",
    ),
    "CampaignMember": ("LeadId", "CampaignId", "CreatedDate"),
    "Campaign": ("Id", "Name"),
}  # fmt: skip
CAMPAIGN_COLUMN = f"{COMPUTED}campaign"
# Standard Lead fields, then custom fields by the words orgs name them with.
_STANDARD = {
    c.LEAD_STATUS: ("Status",),
    c.SOURCE: ("LeadSource",),
    c.OWNER_ID: ("OwnerId",),
    c.CONVERTED_AT: ("ConvertedDate",),
    c.CONVERTED_DEAL_ID: ("ConvertedOpportunityId",),
}
_CUSTOM = {
    c.MQL_AT: (r"\bmql.*(date|time)", r"marketing.?qualified.*(date|time)"),
    c.ACCEPTED_AT: (r"\bsal\b.*(date|time)", r"accepted.*(date|time)"),
    c.SQL_AT: (r"\bsql.*(date|time)", r"sales.?qualified.*(date|time)"),
    c.DISQUALIFIED_AT: (r"(disqualif|reject|unqualif).*(date|time)",),
    c.DISQUALIFY_REASON: (r"(disqualif|reject|unqualif).*reason",),
    c.FIRST_RESPONSE_AT: (r"first.?(response|touch|contact)",),
}


def read_leads(files: ExportFiles, options: VendorOptions) -> AdaptedTable | None:
    """The ``leads`` table from ``Lead`` (None when the export has no Lead file)."""
    leads = files.read("Lead")
    if leads is None:
        return None
    path = files.used["Lead"]
    lead_id, created = need(leads, "Lead", files, "Id", "CreatedDate")
    leads = leads.copy()
    spec: dict[str, str] = {c.LEAD_ID: lead_id, c.CREATED_AT: created}
    for canonical, names in _STANDARD.items():
        found = column(leads, *names)
        if found is not None:
            spec[canonical] = found
    for canonical, patterns in _CUSTOM.items():
        found = custom_column(leads, *patterns)
        if found is not None and found not in spec.values():
            spec[canonical] = found
    campaign = _first_campaign(files, leads[lead_id])
    if campaign is not None:
        leads[CAMPAIGN_COLUMN] = campaign
        spec[c.CAMPAIGN] = CAMPAIGN_COLUMN
    flags = {r.DELETED_IN_SOURCE: deleted_rows(leads, "IsDeleted")}
    return AdaptedTable(
        c.LEADS, leads, table_map(c.LEADS, path, spec, options.timezone), path, flags
    )


def _first_campaign(files: ExportFiles, lead_ids: pd.Series) -> pd.Series | None:
    """Each lead's first campaign by name (its id when Campaign is not exported)."""
    members = files.read("CampaignMember")
    if members is None:
        return None
    lead, campaign = column(members, "LeadId"), column(members, "CampaignId")
    if lead is None or campaign is None:
        return None
    joined = column(members, "CreatedDate")
    order = pd.to_datetime(members[joined], errors="coerce", utc=True) if joined else None
    members = members.assign(_order=order if order is not None else range(len(members)))
    first = members.sort_values("_order", kind="stable").drop_duplicates(lead)
    names = first.set_index(lead)[campaign].astype("str")
    campaigns = files.read("Campaign")
    if campaigns is not None:
        cid, name = column(campaigns, "Id"), column(campaigns, "Name")
        if cid is not None and name is not None:
            lookup = campaigns.drop_duplicates(cid).set_index(cid)[name]
            names = names.map(lookup).fillna(names)
    return lead_ids.astype("str").map(names)
