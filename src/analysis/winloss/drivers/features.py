"""Which deal attributes a driver model or scorecard reads, given what the data has.

By default every attribute of :data:`DEFAULT_FEATURES` the deals hold (with at
least one value) is used and the rest are left out with a sentence; a list a
user names is used as given, and a name the deals lack is an error naming it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from analysis.core.errors import InputError
from analysis.engine.shape import empty_columns
from analysis.engine.workspace import Workspace
from analysis.winloss import columns as c

DEFAULT_FEATURES = (
    c.SEGMENT,
    c.SOURCE,
    c.DM_BAND,
    c.AMOUNT_BAND,
    c.LEAD_SCORE_BAND,
    c.REGION,
    c.QUAL_BUDGET,
    c.QUAL_AUTHORITY,
    c.QUAL_NEED,
    c.QUAL_TIMELINE,
)


@dataclass(frozen=True)
class DriverFeatures:
    """The features a model will read, and the default ones the data lacks.

    Attributes
    ----------
    used : tuple of str
    left_out : tuple of str
        Default features without a column, or without any value, in the deals.
    """

    used: tuple[str, ...]
    left_out: tuple[str, ...] = ()

    @property
    def note(self) -> str:
        """A sentence naming what was left out ("" when nothing was)."""
        if not self.left_out:
            return ""
        return (
            f"The data has no {', '.join(self.left_out)}, so the win drivers and the "
            "scorecard leave them out."
        )


def driver_features(ws: Workspace, features: Sequence[str] | None = None) -> DriverFeatures:
    """The features to model on ``ws.deals`` (with :func:`driver_bands` applied).

    Parameters
    ----------
    ws : Workspace
    features : sequence of str, optional
        None uses every :data:`DEFAULT_FEATURES` the deals hold and notes the
        rest; a list is used exactly.

    Raises
    ------
    InputError
        When a feature named explicitly is not a column of the deals, or has no value.
    """
    if features is None:
        empty = set(empty_columns(ws, c.DEALS, DEFAULT_FEATURES))
        used = tuple(f for f in DEFAULT_FEATURES if f not in empty)
        return DriverFeatures(used, tuple(f for f in DEFAULT_FEATURES if f in empty))
    features = [features] if isinstance(features, str) else list(features)
    empty = empty_columns(ws, c.DEALS, features)
    if empty:
        have = ", ".join(ws.deals.columns)
        raise InputError(
            f"the driver feature {empty[0]!r} is not in the deals, or has no value; set "
            f"features to columns the deals have ({have}), or None for the defaults.",
            column="features",
        )
    return DriverFeatures(tuple(features))
