"""The sample CRM written as a CRM vendor's own export, warts included.

Each writer turns the canonical sample (``analysis.sample.generate_sample``)
into the files a user downloads from that CRM, with the defects real ones
have, and returns what it planted so that tests can check that ingest
recovers the sample exactly: ``write_salesforce`` (Opportunity and its
history, stages, accounts, users, tasks, currencies); ``write_pipedrive``
(the deals list, its two pipelines' stages, users, the deals' updates and a
rates file); ``write_hubspot`` (the deals export with its Date-entered
columns, in UI labels or API names, the pipelines and owners).
"""

from analysis.sample.crm_exports.hubspot import HubSpotExport, write_hubspot
from analysis.sample.crm_exports.pipedrive import PipedriveExport, write_pipedrive
from analysis.sample.crm_exports.salesforce import SalesforceExport, write_salesforce

__all__ = [
    "HubSpotExport",
    "PipedriveExport",
    "SalesforceExport",
    "write_hubspot",
    "write_pipedrive",
    "write_salesforce",
]
