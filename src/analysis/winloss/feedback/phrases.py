"""Distinguishing phrases: the words and word pairs that tell two groups of comments apart.

Words and word pairs (without stopwords) are counted per group in the engine
from the redacted comments of :func:`analysis.winloss.feedback.coding.coded_comments`
and ranked by the weighted log-odds ratio with an informative Dirichlet prior
(Monroe, Colaresi & Quinn 2008).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd

from analysis.core.types import WindowLike
from analysis.engine.workspace import Workspace
from analysis.winloss import columns as c
from analysis.winloss.feedback.coding import coded_comments

__all__ = ["STOPWORDS", "DistinguishingPhrases", "distinguishing_phrases", "weighted_log_odds"]

_TOKEN_SPLIT = r"[^\pL\pN']+"  # RE2: anything but letters, digits and apostrophes
STOPWORDS = frozenset(
    """a an the and or but if so of to in on at by for with from as is are was were be been
    it its this that these those we our us you your they their them i me my he she his her
    not no nor too very just than then there here what which who whom when where why how
    all any both each few more most other some such only own same can will would could
    should did do does had has have having about after before into through during over
    under again further once s t don't didn't it's we're""".split()
)


def weighted_log_odds(
    counts_a: pd.Series, counts_b: pd.Series, prior: pd.Series | None = None
) -> pd.DataFrame:
    """Weighted log-odds ratio of each word between two corpora, with a Dirichlet prior.

    Parameters
    ----------
    counts_a, counts_b : pandas.Series
        Word counts of corpus a and b, indexed by word (missing = 0).
    prior : pandas.Series, optional
        Prior pseudo-counts :math:`\\alpha_w` per word; default the pooled
        counts of both corpora (an informative prior at the corpus scale).

    Returns
    -------
    pandas.DataFrame
        Indexed by word: ``count_a, count_b, log_odds`` (a vs b) and ``z``.

    Notes
    -----
    Monroe et al. (2008), eqs. 16 and 18-20: with :math:`n_i = \\sum_w y_w^i`
    and :math:`\\alpha_0 = \\sum_w \\alpha_w`,

    .. math:: \\delta_w = \\log\\frac{y_w^a + \\alpha_w}{n_a + \\alpha_0 - y_w^a - \\alpha_w}
              - \\log\\frac{y_w^b + \\alpha_w}{n_b + \\alpha_0 - y_w^b - \\alpha_w},\\qquad
              \\sigma^2_w \\approx \\frac{1}{y_w^a + \\alpha_w} + \\frac{1}{y_w^b + \\alpha_w}

    and :math:`z_w = \\delta_w / \\sigma_w`. The prior shrinks rare words
    toward no difference, so frequent and distinctive words rank first.

    References
    ----------
    Monroe, B. L., Colaresi, M. P. & Quinn, K. M. (2008). Fightin' words:
    lexical feature selection and evaluation for identifying the content of
    political conflict. Political Analysis 16(4), 372-403.
    """
    words = counts_a.index.union(counts_b.index)
    ya = counts_a.reindex(words, fill_value=0).astype(float)
    yb = counts_b.reindex(words, fill_value=0).astype(float)
    alpha = (ya + yb) if prior is None else prior.reindex(words, fill_value=0).astype(float)
    if (alpha <= 0).any():
        raise ValueError("Every word needs a positive prior pseudo-count.")
    na, nb, a0 = ya.sum(), yb.sum(), alpha.sum()
    delta = np.log((ya + alpha) / (na + a0 - ya - alpha)) - np.log(
        (yb + alpha) / (nb + a0 - yb - alpha)
    )
    var = 1.0 / (ya + alpha) + 1.0 / (yb + alpha)
    return pd.DataFrame(
        {"count_a": ya, "count_b": yb, c.LOG_ODDS: delta, c.Z_SCORE: delta / np.sqrt(var)},
        index=words,
    )


@dataclass(frozen=True)
class DistinguishingPhrases:
    """Words and word pairs that most distinguish two groups of comments.

    Attributes
    ----------
    table : pandas.DataFrame
        ``phrase, count_<a>, count_<b>, log_odds, z`` sorted by ``z``
        (positive: typical of ``a``); the ``top`` phrases of each side.
    group, a, b : str
    warnings : tuple of str
    """

    table: pd.DataFrame
    group: str
    a: str
    b: str
    warnings: tuple[str, ...] = field(default=())

    def to_frame(self) -> pd.DataFrame:
        """The phrase table as a DataFrame (a copy)."""
        return self.table.copy()


def _phrase_counts(coded: ibis.Table, group: str, bigrams: bool) -> ibis.Table:
    """Counts of words (and word pairs without stopwords) per group, in the engine."""
    numbered = coded.mutate(_cid=ibis.row_number().over(order_by=[c.DEAL_ID, c.COLLECTED_AT]))
    tokens = numbered.select(
        "_cid", group, _tok=numbered[c.TEXT].lower().re_split(_TOKEN_SPLIT)
    ).unnest("_tok", offset="_pos")
    tokens = tokens.filter(tokens._tok.length() > 1)
    stop = list(STOPWORDS)
    words = tokens.filter(~tokens._tok.isin(stop)).select(group, _phrase=tokens._tok)
    if not bigrams:
        union = words
    else:
        right = tokens.select(_cid2="_cid", _pos2="_pos", _tok2="_tok")
        pairs = tokens.join(right, (tokens._cid == right._cid2) & (tokens._pos + 1 == right._pos2))
        pairs = pairs.filter(~pairs._tok.isin(stop) & ~pairs._tok2.isin(stop))
        union = words.union(pairs.select(group, _phrase=pairs._tok.concat(" ", pairs._tok2)))
    return union.group_by([group, "_phrase"]).aggregate(_n=lambda t: t.count())


def distinguishing_phrases(
    ws: Workspace,
    group: str = c.OUTCOME,
    a: str = c.WON,
    b: str = c.LOST,
    *,
    themes: Mapping[str, str] | None = None,
    top: int = 15,
    min_count: int = 5,
    bigrams: bool = True,
    window: WindowLike | None = None,
) -> DistinguishingPhrases:
    """The phrases most typical of comments in group ``a`` vs ``b`` (default won vs lost).

    Parameters
    ----------
    ws : Workspace
    group : str
        Column of :func:`coded_comments` that defines the two sides.
    a, b : str
        Its two values compared.
    themes : mapping, optional
        Unused for counting; accepted so notebooks pass one lexicon around.
    top : int
        Phrases kept on each side.
    min_count : int
        Phrases used fewer times in both groups together are ignored.
    bigrams : bool
        Count word pairs (without stopwords) as well as single words.
    window : Window or (start, end), optional
        Window of ``collected_at``.

    Returns
    -------
    DistinguishingPhrases

    Notes
    -----
    Text is redacted, lower-cased and split on non-letters in the engine;
    stopwords are dropped; the counts per side go to
    :func:`weighted_log_odds` with the pooled counts as informative prior.
    """
    coded = coded_comments(ws, themes or {}, window=window)
    if group not in coded.columns:
        raise ValueError(f"Cannot compare comments by {group!r}; it is not a comment column.")
    coded = coded.filter(coded[group].isin([a, b]))
    counts = ws.execute(_phrase_counts(coded, group, bigrams))
    side_a = counts[counts[group] == a].set_index("_phrase")["_n"]
    side_b = counts[counts[group] == b].set_index("_phrase")["_n"]
    cols = [c.PHRASE, f"count_{a}", f"count_{b}", c.LOG_ODDS, c.Z_SCORE]
    if side_a.empty or side_b.empty:
        message = f"No comments with {group} = {a!r} or {b!r}; no phrases to compare."
        return DistinguishingPhrases(pd.DataFrame(columns=cols), group, a, b, (message,))
    scores = weighted_log_odds(side_a, side_b)
    scores = scores[scores["count_a"] + scores["count_b"] >= min_count]
    scores = scores.rename(columns={"count_a": f"count_{a}", "count_b": f"count_{b}"})
    scores = scores.rename_axis(c.PHRASE).reset_index()
    ranked = scores.sort_values([c.Z_SCORE, c.PHRASE], ascending=[False, True])
    table = pd.concat([ranked.head(top), ranked.tail(top).iloc[::-1]]).drop_duplicates(c.PHRASE)
    table = table.sort_values(c.Z_SCORE, ascending=False).reset_index(drop=True)
    for col in (f"count_{a}", f"count_{b}"):
        table[col] = table[col].astype("int64")
    return DistinguishingPhrases(table[cols], group, a, b)
