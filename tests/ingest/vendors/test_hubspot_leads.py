"""Tests for analysis.ingest.vendors.hubspot_leads: contacts with lifecycle dates as leads."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.sample import generate_sample
from analysis.sample.crm_exports import write_hubspot


def _export_with_contacts(tmp_path, header: str):
    """A small HubSpot export plus a contacts file written by hand, in one header style.

    Four contacts: C1 an opportunity linked to the export's first deal (two deal ids, the
    first one counts); C2 an MQL whose lead status is UNQUALIFIED (so disqualified); C3 a
    subscriber; C4 archived. Dates are HubSpot's ISO times and one date-only field.
    """
    planted = write_hubspot(generate_sample(40, seed=2), tmp_path / "export", seed=2, header=header)
    deals_file = next(p for p in planted.folder.iterdir() if "deal" in p.name.lower())
    deals = pd.read_csv(deals_file, dtype=str, encoding="utf-8-sig", encoding_errors="replace")
    record = "Record ID" if "Record ID" in deals.columns else "hs_object_id"
    first_deal = deals[record].iloc[0]
    ui = header == "labels"
    name = {
        "hs_object_id": "Record ID", "createdate": "Create Date",
        "lifecyclestage": "Lifecycle Stage", "hs_lead_status": "Lead Status",
        "hs_lifecyclestage_marketingqualifiedlead_date": "Became a Marketing Qualified Lead Date",
        "hs_lifecyclestage_opportunity_date": "Became an Opportunity Date",
        "hs_analytics_source": "Original Source", "archived": "Archived",
        "associated_deal_ids": "Associated Deal IDs",
    }  # fmt: skip
    rows = {
        "hs_object_id": ["C1", "C2", "C3", "C4"],
        "createdate": ["2024-01-02T10:00:00Z"] * 4,
        "lifecyclestage": ["opportunity", "marketingqualifiedlead", "subscriber", "lead"],
        "hs_lead_status": ["OPEN_DEAL", "UNQUALIFIED", "", "NEW"],
        "hs_lifecyclestage_marketingqualifiedlead_date": ["2024-01-03", "2024-01-04T09:00:00Z",
                                                          "", ""],
        "hs_lifecyclestage_opportunity_date": ["2024-01-10T12:00:00Z", "", "", ""],
        "hs_analytics_source": ["ORGANIC_SEARCH", "PAID_SEARCH", "DIRECT_TRAFFIC", "EMAIL"],
        "archived": ["false", "false", "false", "true"],
        "associated_deal_ids": [f"{first_deal};999", "", "", ""],
    }  # fmt: skip
    frame = pd.DataFrame({(name[k] if ui else k): v for k, v in rows.items()})
    frame.to_csv(planted.folder / "hubspot-crm-exports-all-contacts-2026-06-30.csv", index=False)
    return planted, first_deal


def test_contacts_become_leads_in_either_header_style(tmp_path):
    for header in ("labels", "names"):
        planted, first_deal = _export_with_contacts(tmp_path / header, header)
        out = tmp_path / header / "out"
        result = ingest(planted.folder, out, timezone=planted.timezone)
        m = result.manifest["tables"][c.LEADS]
        assert m["rows_in"] == 4 and m["quarantine_reasons"] == {r.DELETED_IN_SOURCE: 1}
        leads = pd.read_parquet(out / "leads.parquet").set_index(c.LEAD_ID)
        # Hand: lifecycle stages as statuses; UNQUALIFIED lead status wins over the stage.
        assert leads[c.LEAD_STATUS].to_dict() == {
            "C1": c.LEAD_CONVERTED, "C2": c.LEAD_DISQUALIFIED, "C3": c.LEAD_NEW
        }, header  # fmt: skip
        assert leads.loc["C1", c.CONVERTED_DEAL_ID] == str(first_deal)  # the first of two ids
        assert pd.notna(leads.loc["C1", c.MQL_AT]) and pd.notna(leads.loc["C1", c.CONVERTED_AT])
        assert leads.loc["C2", c.SOURCE] is not None


def test_an_export_without_contacts_has_no_leads_table(tmp_path):
    planted = write_hubspot(
        generate_sample(40, seed=2), tmp_path / "export", seed=2, header="labels"
    )
    result = ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    assert c.LEADS not in result.manifest["tables"]
