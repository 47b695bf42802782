"""Customer and rep comments coded into themes, and the phrases that tell wins from losses.

A theme lexicon (``config/themes.yaml``: theme -> words and patterns) codes
every comment in the engine (one regular-expression match per theme and
comment, after e-mail addresses and phone numbers are redacted there);
only counts per group and theme come back. Distinguishing phrases are words
and word pairs ranked by the weighted log-odds ratio with an informative
Dirichlet prior (Monroe, Colaresi & Quinn 2008), also counted in the engine.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd

from analysis import columns as c
from analysis import config
from analysis.engine import Workspace
from analysis.errors import ConfigError
from analysis.funnel_accounting import PERIOD_TRUNCATE
from analysis.grouping import aggregate_by, as_keys, to_utc
from analysis.rates import rate_with_interval
from analysis.redact import redact_expr
from analysis.yamlconfig import check_keys, load_yaml_strict

__all__ = [
    "DistinguishingPhrases",
    "ThemeShares",
    "THEMES_FILE",
    "coded_comments",
    "distinguishing_phrases",
    "load_themes",
    "theme_shares",
    "weighted_log_odds",
]

THEMES_FILE = config.CONFIG_DIR / "themes.yaml"
_TOKEN_SPLIT = r"[^\pL\pN']+"  # RE2: anything but letters, digits and apostrophes
STOPWORDS = frozenset(
    """a an the and or but if so of to in on at by for with from as is are was were be been
    it its this that these those we our us you your they their them i me my he she his her
    not no nor too very just than then there here what which who whom when where why how
    all any both each few more most other some such only own same can will would could
    should did do does had has have having about after before into through during over
    under again further once s t don't didn't it's we're""".split()
)


def load_themes(path: str | Path | None = None) -> dict[str, str]:
    """Read a theme lexicon and return one case-insensitive regular expression per theme.

    Parameters
    ----------
    path : str or Path, optional
        YAML file with ``themes: {name: {words: [...], patterns: [...]}}``;
        default ``config/themes.yaml``.

    Returns
    -------
    dict of str to str
        Theme name -> pattern; ``words`` become whole-word alternatives,
        ``patterns`` are kept as written (RE2 syntax, run in the engine).

    Raises
    ------
    ConfigError
        Naming the file and key when the lexicon is malformed or a pattern
        does not compile.
    """
    path = Path(path) if path is not None else THEMES_FILE
    doc = load_yaml_strict(path)
    if not isinstance(doc, Mapping) or not isinstance(doc.get("themes"), Mapping):
        raise ConfigError("expected a mapping 'themes: {name: {words: [...]}}'.", file=path)
    check_keys(doc, ["themes"], "", path)
    out = {}
    for name, spec in doc["themes"].items():
        where = f"themes.{name}"
        if not isinstance(spec, Mapping):
            raise ConfigError("each theme needs 'words' and/or 'patterns' lists.", file=path,
                              column=where)  # fmt: skip
        check_keys(spec, ["words", "patterns"], where, path)
        words = [str(w) for w in spec.get("words") or []]
        patterns = [str(p) for p in spec.get("patterns") or []]
        if not words and not patterns:
            raise ConfigError("the theme lists no words or patterns.", file=path, column=where)
        parts = [r"\b" + re.escape(w.lower()).replace(r"\ ", r"\s+") + r"\b" for w in words]
        parts += patterns
        pattern = "(?i)(?:" + "|".join(parts) + ")"
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"pattern does not compile: {exc}.", file=path, column=where) from exc
        out[str(name)] = pattern
    if not out:
        raise ConfigError("the lexicon defines no themes.", file=path)
    return out


def coded_comments(
    ws: Workspace,
    themes: Mapping[str, str] | None = None,
    *,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> ibis.Table:
    """Comments joined to their deals, redacted, with one boolean column per theme.

    Columns: ``deal_id, source`` (customer/rep), ``text`` (redacted),
    ``collected_at, outcome, segment, lead_source`` and the theme names.
    Comments of deals not in ``ws.deals`` (e.g. filtered out by segment) are
    dropped; ``start``/``end`` bound ``collected_at``.
    """
    themes = themes if themes is not None else load_themes()
    if not ws.has(c.FEEDBACK):
        raise ValueError("The workspace has no feedback table; there are no comments to code.")
    fb, deals = ws.feedback, ws.deals
    if start is not None:
        fb = fb.filter(fb[c.COLLECTED_AT] >= to_utc(start))
    if end is not None:
        fb = fb.filter(fb[c.COLLECTED_AT] < to_utc(end))
    keep = [col for col in (c.OUTCOME, c.SEGMENT, c.SOURCE) if col in deals.columns]
    d = deals.select(
        deals[c.DEAL_ID].name("_d"),
        *[deals[col].name(c.LEAD_SOURCE if col == c.SOURCE else col) for col in keep],
    )
    joined = fb.join(d, fb[c.DEAL_ID] == d["_d"]).drop("_d")
    text = redact_expr(joined[c.TEXT].fill_null(""))
    coded = joined.mutate(**{c.TEXT: text})
    return coded.mutate(**{name: coded[c.TEXT].re_search(p) for name, p in themes.items()})


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
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
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
    start, end : str or Timestamp, optional
        Window of ``collected_at``.

    Returns
    -------
    ThemeShares

    Notes
    -----
    A comment may mention several themes, so shares of one group need not add
    to 1. ``share = mentions / comments`` with a Wilson interval
    (:func:`analysis.rates.rate_with_interval`); counts are taken in the
    engine, one ``regexp_matches`` per theme and comment.
    """
    themes = themes if themes is not None else load_themes()
    if period is not None and period not in PERIOD_TRUNCATE:
        raise ValueError(f'period must be None, "month" or "quarter", not {period!r}.')
    coded = coded_comments(ws, themes, start=start, end=end)
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
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
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
    start, end : str or Timestamp, optional
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
    coded = coded_comments(ws, themes or {}, start=start, end=end)
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
