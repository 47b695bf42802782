"""Make free text safe to show: redact e-mail addresses and phone numbers, escape markup.

Comments from customers and reps carry personal data and, from a hostile or
careless source, markup. Every comment is redacted before it is shown,
counted into phrases or written to a file, and every piece of text that
reaches HTML or Markdown is escaped so that ``<script>`` shows as text.

The two patterns are valid both for Python's ``re`` and for RE2 (DuckDB), so
the same redaction runs in the engine (:func:`redact_expr`) and in pandas
(:func:`redact`).
"""

from __future__ import annotations

import html
import re

import ibis

__all__ = [
    "EMAIL_PATTERN",
    "EMAIL_TOKEN",
    "PHONE_PATTERN",
    "PHONE_TOKEN",
    "escape_html",
    "escape_markdown",
    "redact",
    "redact_expr",
]

EMAIL_PATTERN = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
# A phone number: 7 or more digits, single spaces, dots or dashes between them,
# an optional leading + and area code in parentheses. In the engine
# (redact_expr, RE2 has no lookarounds) longer digit runs such as order numbers
# and dates in comments are redacted too: over-redaction is the safe side there.
PHONE_PATTERN = r"\+?(?:\(\d+\)[\s.-]?)?\d(?:[\s.-]?\d){6,}"
EMAIL_TOKEN = "[email]"
PHONE_TOKEN = "[phone]"
# In Python the same patterns get word boundaries, so that identifiers such as
# D0001234 survive, and dates, timestamps and plain numbers (1250000, 0.000123)
# are kept: redacted text is shown to readers, who need the figures.
_EMAIL = re.compile(rf"(?<![\w.%+-]){EMAIL_PATTERN}")
_PHONE = re.compile(rf"(?<![\w#.,]){PHONE_PATTERN}(?![\w,]|\.\d)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PLAIN_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_URL_SCHEME = re.compile(r"(?i)\b(javascript|vbscript|data)\s*:")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def redact(text: object) -> object:
    """Replace e-mail addresses by ``[email]`` and phone numbers by ``[phone]``.

    Non-strings (None, NaN) are returned unchanged.

    Examples
    --------
    >>> redact("Mail jane.doe@example.com or call +1 555 0123.")
    'Mail [email] or call [phone].'
    """
    if not isinstance(text, str):
        return text
    return _PHONE.sub(_phone_token, _EMAIL.sub(EMAIL_TOKEN, text))


def _phone_token(match: re.Match) -> str:
    """``[phone]``, unless the digits are a date or timestamp or a plain number."""
    found = match.group(0)
    if _ISO_DATE.match(match.string, match.start()) or _PLAIN_NUMBER.fullmatch(found):
        return found
    return PHONE_TOKEN


def redact_expr(text: ibis.StringValue) -> ibis.StringValue:
    """:func:`redact` as an ibis expression, so redaction runs in the engine."""
    return text.re_replace(EMAIL_PATTERN, EMAIL_TOKEN).re_replace(PHONE_PATTERN, PHONE_TOKEN)


def escape_html(text: object) -> str:
    """Redacted text with ``& < > " '`` escaped, so markup shows as text in HTML."""
    return "" if not isinstance(text, str) else html.escape(redact(text), quote=True)


def escape_markdown(text: object) -> str:
    """Redacted text safe inside Markdown rendered to HTML.

    HTML is escaped (raw HTML passes through Markdown renderers), Markdown
    syntax characters are backslash-escaped (no links or images can form) and
    ``javascript:``-style URL schemes are broken with a zero-width space.
    """
    if not isinstance(text, str):
        return ""
    # Quotes stay: they are harmless in text, and an escaped one (&#x27;) would have its
    # '#' backslash-escaped below and show as "&#x27;" on the page.
    safe = html.escape(redact(text), quote=False)
    safe = _URL_SCHEME.sub(lambda m: f"{m.group(1)}\u200b:", safe)
    return _MARKDOWN_SPECIAL.sub(r"\\\1", safe)
