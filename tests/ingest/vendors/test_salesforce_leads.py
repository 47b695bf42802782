"""Tests for analysis.ingest.vendors.salesforce_leads: Lead and CampaignMember as leads."""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.ingest import ingest
from analysis.ingest import reasons as r
from analysis.sample import generate_sample
from analysis.sample.crm_exports import write_salesforce


def _export_with_leads(tmp_path):
    """A small Salesforce export plus a Lead, CampaignMember and Campaign file written by hand.

    Five leads: L1 converted into the export's first opportunity (Salesforce words for
    the status, a date-only ConvertedDate); L2 disqualified with a custom reason field;
    L3 still open; L4 deleted in Salesforce; L5 converted into an opportunity that is not
    in the export. L1 joined two campaigns (the earlier one is its campaign); L2 one.
    """
    planted = write_salesforce(generate_sample(40, seed=2), tmp_path / "export", seed=2)
    folder = planted.folder
    opp = pd.read_csv(folder / "Opportunity.csv", dtype=str, encoding="latin-1")  # ids: ASCII
    first = opp.loc[opp["IsDeleted"].str.lower() != "true"].iloc[0]
    created = first["CreatedDate"]
    leads = pd.DataFrame({
        "Id": ["00Q1", "00Q2", "00Q3", "00Q4", "00Q5"],
        "CreatedDate": ["2024-01-02T10:00:00.000+0000"] * 5,
        "Status": ["Closed - Converted", "Closed - Not Converted", "Open - Not Contacted",
                   "Working - Contacted", "Closed - Converted"],
        "LeadSource": ["Web", "Partner Referral", "Web", "Web", "Web"],
        "OwnerId": ["005A", "005A", "005B", "005B", "005A"],
        "IsConverted": ["true", "false", "false", "false", "true"],
        "ConvertedDate": [created[:10], "", "", "", "2024-02-01"],
        "ConvertedOpportunityId": [first["Id"], "", "", "", "006NOTHERE"],
        "Disqualification_Reason__c": ["", "No budget", "", "", ""],
        "IsDeleted": ["false", "false", "false", "true", "false"],
    })  # fmt: skip
    leads.to_csv(folder / "Lead.csv", index=False)
    pd.DataFrame({
        "LeadId": ["00Q1", "00Q1", "00Q2"], "CampaignId": ["701B", "701A", "701A"],
        "CreatedDate": ["2024-01-05T00:00:00.000+0000", "2024-01-03T00:00:00.000+0000",
                        "2024-01-04T00:00:00.000+0000"],
    }).to_csv(folder / "CampaignMember.csv", index=False)  # fmt: skip
    pd.DataFrame({"Id": ["701A", "701B"], "Name": ["Spring Webinar", "Trade Show"]}).to_csv(
        folder / "Campaign.csv", index=False
    )
    return planted, first["Id"]


def test_leads_are_read_with_campaigns_statuses_and_links(tmp_path):
    planted, first_opp = _export_with_leads(tmp_path)
    result = ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    m = result.manifest["tables"][c.LEADS]
    # Hand: 5 rows in; L4 deleted in source, L5's opportunity is not in the export.
    assert m["rows_in"] == 5
    assert m["quarantine_reasons"] == {r.DELETED_IN_SOURCE: 1, r.ORPHAN_EVENT: 1}
    leads = pd.read_parquet(tmp_path / "out" / "leads.parquet").set_index(c.LEAD_ID)
    assert sorted(leads.index) == ["00Q1", "00Q2", "00Q3"]
    # Salesforce status words become the canonical statuses (ingest.leads).
    assert leads[c.LEAD_STATUS].to_dict() == {
        "00Q1": c.LEAD_CONVERTED, "00Q2": c.LEAD_DISQUALIFIED, "00Q3": c.LEAD_NEW
    }  # fmt: skip
    # The campaign joined first (701A on Jan 3 before 701B on Jan 5), by its name.
    assert leads.loc["00Q1", c.CAMPAIGN] == "Spring Webinar"
    assert leads.loc["00Q2", c.CAMPAIGN] == "Spring Webinar"
    assert pd.isna(leads.loc["00Q3", c.CAMPAIGN])
    assert leads.loc["00Q1", c.CONVERTED_DEAL_ID] == first_opp
    assert leads.loc["00Q2", c.DISQUALIFY_REASON] == "No budget"  # the custom reason field
    assert "Lead.csv" in " ".join(str(p) for p in result.manifest["inputs"])


def test_an_export_without_a_lead_file_has_no_leads_table(tmp_path):
    planted = write_salesforce(generate_sample(40, seed=2), tmp_path / "export", seed=2)
    result = ingest(planted.folder, tmp_path / "out", timezone=planted.timezone)
    assert c.LEADS not in result.manifest["tables"]
