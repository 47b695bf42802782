"""How the sample export spells things: CRM headers, value labels, ISO timestamps, company names."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.core import columns as c
from analysis.core.stages import Pipeline, normalise_label

OWNER_NAME = "Owner"  # extra, unmapped columns a CRM adds


COMPANY = "Company"


# canonical column -> export header, per table (order = file column order)
HEADERS: dict[str, dict[str, str]] = {
    c.DEALS: {
        c.DEAL_ID: "Deal ID",
        c.STAGE: "Deal Stage",
        c.OUTCOME: "Deal Status",
        c.CREATED_AT: "Create Date",
        c.CLOSED_AT: "Close Date",
        c.AMOUNT: "Amount",
        c.CURRENCY: "Currency",
        c.AMOUNT_ORIGINAL: "Amount (Original Currency)",
        c.SEGMENT: "Segment",
        c.PIPELINE: "Pipeline",
        c.SOURCE: "Lead Source",
        c.OWNER_ID: "Owner ID",
        c.ACCOUNT_ID: "Account ID",
        c.PRODUCT: "Product",
        c.REGION: "Region",
        c.N_DECISION_MAKERS: "Decision Makers",
        c.LOSS_REASON: "Closed Lost Reason",
        c.COMPETITOR: "Competitor",
        c.QUAL_BUDGET: "Budget Confirmed",
        c.QUAL_AUTHORITY: "Authority Confirmed",
        c.QUAL_NEED: "Need Confirmed",
        c.QUAL_TIMELINE: "Timeline Confirmed",
        c.LEAD_SCORE: "Lead Score",
        c.EXPECTED_CLOSE_AT: "Expected Close Date",
        c.PROBABILITY: "Probability",
        c.FORECAST_CATEGORY: "Forecast Category",
    },
    c.STAGE_EVENTS: {
        c.DEAL_ID: "Deal ID",
        c.STAGE: "Stage",
        c.ENTERED_AT: "Stage Entered",
        c.OWNER_ID: "Owner ID",
    },
    c.ACTIVITIES: {
        c.DEAL_ID: "Deal ID",
        c.AT: "Activity Date",
        c.ACTIVITY_TYPE: "Activity Type",
        c.REP_ID: "Rep ID",
        c.TEMPLATE_ID: "Email Template",
        c.SCRIPT_ID: "Call Script",
        c.REPLIED: "Replied",
        c.CONNECTED: "Call Connected",
    },
    c.ASSIGNMENTS: {
        c.EXPERIMENT_ID: "Experiment",
        c.UNIT_ID: "Unit ID",
        c.UNIT_TYPE: "Unit Type",
        c.VARIANT: "Variant",
        c.ASSIGNED_AT: "Assigned At",
        c.STAGE: "Stage",
    },
    c.REPS: {
        c.REP_ID: "Rep ID",
        c.NAME: "Full Name",
        c.TEAM: "Team",
        c.REGION: "Region",
        c.HIRED_AT: "Hire Date",
        c.QUOTA: "Annual Quota",
    },
    c.SPEND: {
        c.PERIOD: "Month",
        c.CHANNEL: "Channel",
        c.SALES_COST: "Sales Cost",
        c.MARKETING_COST: "Marketing Cost",
    },
    c.FEEDBACK: {
        c.DEAL_ID: "Deal ID",
        c.SOURCE: "Author Type",
        c.TEXT: "Comment",
        c.COLLECTED_AT: "Submitted At",
        c.RATING: "Rating",
    },
    c.DEAL_CHANGES: {
        c.DEAL_ID: "Deal ID",
        c.CHANGED_AT: "Edit Date",
        c.FIELD: "Field",
        c.OLD_VALUE: "Old Value",
        c.NEW_VALUE: "New Value",
        c.CHANGED_BY: "Edited By",
    },
    c.LEADS: {
        c.LEAD_ID: "Lead ID",
        c.CREATED_AT: "Create Date",
        c.SOURCE: "Lead Source",
        c.CAMPAIGN: "Campaign",
        c.LEAD_STATUS: "Lead Status",
        c.OWNER_ID: "Owner ID",
        c.SEGMENT: "Segment",
        c.MQL_AT: "MQL Date",
        c.ACCEPTED_AT: "Accepted Date",
        c.SQL_AT: "SQL Date",
        c.DISQUALIFIED_AT: "Disqualified Date",
        c.DISQUALIFY_REASON: "Disqualification Reason",
        c.RECYCLED_AT: "Recycled Date",
        c.FIRST_RESPONSE_AT: "First Response Date",
        c.CONVERTED_AT: "Converted Date",
        c.CONVERTED_DEAL_ID: "Converted Deal ID",
    },
    c.ORDERS: {
        c.ORDER_ID: "Order ID",
        c.CUSTOMER_ID: "Customer ID",
        c.DEAL_ID: "Deal ID",
        c.ORDERED_AT: "Order Date",
        c.AMOUNT: "Amount",
        c.CURRENCY: "Currency",
        c.PRODUCT: "Product",
    },
    c.SUBSCRIPTIONS: {
        c.CUSTOMER_ID: "Customer ID",
        c.DEAL_ID: "Deal ID",
        c.EFFECTIVE_AT: "Effective Date",
        c.MRR_BEFORE: "MRR Before",
        c.MRR_AFTER: "MRR After",
        c.CHANGE_TYPE: "Change Type",
        c.DISCOUNT: "Discount",
        c.CURRENCY: "Currency",
    },
    c.ONBOARDING: {
        c.DEAL_ID: "Deal ID",
        c.CUSTOMER_ID: "Customer ID",
        c.KICKOFF_AT: "Kick-off Date",
        c.GO_LIVE_AT: "Go-live Date",
    },
}


SOURCE_LABELS = {
    "inbound": "Inbound",
    "outbound": "Outbound",
    "referral": "Referral",
    "paid": "Paid Ads",
    "events": "Events",
}


OUTCOME_LABELS = {c.OPEN: "Open", c.WON: "Won", c.LOST: "Lost"}


# Lead statuses as the CRM shows them (``leads.lead_status``; HubSpot lifecycle words,
# which ingest.leads maps).
LEAD_STATUS_LABELS = {
    c.LEAD_NEW: "New",
    c.LEAD_MQL: "Marketing Qualified Lead",
    c.LEAD_ACCEPTED: "Sales Accepted Lead",
    c.LEAD_SQL: "Sales Qualified Lead",
    c.LEAD_CONVERTED: "Converted",
    c.LEAD_DISQUALIFIED: "Disqualified",
    c.LEAD_RECYCLED: "Recycled",
}


BOOLEAN_LABELS = ("No", "Yes")


COMPANY_STEMS = (
    "Société Lumière",
    "Müller & Söhne",
    "Café Olé",
    "Björk Design",
    "Northgate",
    "Bluefin",
    "Ñandú Foods",
    "Kestrel",
    "Orchard Lane",
    "Zürich Paper",
    "Crédit Nord",
    "Halvorsen",
    "Pinecrest",
    "Sørlandet Energi",
    "Tiber",
    "Évora Vinhos",
    "Redwood",
    "Maple & Co",
)


COMPANY_SUFFIXES = ("Ltd", "GmbH", "SA", "Inc", "Group", "AG")


def stage_labels(pipeline: Pipeline) -> dict[str, str]:
    """Export label of each canonical stage: its first alias that differs from its name."""
    labels = {}
    for stage in pipeline.all_stages:
        own = normalise_label(stage)
        alias = next(
            (
                a
                for a, target in pipeline.aliases.items()
                if target == stage and normalise_label(a) != own
            ),
            None,
        )
        labels[stage] = alias if alias is not None else stage.title()
    return labels


def iso_utc(values: pd.Series) -> pd.Series:
    """``YYYY-MM-DDTHH:MM:SSZ`` text of UTC timestamps (missing where missing)."""
    naive = pa.array(values.dt.tz_convert("UTC").dt.tz_localize(None))
    text = pc.cast(pc.cast(naive, pa.timestamp("s")), pa.string())
    iso = pc.binary_join_element_wise(pc.replace_substring(text, " ", "T"), "Z", "")
    return pd.Series(iso, index=values.index, dtype="str")


def relabel(values: pd.Series, mapping: Mapping[str, str]) -> pd.Series:
    """Replace every value by ``mapping[value]`` (values not in it become missing)."""
    keys = pa.array(list(mapping), type=pa.string())
    index = pc.index_in(pa.array(values.astype("str").array), value_set=keys)
    labels = pa.array(list(mapping.values()), type=pa.string()).take(index)
    return pd.Series(labels, index=values.index, dtype="str")


def yes_no(values: pd.Series) -> pd.Series:
    """``Yes``/``No`` text of a nullable boolean column."""
    flags = values.fillna(False).to_numpy(dtype=bool)
    text = np.where(flags, BOOLEAN_LABELS[1], BOOLEAN_LABELS[0]).astype(object)
    return pd.Series(pa.array(text, mask=values.isna().to_numpy()), index=values.index, dtype="str")


def company_names(account_ids: pd.Series) -> pd.Series:
    """Display name of B2B accounts (``A…`` ids); missing for households."""
    is_company = account_ids.str.startswith("A").fillna(False).to_numpy(dtype=bool)
    number = pd.to_numeric(account_ids.str.slice(1), errors="coerce").fillna(0).astype(np.int64)
    number = number.to_numpy()
    stems = np.array(COMPANY_STEMS, dtype=object)[(number * 7) % len(COMPANY_STEMS)]
    suffix = np.array(COMPANY_SUFFIXES, dtype=object)[
        (number // len(COMPANY_STEMS)) % len(COMPANY_SUFFIXES)
    ]
    names = pa.array(stems + " " + suffix, mask=~is_company)
    return pd.Series(names, index=account_ids.index, dtype="str")
