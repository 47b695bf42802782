"""Win drivers: a logistic model of won vs lost on deal attributes, with honest warnings.

:func:`win_drivers` (in :mod:`.model`) fits the model; :func:`driver_bands`
(in :mod:`.bands`) adds the banded features it reads. Separation and sparsity
checks (:mod:`._checks`) and the term table (:mod:`._terms`) are internal.
"""

from __future__ import annotations

from analysis.winloss.drivers.bands import driver_bands
from analysis.winloss.drivers.features import DEFAULT_FEATURES, DriverFeatures, driver_features
from analysis.winloss.drivers.model import WinDrivers, win_drivers

__all__ = [
    "DEFAULT_FEATURES",
    "DriverFeatures",
    "WinDrivers",
    "driver_bands",
    "driver_features",
    "win_drivers",
]
