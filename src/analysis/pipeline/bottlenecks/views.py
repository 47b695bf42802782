"""The three tables a reader needs from a bottleneck ranking: drops, improvements, not yet readable.

One ranked table mixed them: an improvement could rank first in a table called
bottlenecks while a planted drop, flagged immature, ranked last as if it were
weaker. Here each kind of row has its own table, with a name that says what it
is, and a row that cannot be read yet says what would make it readable instead
of being ranked beneath the others.
"""

from __future__ import annotations

import pandas as pd

from analysis.core import columns as c
from analysis.core.columns import DIFFERENCE, P_ADJUSTED
from analysis.pipeline.bottlenecks.horizon import HORIZON_DAYS
from analysis.pipeline.bottlenecks.rank import (
    FOLLOWED_SHARE_CURRENT,
    MAX_OPEN_SHARE,
    MIN_FOLLOWED_SHARE,
    OPEN_SHARE_CURRENT,
    REVENUE_IMPACT,
    SIGNIFICANT_DROP,
)

READABLE_WHEN = "readable_when"  # what would make an immature row readable
READABLE_FROM = "readable_from"  # see analysis.pipeline.bottlenecks.find


def _readable(ranking: pd.DataFrame) -> pd.Series:
    return ranking[c.MATURE].fillna(False).astype(bool) & ranking[DIFFERENCE].notna()


def drops(ranking: pd.DataFrame) -> pd.DataFrame:
    """Readable transitions that converted worse than in the baseline: the bottlenecks.

    Significant drops (adjusted p below alpha) first, by the revenue they
    cost (largest first), then the other drops by adjusted p-value.
    """
    rows = ranking[_readable(ranking) & (ranking[DIFFERENCE] < 0)]
    significant = rows[SIGNIFICANT_DROP].fillna(False).astype(bool)
    first = rows[significant].sort_values(REVENUE_IMPACT, ascending=False, kind="stable")
    rest = rows[~significant].sort_values(P_ADJUSTED, na_position="last", kind="stable")
    return pd.concat([first, rest]).reset_index(drop=True)


def improvements(ranking: pd.DataFrame) -> pd.DataFrame:
    """Readable transitions that converted at least as well as in the baseline, by adjusted p."""
    rows = ranking[_readable(ranking) & (ranking[DIFFERENCE] >= 0)]
    return rows.sort_values(P_ADJUSTED, na_position="last", kind="stable").reset_index(drop=True)


def not_yet_readable(ranking: pd.DataFrame) -> pd.DataFrame:
    """Transitions the current window cannot answer yet, each with what would make it readable.

    Parameters
    ----------
    ranking : pandas.DataFrame
        :class:`analysis.pipeline.bottlenecks.find.Bottlenecks` table.

    Returns
    -------
    pandas.DataFrame
        The immature rows (and rows without a difference), in stage order,
        with ``readable_when``: for too few entrants followed for the horizon,
        the day half of them will have been (``readable_from``, from their own
        entry times); for too many still undecided at the horizon, that the
        stage decides slowly; else what the row lacks (its note).
    """
    rows = ranking[~_readable(ranking)].copy()
    when = [_readable_when(row) for _, row in rows.iterrows()]
    rows[READABLE_WHEN] = pd.Series(when, index=rows.index, dtype=object)
    return rows.reset_index(drop=True)


def _readable_when(row: pd.Series) -> str:
    horizon = row[HORIZON_DAYS]
    if pd.isna(horizon):
        return "needs decided deals in the baseline to set the follow-up horizon"
    followed = row[FOLLOWED_SHARE_CURRENT]
    if pd.notna(followed) and followed < MIN_FOLLOWED_SHARE and pd.notna(row.get(READABLE_FROM)):
        return (
            f"from {pd.Timestamp(row[READABLE_FROM]):%Y-%m-%d}, when half of this window's "
            f"entrants will have been followed for {horizon:.0f} days"
        )
    if pd.notna(row[OPEN_SHARE_CURRENT]) and row[OPEN_SHARE_CURRENT] > MAX_OPEN_SHARE:
        return (
            f"{row[OPEN_SHARE_CURRENT]:.0%} of the followed deals are still undecided after "
            f"{horizon:.0f} days; the stage decides slowly: read it later or with a longer "
            "horizon (horizon_days)"
        )
    notes = [n for n in str(row[c.NOTE]).split("; ") if n and n != c.NOTE_IMMATURE]
    lacking = f" ({', '.join(notes)})" if notes else ""
    return f"needs decided deals in both windows{lacking}"
