"""Comments joined to their deals, redacted, and coded against a theme lexicon.

A theme lexicon (``config/themes.yaml``: theme -> words and patterns) becomes
one case-insensitive regular expression per theme (:func:`load_themes`);
:func:`coded_comments` matches every comment against each in the engine, after
e-mail addresses and phone numbers are redacted there. Theme shares
(:mod:`analysis.winloss.feedback.themes`) and distinguishing phrases (:mod:`analysis.winloss.feedback.phrases`)
both start from these coded comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import ibis

from analysis.core import paths
from analysis.core.errors import ConfigError
from analysis.core.types import WindowLike, as_window
from analysis.core.yamlconfig import check_keys, load_yaml_strict
from analysis.engine.needs import FEEDBACK
from analysis.engine.workspace import Workspace
from analysis.present.redaction import redact_expr
from analysis.winloss import columns as c

__all__ = ["coded_comments", "load_themes"]


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
    path = Path(path) if path is not None else paths.THEMES_FILE
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
    window: WindowLike | None = None,
) -> ibis.Table:
    """Comments joined to their deals, redacted, with one boolean column per theme.

    Columns: ``deal_id, source`` (customer/rep), ``text`` (redacted),
    ``collected_at, outcome, segment, lead_source`` and the theme names.
    Comments of deals not in ``ws.deals`` (e.g. filtered out by segment) are
    dropped; ``start``/``end`` bound ``collected_at``.
    """
    themes = themes if themes is not None else load_themes()
    FEEDBACK.check(ws)
    fb, deals = ws.feedback, ws.deals
    window = as_window(window)
    if window is not None and window.start is not None:
        fb = fb.filter(fb[c.COLLECTED_AT] >= window.start)
    if window is not None and window.end is not None:
        fb = fb.filter(fb[c.COLLECTED_AT] < window.end)
    keep = [col for col in (c.OUTCOME, c.SEGMENT, c.SOURCE) if col in deals.columns]
    d = deals.select(
        deals[c.DEAL_ID].name("_d"),
        *[deals[col].name(c.LEAD_SOURCE if col == c.SOURCE else col) for col in keep],
    )
    joined = fb.join(d, fb[c.DEAL_ID] == d["_d"]).drop("_d")
    text = redact_expr(joined[c.TEXT].fill_null(""))
    coded = joined.mutate(**{c.TEXT: text})
    return coded.mutate(**{name: coded[c.TEXT].re_search(p) for name, p in themes.items()})
