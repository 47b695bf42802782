"""Feedback loops to marketing: why leads are turned away and deals lost, and where.

The engine counts, per group of leads (source or campaign), the disqualified
leads by ``disqualify_reason``, the lost deals of converted leads by
``loss_reason``, and the comments on those deals by theme (the win/loss
coder, :func:`analysis.winloss.feedback.coding.coded_comments`). Here each
reason gets its Pareto share with a Wilson interval, and each (reason,
group) pair a score test of the group's share against all the other groups'
together, Holm-adjusted over the pairs: the reasons that concentrate in one
campaign are what marketing should hear.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import ibis
import numpy as np
import pandas as pd

from analysis.core.types import Correction, check_correction
from analysis.engine.workspace import Workspace
from analysis.marketing import columns as c
from analysis.marketing.lifecycle import check_leads, lead_keys
from analysis.stats.proportions import two_proportions
from analysis.stats.rates import rate_with_interval
from analysis.winloss.feedback.coding import coded_comments, load_themes

__all__ = ["MarketingFeedback", "concentration", "marketing_feedback", "reason_pareto"]

_PARETO = (c.KIND, c.REASON, c.N_COUNT, c.N_TOTAL, c.SHARE, c.CI_LOW, c.CI_HIGH,
           c.CUMULATIVE_SHARE, c.RANK)  # fmt: skip
_CONCENTRATION = (
    c.N_COUNT, c.N_TOTAL, c.SHARE, c.CI_LOW, c.CI_HIGH, c.COUNT_ELSEWHERE, c.TOTAL_ELSEWHERE,
    c.SHARE_ELSEWHERE, c.ELSEWHERE_CI_LOW, c.ELSEWHERE_CI_HIGH, c.DIFFERENCE, c.DIFF_CI_LOW,
    c.DIFF_CI_HIGH, c.P_VALUE, c.P_ADJUSTED, c.CONCENTRATED, c.NOTE,
)  # fmt: skip
_HEAR = (c.THEME, c.N_COMMENTS, c.N_MENTIONS, c.SHARE, c.CI_LOW, c.CI_HIGH, c.CONCENTRATED_IN)


@dataclass(frozen=True)
class MarketingFeedback:
    """Reasons leads are disqualified and their deals lost, and comment themes, per group.

    Attributes
    ----------
    pareto : pandas.DataFrame
        One row per (kind, group, reason) given at least once, largest first
        within (kind, group): ``kind`` (``disqualification`` or ``loss``),
        ``<by>, reason, count, total, share, ci_low, ci_high,
        cumulative_share, rank``.
    concentration : pandas.DataFrame
        One row per (kind, reason, group) for every reason of the kind and
        every group: the group's ``count, total, share, ci_low, ci_high``
        against ``count_elsewhere, total_elsewhere, share_elsewhere,
        elsewhere_ci_low, elsewhere_ci_high`` (all other groups together),
        ``difference`` with ``diff_ci_low, diff_ci_high`` (at the level that
        agrees with the adjusted p-value), ``p_value``, ``p_adjusted``,
        ``concentrated`` (share above elsewhere and ``p_adjusted < alpha``),
        ``note``. Sorted by kind, then adjusted p-value.
    themes : pandas.DataFrame
        "What marketing should hear": one row per theme over the comments on
        converted leads' deals (lost deals' comments and every rep comment):
        ``theme, comments, mentions, share, ci_low, ci_high,
        concentrated_in`` (the groups whose share is higher than elsewhere
        after adjustment, most concentrated first), largest share first.
        Empty when there is no feedback on those deals (see ``notes``).
    theme_concentration : pandas.DataFrame
        As ``concentration`` per (theme, group), with ``theme`` for ``reason``
        and ``kind`` = ``theme``.
    by : str
    alpha : float
    correction : str
    notes : tuple of str
        What could not be computed: ``no_reason_column``/``no_reasons``
        (``disqualification:`` or ``loss:`` prefixed), ``no_deals_table``,
        ``no_feedback_table``, ``no_feedback_from_leads``.
    """

    pareto: pd.DataFrame
    concentration: pd.DataFrame
    themes: pd.DataFrame
    theme_concentration: pd.DataFrame
    by: str
    alpha: float
    correction: str
    notes: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The concentration table (a copy): every reason in every group against the rest."""
        return self.concentration.copy()


def reason_pareto(counts: pd.DataFrame, key: str, alpha: float = 0.05) -> pd.DataFrame:
    """Pareto of reasons per group from ``<key>, reason, count`` rows.

    Shares of the group's total with Wilson intervals, largest first (ties by
    name), the cumulative share and the rank (1 = most frequent).
    """
    table = counts[counts[c.N_COUNT] > 0].copy()
    table[c.N_TOTAL] = table.groupby(key)[c.N_COUNT].transform("sum")
    table = table.sort_values([key, c.N_COUNT, c.REASON], ascending=[True, False, True])
    share, low, high = rate_with_interval(table[c.N_COUNT], table[c.N_TOTAL], alpha=alpha)
    table[c.SHARE], table[c.CI_LOW], table[c.CI_HIGH] = share, low, high
    table[c.CUMULATIVE_SHARE] = table.groupby(key)[c.N_COUNT].cumsum() / table[c.N_TOTAL]
    table[c.RANK] = table.groupby(key).cumcount() + 1
    return table.reset_index(drop=True)


def concentration(
    counts: pd.DataFrame,
    totals: pd.Series,
    key: str,
    item: str = c.REASON,
    alpha: float = 0.05,
    correction: Correction = "holm",
) -> pd.DataFrame:
    """Each item's share in each group against its share in all other groups together.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``<key>, <item>, count`` rows (missing pairs count 0).
    totals : pandas.Series
        The denominator of each group (indexed by group): its disqualified
        leads, lost deals or comments.
    key, item : str
        The group column and the item column (``reason`` or ``theme``).
    alpha : float
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment over every (item, group) pair with variation.

    Returns
    -------
    pandas.DataFrame
        One row per (item, group): the columns of
        :attr:`MarketingFeedback.concentration`.

    Notes
    -----
    For item :math:`r` and group :math:`g` with :math:`x_{rg}` of its
    :math:`n_g`, against :math:`x_{r,-g} = \\sum_{h \\ne g} x_{rh}` of
    :math:`n_{-g} = \\sum_{h \\ne g} n_h`: the difference
    :math:`x_{rg}/n_g - x_{r,-g}/n_{-g}`, the Miettinen–Nurminen score test and
    the interval that inverts it (:func:`analysis.stats.proportions.two_proportions`),
    both shares with Wilson intervals.
    """
    groups = list(totals.index)
    items = sorted(counts[item].unique()) if len(counts) else []
    grid = pd.MultiIndex.from_product([items, groups], names=[item, key]).to_frame(index=False)
    table = grid.merge(counts[[key, item, c.N_COUNT]], on=[item, key], how="left")
    table[c.N_COUNT] = table[c.N_COUNT].fillna(0).astype("int64")
    table[c.N_TOTAL] = table[key].map(totals).astype("int64")
    item_total = table.groupby(item)[c.N_COUNT].transform("sum")
    table[c.COUNT_ELSEWHERE] = (item_total - table[c.N_COUNT]).astype("int64")
    table[c.TOTAL_ELSEWHERE] = (int(totals.sum()) - table[c.N_TOTAL]).astype("int64")
    x1, n1 = table[c.N_COUNT].to_numpy(float), table[c.N_TOTAL].to_numpy(float)
    x0, n0 = table[c.COUNT_ELSEWHERE].to_numpy(float), table[c.TOTAL_ELSEWHERE].to_numpy(float)
    table[c.SHARE], table[c.CI_LOW], table[c.CI_HIGH] = rate_with_interval(x1, n1, alpha=alpha)
    share0, low0, high0 = rate_with_interval(x0, n0, alpha=alpha)
    table[c.SHARE_ELSEWHERE], table[c.ELSEWHERE_CI_LOW], table[c.ELSEWHERE_CI_HIGH] = (
        share0, low0, high0,
    )  # fmt: skip
    diff, low, high, p, p_adj = two_proportions(x1, n1, x0, n0, alpha, correction=correction)
    table[c.DIFFERENCE], table[c.DIFF_CI_LOW], table[c.DIFF_CI_HIGH] = diff, low, high
    table[c.P_VALUE], table[c.P_ADJUSTED] = p, p_adj
    table[c.CONCENTRATED] = (diff > 0) & (p_adj < alpha)
    varies = (x1 + x0 > 0) & (x1 + x0 < n1 + n0)
    table[c.NOTE] = np.select(
        [n0 == 0, (n1 > 0) & ~varies], [c.NOTE_NO_OTHER_GROUPS, c.NOTE_NO_VARIATION], ""
    )
    table = table.sort_values([c.P_ADJUSTED, c.DIFFERENCE, item, key],
                              ascending=[True, False, True, True], na_position="last")  # fmt: skip
    return table[[item, key, *_CONCENTRATION]].reset_index(drop=True)


def _label(t: ibis.Table, key: str) -> ibis.Value:
    col = t[key]
    return col.fill_null(c.UNKNOWN) if col.type().is_string() else col


def _disqualifications(ws: Workspace, key: str) -> tuple[pd.DataFrame | None, str]:
    t = ws.leads
    if c.DISQUALIFY_REASON not in t.columns:
        return None, c.NOTE_NO_REASON_COLUMN
    reason = t[c.DISQUALIFY_REASON]
    disqualified = (
        t[c.DISQUALIFIED_AT].notnull() if c.DISQUALIFIED_AT in t.columns else reason.notnull()
    )
    rows = t.filter(disqualified).select(
        **{key: _label(t, key), c.REASON: reason.cast("string").fill_null(c.UNKNOWN)}
    )
    return ws.execute(rows.group_by([key, c.REASON]).aggregate(**{c.N_COUNT: rows.count()})), ""


def _lead_deals(ws: Workspace, key: str) -> ibis.Table:
    """One row per converted deal id: its lead group (the first label if leads share a deal)."""
    t = ws.leads
    if c.CONVERTED_DEAL_ID not in t.columns:
        return t.select(_deal=ibis.null().cast("string"), **{key: _label(t, key)}).limit(0)
    rows = t.filter(t[c.CONVERTED_DEAL_ID].notnull()).select(
        _deal=t[c.CONVERTED_DEAL_ID].cast("string"), **{key: _label(t, key)}
    )
    return rows.group_by("_deal").aggregate(**{key: rows[key].min()})


def _losses(ws: Workspace, key: str) -> tuple[pd.DataFrame | None, str]:
    if not ws.has(c.DEALS):
        return None, c.NOTE_NO_DEALS_TABLE
    d = ws.deals
    if c.LOSS_REASON not in d.columns:
        return None, c.NOTE_NO_REASON_COLUMN
    lost = d.filter(d[c.OUTCOME] == c.LOST)
    lost = lost.select(
        _d=lost[c.DEAL_ID].cast("string"),
        **{c.REASON: lost[c.LOSS_REASON].cast("string").fill_null(c.UNKNOWN)},
    )
    leads = _lead_deals(ws, key)
    rows = leads.join(lost, leads._deal == lost._d)
    return ws.execute(rows.group_by([key, c.REASON]).aggregate(**{c.N_COUNT: rows.count()})), ""


def _theme_counts(
    ws: Workspace, key: str, themes: Mapping[str, str] | None
) -> tuple[pd.DataFrame, pd.Series, str]:
    """(group, theme, count) mentions and comments per group, or a note why there are none."""
    empty = pd.DataFrame(columns=[key, c.THEME, c.N_COUNT]), pd.Series(dtype="int64")
    if not ws.has(c.FEEDBACK):
        return *empty, c.NOTE_NO_FEEDBACK_TABLE
    if not ws.has(c.DEALS):
        return *empty, c.NOTE_NO_DEALS_TABLE
    themes = dict(themes) if themes is not None else load_themes()
    coded = coded_comments(ws, themes)
    heard = coded[c.OUTCOME] == c.LOST if c.OUTCOME in coded.columns else ibis.literal(False)
    if c.SOURCE in coded.columns:
        heard = heard | (coded[c.SOURCE] == c.FEEDBACK_REP)
    coded = coded.filter(heard.fill_null(False))
    leads = _lead_deals(ws, key)
    rows = coded.join(leads, coded[c.DEAL_ID].cast("string") == leads._deal)
    names = list(themes)
    sums = {f"_t{i}": rows[name].cast("int64").sum() for i, name in enumerate(names)}
    wide = ws.execute(rows.group_by(key).aggregate(**{c.N_COMMENTS: rows.count()}, **sums))
    if wide.empty or int(wide[c.N_COMMENTS].sum()) == 0:
        return *empty, c.NOTE_NO_FEEDBACK_FROM_LEADS
    wide = wide.rename(columns={f"_t{i}": name for i, name in enumerate(names)})
    long = wide.melt(id_vars=[key], value_vars=names, var_name=c.THEME, value_name=c.N_COUNT)
    long[c.N_COUNT] = long[c.N_COUNT].fillna(0).astype("int64")
    totals = wide.set_index(key)[c.N_COMMENTS].astype("int64").sort_index()
    return long, totals, ""


def _hear(
    counts: pd.DataFrame, totals: pd.Series, conc: pd.DataFrame, key: str, alpha: float
) -> pd.DataFrame:
    """Theme shares over all groups, and the groups each concentrates in."""
    if counts.empty:
        return pd.DataFrame({col: pd.Series(dtype=object) for col in _HEAR})
    table = counts.groupby(c.THEME, as_index=False)[c.N_COUNT].sum()
    table = table.rename(columns={c.N_COUNT: c.N_MENTIONS})
    table[c.N_COMMENTS] = int(totals.sum())
    share, low, high = rate_with_interval(table[c.N_MENTIONS], table[c.N_COMMENTS], alpha=alpha)
    table[c.SHARE], table[c.CI_LOW], table[c.CI_HIGH] = share, low, high
    hot = conc[conc[c.CONCENTRATED]].sort_values(c.DIFFERENCE, ascending=False)
    where = hot.groupby(c.THEME, sort=False)[key].agg(lambda s: ", ".join(map(str, s)))
    table[c.CONCENTRATED_IN] = [where.get(theme, "") for theme in table[c.THEME]]
    table = table.sort_values([c.SHARE, c.THEME], ascending=[False, True])
    return table[list(_HEAR)].reset_index(drop=True)


def marketing_feedback(
    ws: Workspace,
    by: str = c.CAMPAIGN,
    alpha: float = 0.05,
    correction: Correction = "holm",
    *,
    themes: Mapping[str, str] | None = None,
) -> MarketingFeedback:
    """Disqualification and loss reasons per source or campaign, and what comments say.

    Parameters
    ----------
    ws : Workspace
        With a ``leads`` table; reads ``disqualify_reason`` and
        ``disqualified_at``, ``converted_deal_id`` with the deals'
        ``outcome`` and ``loss_reason``, and the ``feedback`` table when present.
    by : str
        The lead column to group by: ``campaign`` (default), ``source``,
        ``segment`` or ``owner_id``. Blank labels form the group ``unknown``.
    alpha : float
        1 - the confidence level; the significance level of the tests.
    correction : {"holm", "fdr_bh", "bonferroni", "none"}
        Adjustment of the concentration tests, one family per table and kind
        (disqualification reasons, loss reasons, themes).
    themes : mapping of theme to pattern, optional
        The lexicon (:func:`analysis.winloss.feedback.coding.load_themes`;
        default ``config/themes.yaml``).

    Returns
    -------
    MarketingFeedback

    Raises
    ------
    MissingInput
        Without a ``leads`` table.
    ValueError
        For a ``by`` column the leads lack, a bad ``alpha`` or ``correction``.

    Notes
    -----
    *Disqualification reasons* count disqualified leads (``disqualified_at``
    set; recycled leads carry no reason), a missing reason as ``unknown``;
    *loss reasons* count the lost deals that converted leads became, by
    ``loss_reason`` (``unknown`` when blank). Within a group :math:`g` the
    share of reason :math:`r` is :math:`x_{rg}/n_g` with the Wilson interval,
    ranked into a Pareto with its cumulative share.

    *Concentration*: for each (reason, group) the share in the group against
    the share in every other group together (:func:`concentration`), the
    Miettinen–Nurminen score test of equal shares and its inverted interval
    for the difference; p-values adjusted over all pairs of the kind, each
    interval at the level that agrees with its adjusted p-value
    (:func:`analysis.stats.multitest.adjusted_levels`). A reason
    *concentrates* in a group when the difference is positive and
    :math:`\\tilde p < \\alpha`.

    *Themes*: the comments on deals that came from leads, restricted to what
    marketing should hear (every comment on a lost deal, and every rep
    comment), coded by the win/loss coder
    (:func:`analysis.winloss.feedback.coding.coded_comments`, redacted first).
    A theme's share is mentions / comments (a comment may mention several
    themes) with the Wilson interval, and its concentration per group the same
    test as the reasons'. Comments on one deal are counted as independent,
    which narrows the intervals when a deal has many.

    References
    ----------
    Miettinen, O. & Nurminen, M. (1985). Comparative analysis of two rates.
    Statistics in Medicine 4(2), 213-226.
    Holm, S. (1979). A simple sequentially rejective multiple test procedure.
    Scandinavian Journal of Statistics 6(2), 65-70.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie strictly between 0 and 1, got {alpha}.")
    check_correction(correction)
    check_leads(ws)
    if not isinstance(by, str):
        raise ValueError(f"by must name one lead column (campaign, source...), not {by!r}.")
    (key,) = lead_keys(ws, by)
    notes, paretos, concs = [], [], []
    for kind, (counts, note) in (
        (c.KIND_DISQUALIFICATION, _disqualifications(ws, key)),
        (c.KIND_LOSS, _losses(ws, key)),
    ):
        if counts is not None and counts.empty:
            note = c.NOTE_NO_REASONS
        if note:
            notes.append(note if note == c.NOTE_NO_DEALS_TABLE else f"{kind}: {note}")
            continue
        counts[c.N_COUNT] = counts[c.N_COUNT].astype("int64")
        pareto = reason_pareto(counts, key, alpha)
        totals = counts.groupby(key)[c.N_COUNT].sum().sort_index()
        conc = concentration(counts, totals, key, c.REASON, alpha, correction)
        paretos.append(pareto.assign(**{c.KIND: kind}))
        concs.append(conc.assign(**{c.KIND: kind}))
    pareto_cols = [c.KIND, key, *_PARETO[1:]]
    pareto = pd.concat(paretos, ignore_index=True)[pareto_cols] if paretos else (
        pd.DataFrame(columns=pareto_cols)
    )  # fmt: skip
    conc_cols = [c.KIND, c.REASON, key, *_CONCENTRATION]
    conc = pd.concat(concs, ignore_index=True)[conc_cols] if concs else (
        pd.DataFrame(columns=conc_cols)
    )  # fmt: skip
    counts, totals, note = _theme_counts(ws, key, themes)
    if note:
        notes.append(note)
        theme_conc = pd.DataFrame(columns=[c.KIND, c.THEME, key, *_CONCENTRATION])
    else:
        theme_conc = concentration(counts, totals, key, c.THEME, alpha, correction)
        theme_conc.insert(0, c.KIND, c.THEME)
    hear = _hear(counts, totals, theme_conc, key, alpha)
    return MarketingFeedback(pareto, conc, hear, theme_conc, key, alpha, correction, tuple(notes))
