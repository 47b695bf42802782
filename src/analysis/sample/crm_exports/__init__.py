"""The sample CRM written as a CRM vendor's own export, warts included.

Each writer turns the canonical sample (``analysis.sample.generate_sample``)
into the files a user downloads from that CRM, with the defects real ones
have, and returns what it planted so that tests can check that ingest
recovers the sample exactly: ``write_salesforce`` (Opportunity and its
history, stages, accounts, users, tasks, currencies).
"""

from analysis.sample.crm_exports.salesforce import SalesforceExport, write_salesforce

__all__ = ["SalesforceExport", "write_salesforce"]
