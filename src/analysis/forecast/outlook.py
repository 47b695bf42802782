"""What the open pipeline will book in a window: a win probability per deal, then the sum.

Each deal open on ``as_of`` gets the probability of being won in the window
from the history of its stage known on ``as_of`` (won and lost as competing
outcomes, open deals censored, so slow deals are not counted as lost); the
amount booked is the sum of amount x Bernoulli(p) over the deals, simulated
with a seed. The CRM's own answers — the reps' probabilities and a stage's
historical win rate — are reported beside it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from analysis.core.errors import MissingInput
from analysis.core.types import TimeLike, to_utc
from analysis.engine.durations import rounded_days
from analysis.engine.journey import stage_position
from analysis.engine.workspace import Workspace
from analysis.forecast import columns as c
from analysis.forecast.new_deals import NewDeals, new_deal_draws, new_deals_run_rate
from analysis.forecast.size_bands import amounts_as_of, band_expr, band_of, size_cuts
from analysis.forecast.snapshot import PIPELINE_HISTORY, pipeline_as_of
from analysis.pipeline.cycle.durations import CAUSE, CAUSE_LOST, CAUSE_OPEN, CAUSE_WON

__all__ = ["WindowForecast", "forecast_window", "stage_history", "window_win_probability"]

SUMMARY_COLUMNS = (
    c.GROUP, c.OPEN_DEALS, c.EXPECTED_COUNT, c.MEAN, c.PI_LOW, c.MEDIAN, c.PI_HIGH,
    c.REP_WEIGHTED, c.STAGE_WEIGHTED,
)  # fmt: skip
DEAL_COLUMNS = (
    c.DEAL_ID, c.SEGMENT, c.SIZE_BAND, c.STAGE, c.AMOUNT, c.DAYS_IN_STAGE, c.P_WIN, c.N_AT_RISK,
    c.ESTIMATED_FROM, c.PROBABILITY, c.EXPECTED_CLOSE_AT, c.STAGE_WIN_RATE,
)  # fmt: skip
_CHUNK = 500  # simulations drawn at a time (bounds the memory of the draws)


@dataclass(frozen=True)
class WindowForecast:
    """The amount the open pipeline will book in a window, and the CRM's answers beside it.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per group and a last row ``total``: ``group, open_deals,
        expected_count, mean, pi_low, median, pi_high, rep_weighted,
        stage_weighted`` (``pi_low``/``pi_high`` are the ``alpha/2`` and
        ``1 - alpha/2`` quantiles: P10 and P90 at ``alpha=0.2``).
    deals : pandas.DataFrame
        One row per open deal: ``deal_id, segment, stage, amount,
        days_in_stage, p_win, n_at_risk, estimated_from, probability,
        expected_close_at, stage_win_rate`` (and the ``by`` column).
    start, end, as_of : pandas.Timestamp
        The window ``[start, end)`` and the moment the pipeline and its history are read.
    alpha : float
    simulations, seed : int
    notes : tuple of str
        What the figures leave out or could not estimate.
    draws : numpy.ndarray
        The simulated totals (``simulations`` of them), for chances of reaching an amount.
    """

    table: pd.DataFrame
    deals: pd.DataFrame
    start: pd.Timestamp
    end: pd.Timestamp
    as_of: pd.Timestamp
    alpha: float
    simulations: int
    seed: int
    notes: tuple[str, ...] = ()
    draws: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def to_frame(self) -> pd.DataFrame:
        """The per-group table (a copy)."""
        return self.table.copy()

    def chance_of_reaching(self, amount: float) -> float:
        """Share of the simulated totals at or above ``amount``."""
        return float((self.draws >= amount).mean()) if self.draws.size else np.nan


def window_win_probability(
    stay: np.ndarray,
    days: np.ndarray,
    cause: np.ndarray,
    count: np.ndarray,
    elapsed: np.ndarray,
    horizon: float,
    skip: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Probability of a win between ``skip`` and ``horizon`` days from now, given ``elapsed``.

    Parameters
    ----------
    stay, days, cause, count : arrays
        The history of one stage, one row per entry (or per identical
        entries): days the entry stayed in the stage (to the next stage, the
        close or the censoring), days from the entry to the close (or to the
        censoring), cause ``0`` open (censored), ``1`` won, ``2`` lost, and
        how many entries the row stands for.
    elapsed : array of float
        Days the deals to forecast have spent in the stage so far.
    horizon : float
        Days from now to the end of the window.
    skip : float
        Days from now to the start of the window (0 when it has started).

    Returns
    -------
    p_win : array of float
        NaN where no past entrant stayed in the stage longer than ``elapsed``.
    n_at_risk : array of float
        Past entrants that stayed in the stage longer than ``elapsed`` days.

    Notes
    -----
    A landmark estimate (van Houwelingen 2007): for a deal :math:`d` days
    into the stage, the reference set is the past entrants still in the
    stage after :math:`d` days (stay :math:`> d`); on their times to close
    :math:`\\hat F_{won}` is the Aalen–Johansen cumulative incidence of a win
    (:func:`analysis.stats.survival.aalen_johansen`; losses compete, open
    deals are censored), and

    .. math:: p = \\hat F_{won}(d + h) - \\hat F_{won}(d + s).

    Every deal of the reference set is open at :math:`d`, so no division by
    :math:`\\hat S(d)` is needed. Times are counted in whole days (a stay
    of :math:`x` days is :math:`\\lceil x \\rceil`, a close on day
    :math:`\\lceil t \\rceil`, a deal :math:`d` days in reads the landmark
    :math:`\\lfloor d \\rfloor` and the curve at :math:`d + s` and
    :math:`d + h` rounded to the nearest day, or at the landmark itself when
    :math:`s = 0`), so one pass over the history,
    adding entrants as the landmark falls, serves every deal of a stage.
    Conditioning on *still in the stage*, not merely still open, matters: entrants open after :math:`d` days are
    mostly those that advanced, and they win more often than deals stuck
    in the stage.

    References
    ----------
    van Houwelingen, H. C. (2007). Dynamic prediction by landmarking in
    event history analysis. Scandinavian Journal of Statistics 34, 70–85.
    Pintilie, M. (2006). Competing Risks: A Practical Perspective, §4.2. Wiley.
    """
    stay, days = np.asarray(stay, dtype=float), np.asarray(days, dtype=float)
    cause, count = np.asarray(cause, dtype=np.int64), np.asarray(count, dtype=float)
    elapsed = np.asarray(elapsed, dtype=float)
    p, n_at_risk = np.full(elapsed.size, np.nan), np.zeros(elapsed.size)
    if not elapsed.size or not stay.size:
        return p, n_at_risk
    # Whole days: an entry stayed more than d days when ceil(stay) > d; events fall on the
    # day ceil(days); a deal d.5 days in reads the landmark of day d.
    left = np.ceil(stay - _TINY).astype(np.int64)
    day = np.maximum(np.ceil(days - _TINY).astype(np.int64), 0)
    mark = np.floor(elapsed + _TINY).astype(np.int64)
    last = int(day.max()) + 1
    kinds = (CAUSE_WON, CAUSE_LOST, CAUSE_OPEN)
    events = {k: np.zeros(last) for k in kinds}  # the landmark set's entries per day, by cause
    order = np.argsort(-left, kind="stable")  # entries join the set as the landmark falls
    left, day, cause, count = left[order], day[order], cause[order], count[order]
    joined = 0
    for d in np.unique(mark)[::-1]:
        upto = joined + int(np.searchsorted(-left[joined:], -d, side="left"))
        for k in kinds:
            sel = slice(joined, upto)
            is_k = cause[sel] == k
            np.add.at(events[k], day[sel][is_k], count[sel][is_k])
        joined = upto
        at = mark == d
        n_at_risk[at] = count[:joined].sum()
        if not n_at_risk[at][0]:
            continue
        cif = _win_incidence(events[CAUSE_WON], events[CAUSE_LOST], events[CAUSE_OPEN])
        # The window's ends from each deal's own time in the stage, to the nearest day; a
        # window open now starts at the landmark, by which no entrant of the set had closed.
        cif = np.r_[cif, cif[-1]]
        lo = np.rint(elapsed[at] + skip) if skip > 0 else np.full(int(at.sum()), float(d))
        lo = np.clip(lo, 0, last).astype(np.int64)
        hi = np.clip(np.rint(elapsed[at] + horizon), 0, last).astype(np.int64)
        p[at] = cif[hi] - cif[lo]
    return p, n_at_risk


_TINY = 1e-9  # rounding slack: a stay of exactly 5 days is 5, not 6


def _win_incidence(won: np.ndarray, lost: np.ndarray, censored: np.ndarray) -> np.ndarray:
    """Aalen–Johansen cumulative incidence of a win on a grid of days, at each day's end.

    With :math:`n_t` entries at risk on day :math:`t` (closing or censored
    on day :math:`t` or later), :math:`S(t) = \\prod_{u \\le t} (1 - (w_u + l_u) / n_u)`
    and :math:`F(t) = \\sum_{u \\le t} S(u - 1) w_u / n_u`
    (:func:`analysis.stats.survival.aalen_johansen` on whole days).
    """
    total = won + lost + censored
    at_risk = np.cumsum(total[::-1])[::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard_all = np.where(at_risk > 0, (won + lost) / at_risk, 0.0)
        hazard_won = np.where(at_risk > 0, won / at_risk, 0.0)
    survival_before = np.r_[1.0, np.cumprod(1.0 - hazard_all)[:-1]]
    return np.cumsum(survival_before * hazard_won)


def _stage_entries(ws: Workspace, moment: ibis.Value) -> ibis.Table:
    """Every stage entry at or before ``moment``, as the snapshot reads stages.

    The stage changes of ``deal_changes``; for deals without any, their timed stage events.
    """
    parts = []
    if ws.has(c.DEAL_CHANGES):
        ch = ws.deal_changes
        ch = ch.filter(ch[c.FIELD] == c.STAGE)
        entered = {c.STAGE: ch[c.NEW_VALUE], c.ENTERED_AT: ch[c.CHANGED_AT]}
        parts.append(ch.select(c.DEAL_ID, **entered))
    if ws.has(c.STAGE_EVENTS):
        ev = ws.stage_events
        ev = ev.filter(ev[c.ENTERED_AT].notnull()).select(c.DEAL_ID, c.STAGE, c.ENTERED_AT)
        if parts:
            ev = ev.anti_join(parts[0], c.DEAL_ID)
        parts.append(ev)
    if not parts:
        raise MissingInput(
            "The forecast",
            "a stage history (the deal_changes or stage_events table)",
            "export the deals' stage history (e.g. OpportunityHistory) with the deals",
        )
    entries = parts[0] if len(parts) == 1 else parts[0].union(parts[1], distinct=False)
    entries = entries.mutate(**{c.ENTERED_AT: entries[c.ENTERED_AT].cast("timestamp('UTC')")})
    return entries.filter(entries[c.ENTERED_AT] <= moment)


def _whole_days(ws: Workspace, start: ibis.Value, end: ibis.Value) -> ibis.Value:
    """Days from start to end rounded up to whole days (the grid of the landmark estimate)."""
    return (rounded_days(ws, start, end) - _TINY).ceil().cast("float64")


def stage_history(ws: Workspace, as_of: TimeLike, cuts: pd.DataFrame | None = None) -> pd.DataFrame:
    """The history of every open stage as known on ``as_of``, reduced to counts.

    Parameters
    ----------
    ws : Workspace
    as_of : str or pandas.Timestamp
    cuts : pandas.DataFrame, optional
        The segments' size cuts on ``as_of``
        (:func:`~analysis.forecast.size_bands.size_cuts`); computed when not given.

    Returns
    -------
    pandas.DataFrame
        ``segment, size_band, stage, stay_days, days, cause, count``: per
        entry of an open stage at or before ``as_of``, the deal's size band
        (its amount on ``as_of``), the days it stayed (to the next stage
        entered or the close by ``as_of``, else to ``as_of``), and the days
        to the deal's close when it was won (cause 1) or lost (2) by
        ``as_of``, else to ``as_of`` (0, censored); days rounded up to
        whole days, as :func:`window_win_probability` reads them.
    """
    at = to_utc(as_of)
    moment = ibis.literal(at, type="timestamp('UTC')")
    entries = _stage_entries(ws, moment)
    entries = entries.mutate(_order=stage_position(ws, entries[c.STAGE]))
    window = ibis.window(
        group_by=entries[c.DEAL_ID], order_by=[entries[c.ENTERED_AT], entries["_order"]]
    )
    entries = entries.mutate(_next=entries[c.ENTERED_AT].lead().over(window))
    entries = entries.filter(entries[c.STAGE].isin(list(ws.pipeline.stages)))
    amounts = amounts_as_of(ws, moment)
    cuts = size_cuts(ws, amounts) if cuts is None else cuts
    amounts = amounts.select(c.DEAL_ID, c.SEGMENT, **{c.SIZE_BAND: band_expr(amounts, cuts)})
    deals = ws.deals.select(c.DEAL_ID, c.OUTCOME, c.CLOSED_AT).join(amounts, c.DEAL_ID)
    rows = entries.join(deals, c.DEAL_ID)
    closed_at = rows[c.CLOSED_AT].cast("timestamp('UTC')")
    closed = (closed_at <= moment).fill_null(False)
    cause = ibis.cases(
        (closed & (rows[c.OUTCOME] == c.WON), CAUSE_WON),
        (closed & (rows[c.OUTCOME] == c.LOST), CAUSE_LOST),
        else_=CAUSE_OPEN,
    )
    ended = (cause == CAUSE_OPEN).ifelse(moment, closed_at)
    left = ibis.least(rows["_next"].fill_null(ended), ended)
    rows = rows.select(
        c.SEGMENT,
        c.SIZE_BAND,
        c.STAGE,
        **{
            c.STAY_DAYS: _whole_days(ws, rows[c.ENTERED_AT], left),
            c.DAYS: _whole_days(ws, rows[c.ENTERED_AT], ended),
            CAUSE: cause,
        },
    )
    rows = rows.filter(rows[c.DAYS] >= 0)
    keys = [c.SEGMENT, c.SIZE_BAND, c.STAGE, c.STAY_DAYS, c.DAYS, CAUSE]
    counts = rows.group_by(keys).aggregate(**{c.COUNT: rows.count()})
    return ws.execute(counts.order_by(keys))


def _check(start, end, as_of, alpha, simulations) -> None:
    if not start < end:
        raise ValueError(f"The window must end after it starts; got {start} to {end}.")
    if not as_of < end:
        raise ValueError(f"as_of ({as_of}) must be before the end of the window ({end}).")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    if int(simulations) < 1:
        raise ValueError(f"simulations must be at least 1, got {simulations}.")


def _deal_count(n: int) -> str:
    return "1 deal" if n == 1 else f"{n} deals"


# Where a deal's p_win comes from, finest first: (keys of the history, label, fewest entrants).
LEVELS = (
    ((c.SEGMENT, c.SIZE_BAND, c.STAGE), c.FROM_SIZE, c.MIN_AT_RISK),
    ((c.SEGMENT, c.STAGE), c.FROM_SEGMENT_STAGE, 1),
    ((c.STAGE,), c.FROM_STAGE, 1),
)


def _win_probabilities(deals: pd.DataFrame, history: pd.DataFrame, horizon, skip) -> pd.DataFrame:
    """``p_win, n_at_risk, estimated_from, stage_win_rate`` for each open deal.

    Each deal takes the finest level of :data:`LEVELS` whose history has at
    least that level's number of entrants still in the stage after as long.
    """
    deals = deals.assign(
        **{c.P_WIN: np.nan, c.N_AT_RISK: 0.0, c.ESTIMATED_FROM: None, c.STAGE_WIN_RATE: np.nan}
    )
    elapsed = deals[c.DAYS_IN_STAGE].fillna(0.0).to_numpy()
    for keys, label, fewest in LEVELS if len(history) else ():
        for key, rows in history.groupby(list(keys)):
            idx = deals[c.P_WIN].isna().to_numpy().copy()
            for col, value in zip(keys, key, strict=True):
                idx &= (deals[col] == value).to_numpy()
            if not idx.any():
                continue
            p, n = window_win_probability(
                rows[c.STAY_DAYS], rows[c.DAYS], rows[CAUSE], rows[c.COUNT], elapsed[idx],
                horizon, skip,
            )  # fmt: skip
            enough = n >= fewest
            where = np.flatnonzero(idx)[enough]
            deals.loc[deals.index[where], c.P_WIN] = p[enough]
            deals.loc[deals.index[where], c.N_AT_RISK] = n[enough]
            deals.loc[deals.index[where], c.ESTIMATED_FROM] = label
    for stage, rows in history.groupby(c.STAGE) if len(history) else []:
        won = rows.loc[rows[CAUSE] == CAUSE_WON, c.COUNT].sum()
        closed = rows.loc[rows[CAUSE] != CAUSE_OPEN, c.COUNT].sum()
        deals.loc[deals[c.STAGE] == stage, c.STAGE_WIN_RATE] = won / closed if closed else np.nan
    return deals


def booked_draws(
    p: np.ndarray,
    amount: np.ndarray,
    masks: dict,
    simulations: int,
    rng: np.random.Generator,
    error: tuple[np.ndarray, np.ndarray] | None = None,
) -> dict[object, np.ndarray]:
    """Simulated amounts booked per mask: :math:`\\sum_i a_i B_i`, :math:`B_i \\sim` Bernoulli(:math:`p_i`).

    ``masks`` maps a label to the deals it sums; ``simulations`` draws each.
    With ``error = (se, cell)``, each draw first moves every deal's chance by
    :math:`z_{cell(i)} \\, se_i` with one :math:`z \\sim N(0, 1)` per cell
    of history (clipped to [0, 1]): the estimate's own error, shared by the
    deals that read the same history.
    """
    sums = {g: [] for g in masks}
    left = int(simulations)
    while left:
        m = min(_CHUNK, left)
        chance = p
        if error is not None:
            se, cell = error
            z = rng.standard_normal((m, int(cell.max()) + 1 if cell.size else 0))
            chance = np.clip(p + z[:, cell] * se, 0.0, 1.0)
        booked = (rng.random((m, p.size)) < chance) * amount
        for g, mask in masks.items():
            sums[g].append(booked[:, mask].sum(axis=1))
        left -= m
    return {g: np.concatenate(v) if v else np.zeros(0) for g, v in sums.items()}


def estimate_error(deals: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each deal's standard error of ``p_win`` and the cell of history it was read from.

    Notes
    -----
    :math:`se_i = \\sqrt{(p_i (1 - p_i) + 1 / (4 n_i)) / n_i}`, :math:`n_i`
    the past entrants still in the stage after as long (``n_at_risk``): the
    binomial error of a share of :math:`n_i`, widened as Wilson's interval is
    so that a share of 0 or 1 from few entrants still carries an error; it
    understates an Aalen–Johansen estimate's error when many of them are
    censored. The cell is the history the
    estimate came from (:data:`LEVELS`): deals of a cell share one error.
    """
    p = deals[c.P_WIN].fillna(0.0).clip(0.0, 1.0).to_numpy()
    n = deals[c.N_AT_RISK].to_numpy(dtype=float)
    safe_n = np.where(n > 0, n, 1.0)
    se = np.where(n > 0, np.sqrt((p * (1 - p) + 1 / (4 * safe_n)) / safe_n), 0.0)
    keys = {label: cols for cols, label, _ in LEVELS}
    cell_key = [
        (label, *(row[col] for col in keys[label])) if label in keys else None
        for label, row in zip(deals[c.ESTIMATED_FROM], deals.to_dict("records"), strict=True)
    ]
    cell, _ = pd.factorize(pd.Series(cell_key, dtype=object))
    return se, cell.astype(np.int64) + 1  # 0: no history (its se is 0)


def forecast_window(
    ws: Workspace,
    start: TimeLike,
    end: TimeLike,
    *,
    as_of: TimeLike | None = None,
    by: str | None = c.SEGMENT,
    alpha: float = 0.2,
    simulations: int = 10_000,
    seed: int = 0,
    new_deals: bool = True,
) -> WindowForecast:
    """Forecast the amount the open pipeline will win in the window ``[start, end)``.

    Parameters
    ----------
    ws : Workspace
        Needs ``deals`` and a stage history (``deal_changes`` or ``stage_events``).
    start, end : str or pandas.Timestamp
        The window (naive values are read as UTC).
    as_of : str or pandas.Timestamp, optional
        When the pipeline and the history are read; default ``start``.
    by : str or None
        Column of the open pipeline to report by (``segment``, ``owner_id``,
        ``pipeline``, ``stage``); None for the total only.
    alpha : float
        The amount's interval runs from the ``alpha/2`` to the ``1 - alpha/2``
        quantile (P10 to P90 at 0.2).
    simulations : int
        Monte Carlo draws of the pipeline's outcomes.
    seed : int
        Seed of ``numpy.random.default_rng`` for the draws.
    new_deals : bool
        Add what deals not yet created on ``as_of`` will win (the run rate).

    Returns
    -------
    WindowForecast

    Notes
    -----
    The pipeline is :func:`~analysis.forecast.snapshot.pipeline_as_of` at
    :math:`a` = ``as_of``. For each open stage, the history is every entry
    of the stage at or before :math:`a` (:func:`stage_history`): days from
    the entry to the deal's close if it was won or lost by :math:`a`, else
    censored at :math:`a`. A deal open for :math:`d` days in its stage is
    won in the window with the conditional cumulative incidence of
    :func:`window_win_probability`, with :math:`h = end - a` and
    :math:`s = \\max(start - a, 0)`, read from the history of its segment
    and size third (:mod:`~analysis.forecast.size_bands`) when at least
    :data:`~analysis.forecast.columns.MIN_AT_RISK` of its entrants were
    still in the stage after :math:`d` days, else of its segment, else of
    the stage over all segments (:data:`LEVELS`, ``estimated_from``);
    failing all, :math:`p` is unknown and counted as 0 (``notes`` says how
    many).

    Deals not yet created add the compound Poisson run rate of
    :func:`~analysis.forecast.new_deals.new_deals_run_rate` (row ``new
    deals``; ``new_deals=False`` leaves it out); when :math:`a` is inside
    the window, what was won from ``start`` to :math:`a` is added as booked
    (row ``won so far``).

    Nothing recorded after :math:`a` is read except as
    :func:`~analysis.forecast.snapshot.pipeline_as_of` reads it (the old
    value of a field's first later change) and the deals' segment, which
    has no history.

    Assumptions: the time from entering a stage to the close depends on the
    deal only through its segment, size third and stage (not the rep or the
    stages it passed through), it does not drift over time, and a deal
    still in its stage after :math:`d` days behaves like the past entrants
    still in that stage after :math:`d` days (the landmark set). The deals
    are independent given :math:`p`; the estimate's own error enters the
    simulation as one normal shift per cell of history
    (:func:`estimate_error`), an approximation that understates it when
    much of the history is censored.

    ``mean`` is :math:`\\sum_i a_i p_i` plus the new deals' run rate and
    what was won so far (exact), ``expected_count`` :math:`\\sum_i p_i`
    plus their counts; ``pi_low``, ``median`` and ``pi_high`` are quantiles
    of the simulated total over ``simulations`` draws. ``rep_weighted`` and
    ``stage_weighted`` are the CRM's answers (:func:`crm_weighted`): the
    amounts of the deals expected to close in the window times the rep's
    probability, or times the share won among the stage's past entrants
    closed by :math:`a`.
    """
    PIPELINE_HISTORY.check(ws)
    start, end = to_utc(start), to_utc(end)
    at = start if as_of is None else to_utc(as_of)
    _check(start, end, at, alpha, simulations)
    snapshot = pipeline_as_of(ws, at)
    deals = snapshot.table
    if by is not None and by not in deals.columns:
        raise ValueError(f"Cannot group by {by!r}; choose from {', '.join(deals.columns)}.")
    if c.SEGMENT not in deals.columns:
        deals = deals.assign(**{c.SEGMENT: "all"})
    day = pd.Timedelta(days=1)
    horizon, skip = (end - at) / day, max((start - at) / day, 0.0)
    moment = ibis.literal(at, type="timestamp('UTC')")
    cuts = size_cuts(ws, amounts_as_of(ws, moment))
    deals = deals.assign(**{c.SIZE_BAND: band_of(deals[c.SEGMENT], deals[c.AMOUNT], cuts)})
    deals = _win_probabilities(deals, stage_history(ws, at, cuts), horizon, skip)

    p = deals[c.P_WIN].fillna(0.0).clip(0.0, 1.0).to_numpy()
    amount = deals[c.AMOUNT].fillna(0.0).to_numpy(dtype=float)
    labels = deals[by].to_numpy(dtype=object) if by else np.full(len(deals), c.TOTAL, object)
    groups = sorted(pd.unique(labels[pd.notna(labels)])) if by else []
    masks = {g: labels == g for g in groups} | {c.TOTAL: np.ones(len(deals), bool)}
    rng = np.random.default_rng(seed)
    draws = booked_draws(p, amount, masks, simulations, rng, estimate_error(deals))
    new = new_deals_run_rate(ws, at, horizon, skip) if new_deals else None
    # Rows beside the open pipeline: (expected count, mean, what the CRM's answers add).
    extra = {}
    if new is not None and new.spans:
        draws[c.NEW_DEALS] = new_deal_draws(new, simulations, rng)
        extra[c.NEW_DEALS] = (new.rate, new.mean, 0.0)  # the CRM forecasts no future deal
    if at > start:
        count, booked = won_so_far(ws, start, at)
        draws[c.WON_SO_FAR] = np.full(int(simulations), booked)
        extra[c.WON_SO_FAR] = (count, booked, booked)  # a CRM's period forecast counts it too
    for g in extra:
        draws[c.TOTAL] = draws[c.TOTAL] + draws[g]
    rep, stage = crm_weighted(deals, start, end)
    rows = []
    for g in [*groups, *extra, c.TOTAL]:
        low, median, high = np.quantile(draws[g], [alpha / 2, 0.5, 1 - alpha / 2])
        row = {c.GROUP: g, c.PI_LOW: low, c.MEDIAN: median, c.PI_HIGH: high}
        if g in extra:
            count, mean, crm = extra[g]
            row |= {c.OPEN_DEALS: 0, c.EXPECTED_COUNT: count, c.MEAN: mean}
            row |= {c.REP_WEIGHTED: crm, c.STAGE_WEIGHTED: crm}
        else:
            mask = masks[g]
            row |= {
                c.OPEN_DEALS: int(mask.sum()), c.EXPECTED_COUNT: p[mask].sum(),
                c.MEAN: (amount * p)[mask].sum(), c.REP_WEIGHTED: rep[mask].sum(),
                c.STAGE_WEIGHTED: stage[mask].sum(),
            }  # fmt: skip
        if g == c.TOTAL:
            for count, mean, crm in extra.values():
                row[c.EXPECTED_COUNT] += count
                row[c.MEAN] += mean
                row[c.REP_WEIGHTED] += crm
                row[c.STAGE_WEIGHTED] += crm
        rows.append(row)
    table = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    keep = [col for col in (*DEAL_COLUMNS, by) if col in deals.columns]
    per_deal = deals[list(dict.fromkeys(keep))].reset_index(drop=True)
    return WindowForecast(
        table, per_deal, start, end, at, alpha, int(simulations), seed,
        snapshot.notes + _notes(deals, start, at, new, horizon), draws[c.TOTAL],
    )  # fmt: skip


def won_so_far(ws: Workspace, start: pd.Timestamp, at: pd.Timestamp) -> tuple[int, float]:
    """Deals won, and their amount, from the window's start to ``at`` (inclusive)."""
    deals = ws.deals
    closed = deals[c.CLOSED_AT].cast("timestamp('UTC')")
    low = ibis.literal(start, type="timestamp('UTC')")
    high = ibis.literal(at, type="timestamp('UTC')")
    won = deals.filter((deals[c.OUTCOME] == c.WON) & (closed >= low) & (closed <= high))
    row = ws.execute(won.aggregate(_n=won.count(), _amount=won[c.AMOUNT].sum()))
    return int(row["_n"].iloc[0]), _or_zero(row["_amount"].iloc[0])


def _or_zero(value: float) -> float:
    return 0.0 if pd.isna(value) else float(value)


def due_in_window(deals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> np.ndarray:
    """Whether each open deal's expected close (as on ``as_of``) falls in ``[start, end)``."""
    if c.EXPECTED_CLOSE_AT not in deals.columns:
        return np.zeros(len(deals), bool)
    expected = deals[c.EXPECTED_CLOSE_AT]
    return ((expected >= start) & (expected < end)).fillna(False).to_numpy(dtype=bool)


def due_pipeline(deals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> float:
    """The amount of the open deals expected to close in ``[start, end)``."""
    amount = deals[c.AMOUNT].fillna(0.0).to_numpy(dtype=float)
    return float(amount[due_in_window(deals, start, end)].sum())


def crm_probabilities(
    deals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Each open deal's chance of a win in the window by the CRM's two methods.

    Notes
    -----
    Both count only deals whose expected close (as on ``as_of``) falls in
    the window, :math:`[start, end)`, as a CRM's forecast of a period does
    (an overdue deal belongs to an earlier period); other deals get 0. A
    deal due in the window gets :math:`q_i`, its probability (0 when
    missing), by the rep method and :math:`r_{s(i)}`, its stage's
    historical win rate (``stage_win_rate``), by the stage method. When no
    deal has a probability the rep method is unknown (NaN), and when no
    deal has an expected close both are: a CRM could not answer either.
    """
    due = due_in_window(deals, start, end)
    probability = deals[c.PROBABILITY] if c.PROBABILITY in deals.columns else np.nan
    q = pd.Series(probability, index=deals.index, dtype=float)
    r = deals[c.STAGE_WIN_RATE].fillna(0.0).to_numpy(dtype=float)
    known_close = c.EXPECTED_CLOSE_AT in deals.columns and deals[c.EXPECTED_CLOSE_AT].notna().any()
    rep = np.where(due, q.fillna(0.0).to_numpy(), 0.0)
    stage = np.where(due, r, 0.0)
    if len(deals) and not known_close:  # no deal says when it will close: no CRM forecast
        return np.full(len(deals), np.nan), np.full(len(deals), np.nan)
    if len(deals) and q.isna().all():  # the export has no probabilities
        rep = np.full(len(deals), np.nan)
    return rep, stage


def crm_weighted(
    deals: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> tuple[np.ndarray, np.ndarray]:
    """Each open deal's amount times its :func:`crm_probabilities` (rep, stage)."""
    amount = deals[c.AMOUNT].fillna(0.0).to_numpy(dtype=float)
    q, r = crm_probabilities(deals, start, end)
    return amount * q, amount * r


def _notes(
    deals: pd.DataFrame, start: pd.Timestamp, at: pd.Timestamp, new: NewDeals | None, horizon
) -> tuple[str, ...]:
    when = f"{at:%Y-%m-%d %H:%M} UTC"
    if new is None:
        notes = [c.NOTE_NEW_DEALS.format(as_of=when)]
    elif not new.spans:
        notes = [c.NOTE_NO_RUN_RATE.format(as_of=when, days=f"{horizon:.0f}")]
    else:
        spans = "1 span" if new.spans == 1 else f"{new.spans} spans"
        notes = [c.NOTE_RUN_RATE.format(as_of=when, spans=spans, days=f"{horizon:.0f}")]
    if at > start:
        notes.append(c.NOTE_AS_OF_IN_WINDOW.format(as_of=when, start=f"{start:%Y-%m-%d}"))
    counts = (
        (deals[c.DAYS_IN_STAGE].isna().sum(), c.NOTE_NO_STAGE_ENTRY),
        ((deals[c.ESTIMATED_FROM] == c.FROM_STAGE).sum(), c.NOTE_POOLED_STAGE),
        (deals[c.P_WIN].isna().sum(), c.NOTE_NO_HISTORY),
    )
    notes += [note.format(deals=_deal_count(int(n))) for n, note in counts if n]
    return tuple(notes)
