"""Customer and rep comments coded into themes: the share of comments mentioning each theme.

Comments are coded in the engine against a theme lexicon
(:mod:`analysis.winloss.feedback.coding`: ``config/themes.yaml``, e-mail addresses and
phone numbers redacted first); only counts per group and theme come back.
The phrases that tell wins from losses (weighted log-odds with an informative
Dirichlet prior, Monroe, Colaresi & Quinn 2008) live in
:mod:`analysis.winloss.feedback.phrases`; :mod:`analysis.winloss` exports both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.core.types import WindowLike
from analysis.engine.grouping import aggregate_by, as_keys
from analysis.engine.reach import PERIOD_TRUNCATE
from analysis.engine.workspace import Workspace
from analysis.stats.rates import rate_with_interval
from analysis.winloss import columns as c
from analysis.winloss.feedback.coding import coded_comments, load_themes

__all__ = ["ThemeShares", "theme_shares"]


@dataclass(frozen=True)
class ThemeShares:
    """Share of comments mentioning each theme, per group, with Wilson intervals.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (groups, theme): ``theme, comments, mentions, share,
        ci_low, ci_high, note`` (``no_comments`` where a group has none).
    by : tuple of str
    themes : tuple of str
    alpha : float
    """

    table: pd.DataFrame
    by: tuple[str, ...]
    themes: tuple[str, ...]
    alpha: float

    def to_frame(self) -> pd.DataFrame:
        """The share table as a DataFrame (a copy)."""
        return self.table.copy()


def theme_shares(
    ws: Workspace,
    themes: Mapping[str, str] | None = None,
    by: str | Sequence[str] | None = c.OUTCOME,
    *,
    period: str | None = None,
    alpha: float = 0.05,
    window: WindowLike | None = None,
) -> ThemeShares:
    """Share of comments that mention each theme, by outcome, segment, source or period.

    Parameters
    ----------
    ws : Workspace
    themes : mapping of theme to pattern, optional
        From :func:`load_themes` (default lexicon when None).
    by : str or list of str, optional
        Any of ``outcome``, ``segment``, ``lead_source`` (the deal's channel),
        ``source`` (customer or rep).
    period : {"month", "quarter"}, optional
        Also split by period of ``collected_at``.
    alpha : float
    window : Window or (start, end), optional
        Window of ``collected_at``.

    Returns
    -------
    ThemeShares

    Notes
    -----
    A comment may mention several themes, so shares of one group need not add
    to 1. ``share = mentions / comments`` with a Wilson interval
    (:func:`analysis.stats.rates.rate_with_interval`); counts are taken in the
    engine, one ``regexp_matches`` per theme and comment.
    """
    themes = themes if themes is not None else load_themes()
    if period is not None and period not in PERIOD_TRUNCATE:
        raise ValueError(f'period must be None, "month" or "quarter", not {period!r}.')
    coded = coded_comments(ws, themes, window=window)
    keys = as_keys(by)
    missing = [k for k in keys if k not in coded.columns]
    if missing:
        raise ValueError(
            f"Cannot split comments by {missing[0]!r}; use any of outcome, segment, "
            "lead_source, source."
        )
    if period is not None:
        coded = coded.mutate(**{c.PERIOD: coded[c.COLLECTED_AT].truncate(PERIOD_TRUNCATE[period])})
        keys = [*keys, c.PERIOD]
    metrics = {f"_t{i}": coded[name].cast("int64").sum() for i, name in enumerate(themes)}
    wide = ws.execute(aggregate_by(coded, keys, **{c.N_COMMENTS: coded.count()}, **metrics))
    names = list(themes)
    if wide.empty:
        table = pd.DataFrame({c.THEME: names, c.N_COMMENTS: 0, c.N_MENTIONS: 0})
        for key in keys:
            table[key] = None
    else:
        wide = wide.rename(columns={f"_t{i}": name for i, name in enumerate(names)})
        table = wide.melt(
            id_vars=[*keys, c.N_COMMENTS], value_vars=names, var_name=c.THEME,
            value_name=c.N_MENTIONS,
        )  # fmt: skip
    table[c.N_MENTIONS] = table[c.N_MENTIONS].fillna(0).astype("int64")
    table[c.N_COMMENTS] = table[c.N_COMMENTS].astype("int64")
    share, low, high = rate_with_interval(table[c.N_MENTIONS], table[c.N_COMMENTS], alpha=alpha)
    table[c.SHARE], table[c.CI_LOW], table[c.CI_HIGH] = share, low, high
    table[c.NOTE] = np.where(table[c.N_COMMENTS] == 0, c.NOTE_NO_COMMENTS, "")
    order = [*keys, c.THEME, c.N_COMMENTS, c.N_MENTIONS, c.SHARE, c.CI_LOW, c.CI_HIGH, c.NOTE]
    table = table[order].sort_values([*keys, c.THEME]).reset_index(drop=True)
    return ThemeShares(table, tuple(keys), tuple(names), alpha)
