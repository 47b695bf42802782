"""CRM adapters: read a vendor's own export without a hand-written column map.

``ADAPTERS`` names each vendor's module; :func:`detect` picks one from the
files of a folder. Each adapter module has ``NAME``, ``FIELDS`` (the objects
and fields it reads, from the vendor's public reference), ``detect(files)``
and ``adapt(files, options) -> VendorExport``.
"""

from __future__ import annotations

from types import ModuleType

from analysis.ingest.vendors import hubspot, pipedrive, salesforce
from analysis.ingest.vendors.adapted import ExportFiles, VendorExport, VendorOptions

ADAPTERS: dict[str, ModuleType] = {
    salesforce.NAME: salesforce,
    hubspot.NAME: hubspot,
    pipedrive.NAME: pipedrive,
}
"""Vendor name (``--from``) to its adapter module, in detection order."""


def detect(files: ExportFiles) -> str | None:
    """The vendor whose export the folder holds, or None."""
    for name, module in ADAPTERS.items():
        if module.detect(files):
            return name
    return None


def adapt(vendor: str, files: ExportFiles, options: VendorOptions) -> VendorExport:
    """Run the adapter of ``vendor`` (a key of :data:`ADAPTERS`)."""
    return ADAPTERS[vendor].adapt(files, options)


__all__ = ["ADAPTERS", "ExportFiles", "VendorExport", "VendorOptions", "adapt", "detect"]
