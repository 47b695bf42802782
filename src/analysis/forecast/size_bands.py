"""Deal size bands of a segment, as known on a date: smaller, middle and larger thirds.

Larger deals win less often and take longer in most sales teams (more
people decide), so a forecast of the amount won that ignores size is too
high. The bands split each segment's deals created by ``as_of`` at the
thirds of their amounts then; the window forecast estimates win chances
within a band where its history is deep enough.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.history import AS_OF, values_as_of

__all__ = ["amounts_as_of", "band_of", "size_cuts"]

LOWER, UPPER = "_lower", "_upper"  # a segment's 1/3 and 2/3 quantiles of amount


def amounts_as_of(ws: Workspace, moment: ibis.Value) -> ibis.Table:
    """``deal_id, segment, amount`` of every deal created by ``moment``, its amount then."""
    deals = ws.deals
    segment = deals[c.SEGMENT] if c.SEGMENT in deals.columns else ibis.literal("all")
    alive = deals.filter(deals[c.CREATED_AT] <= moment)
    alive = alive.select(c.DEAL_ID, **{c.SEGMENT: segment, AS_OF: moment})
    amounts = values_as_of(ws, alive, fields=[c.AMOUNT])
    return alive.join(amounts, [c.DEAL_ID, AS_OF]).select(c.DEAL_ID, c.SEGMENT, c.AMOUNT)


def size_cuts(ws: Workspace, amounts: ibis.Table) -> pd.DataFrame:
    """Per segment, the 1/3 and 2/3 quantiles of the amounts (one small engine query)."""
    known = amounts.filter(amounts[c.AMOUNT].notnull())
    cuts = known.group_by(c.SEGMENT).aggregate(
        **{LOWER: known[c.AMOUNT].quantile(1 / 3), UPPER: known[c.AMOUNT].quantile(2 / 3)}
    )
    return ws.execute(cuts).set_index(c.SEGMENT)


def band_expr(amounts: ibis.Table, cuts: pd.DataFrame) -> ibis.Value:
    """The size band of each row of ``amounts`` (``segment``, ``amount``), in the engine."""
    band = ibis.null("string")
    for segment, (lower, upper) in cuts[[LOWER, UPPER]].iterrows():
        here = amounts[c.SEGMENT] == segment
        band = ibis.cases(
            (here & (amounts[c.AMOUNT] <= float(lower)), c.SMALLER),
            (here & (amounts[c.AMOUNT] <= float(upper)), c.MIDDLE),
            (here & amounts[c.AMOUNT].notnull(), c.LARGER),
            else_=band,
        )
    return band


def band_of(segment: pd.Series, amount: pd.Series, cuts: pd.DataFrame) -> pd.Series:
    """:func:`band_expr` in pandas, for the open pipeline.

    Notes
    -----
    A deal of segment :math:`g` with amount :math:`a` is ``smaller`` when
    :math:`a \\le q_{1/3}(g)`, ``middle`` when :math:`a \\le q_{2/3}(g)`,
    else ``larger``; :math:`q` are the quantiles (linear interpolation) of
    the amounts, as on ``as_of``, of the segment's deals created by then.
    Without an amount or a segment seen before, the band is unknown (null).
    """
    lower = segment.map(cuts[LOWER]).to_numpy(dtype=float)
    upper = segment.map(cuts[UPPER]).to_numpy(dtype=float)
    a = pd.to_numeric(amount, errors="coerce").to_numpy(dtype=float)
    band = np.select([a <= lower, a <= upper, a > upper], [c.SMALLER, c.MIDDLE, c.LARGER], None)
    return pd.Series(band, index=segment.index, dtype=object)
