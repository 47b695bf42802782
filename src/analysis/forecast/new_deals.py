"""What deals not yet created will win in the window: the run rate of create-and-win.

Part of a window's bookings comes from deals that do not exist yet when the
forecast is made (in B2C, most of the count). Their contribution is read
from the past year: in each earlier span as long as the window, the deals
created in it and won before it ended.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis.engine.durations import SECONDS_PER_DAY, seconds_between
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c

__all__ = ["NewDeals", "new_deal_draws", "new_deals_run_rate"]

LOOKBACK_DAYS = 365.0  # the run rate is read over the last year of spans
SPAN = "span"  # 1 for the span just before as_of, 2 for the one before, ...


@dataclass(frozen=True)
class NewDeals:
    """Wins by deals created within past spans as long as the window.

    Attributes
    ----------
    spans : int
        Past spans read (0: no complete span in the history).
    wins : pandas.DataFrame
        ``span, amount``: one row per past deal created in span ``k`` and won
        within its counting part (the amounts the simulation draws from).
    """

    spans: int
    wins: pd.DataFrame

    @property
    def rate(self) -> float:
        """Expected wins per window: :math:`\\lambda = N / K`."""
        return len(self.wins) / self.spans if self.spans else np.nan

    @property
    def mean(self) -> float:
        """Expected amount won per window: total amount over :math:`K`."""
        return float(self.wins[c.AMOUNT].sum()) / self.spans if self.spans else np.nan


def new_deals_run_rate(
    ws: Workspace, as_of: pd.Timestamp, horizon: float, skip: float = 0.0
) -> NewDeals:
    """The past year's create-and-win in spans of ``horizon`` days before ``as_of``.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals`` with ``created_at``, ``closed_at``, ``outcome`` and ``amount``.
    as_of : pandas.Timestamp
        The forecast's moment (UTC); nothing later is read.
    horizon : float
        Days from ``as_of`` to the end of the window.
    skip : float
        Days from ``as_of`` to the start of the window (wins before it do not count).

    Returns
    -------
    NewDeals

    Notes
    -----
    With :math:`h` = ``horizon`` and :math:`s` = ``skip``, span :math:`k`
    is :math:`[a - kh, a - (k-1)h)` before :math:`a` = ``as_of``, for
    :math:`k = 1..K`, :math:`K = \\min(\\lfloor 365 / h \\rfloor, \\lfloor
    (a - t_0)/h \\rfloor)` (at least 1 when one whole span fits), :math:`t_0`
    the first ``created_at``. A deal created in span :math:`k` counts when it
    was won at :math:`t` with :math:`a - kh + s \\le t < a - (k-1)h`, as a
    deal created in the window would have to be won inside it.
    Amounts are the deals' amounts (as booked).
    """
    deals = ws.deals
    first = ws.execute(deals[c.CREATED_AT].min())
    if first is None or pd.isna(first) or not horizon > 0:
        return NewDeals(0, pd.DataFrame({SPAN: [], c.AMOUNT: []}))
    first = pd.Timestamp(first)
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    history_days = (as_of - first) / pd.Timedelta(days=1)
    spans = int(min(LOOKBACK_DAYS // horizon, history_days // horizon))
    if spans < 1:
        return NewDeals(0, pd.DataFrame({SPAN: [], c.AMOUNT: []}))
    moment = ibis.literal(as_of, type="timestamp('UTC')")
    won = deals.filter(
        (deals[c.OUTCOME] == c.WON) & (deals[c.CLOSED_AT].cast("timestamp('UTC')") < moment)
    )
    day = SECONDS_PER_DAY
    created_before = seconds_between(ws, won[c.CREATED_AT], moment) / day
    closed_before = seconds_between(ws, won[c.CLOSED_AT].cast("timestamp('UTC')"), moment) / day
    rows = won.select(_created=created_before, _closed=closed_before, **{c.AMOUNT: won[c.AMOUNT]})
    rows = rows.filter((rows["_created"] > 0) & (rows["_created"] <= spans * horizon))
    span = (rows["_created"] / horizon).ceil()
    rows = rows.mutate(**{SPAN: span})
    counted = (rows["_closed"] > (rows[SPAN] - 1) * horizon) & (
        rows["_closed"] <= rows[SPAN] * horizon - skip
    )
    rows = rows.filter(counted).select(SPAN, c.AMOUNT)
    wins = ws.execute(rows.order_by([SPAN, c.AMOUNT]))
    wins = wins.astype({SPAN: "int64", c.AMOUNT: "float64"}).fillna({c.AMOUNT: 0.0})
    return NewDeals(spans, wins.reset_index(drop=True))


def new_deal_draws(new: NewDeals, simulations: int, rng: np.random.Generator) -> np.ndarray:
    """Simulated amounts won by deals not yet created: a compound Poisson sum.

    Notes
    -----
    :math:`N \\sim \\text{Poisson}(\\lambda)` wins, :math:`\\lambda` the
    mean wins per past span, each with an amount drawn with replacement from
    the past wins' amounts; its mean is the run rate of amount per span. The
    past year stands for the window: a trend in volume (growth, a season) is
    not followed.
    """
    if not new.spans or new.wins.empty:
        return np.zeros(int(simulations))
    counts = rng.poisson(new.rate, size=int(simulations))
    amounts = new.wins[c.AMOUNT].to_numpy(dtype=float)
    picks = rng.choice(amounts, size=int(counts.sum()), replace=True)
    owner = np.repeat(np.arange(int(simulations)), counts)
    return np.bincount(owner, weights=picks, minlength=int(simulations))
