"""Self-contained, code-free HTML for leadership.

nbconvert's ``basic`` template renders only the cell outputs (no page CSS,
no MathJax or require.js from a CDN); we wrap them in one small embedded
theme so each page opens offline, can be mailed around and looks the same
across reports. Images are already inline (base64 PNG) in executed notebooks.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

THEME_CSS = """
:root { --ink:#1f2933; --muted:#52606d; --rule:#d9e2ec; --accent:#2457a6; --bad:#b42318; --ok:#1a7f37; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.55 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color:var(--ink); background:#fff; }
main { max-width: 980px; margin: 0 auto; padding: 28px 24px 64px; }
header.page { border-bottom: 3px solid var(--accent); margin-bottom: 24px; padding-bottom: 8px; }
header.page .meta { color: var(--muted); font-size: 13px; }
h1 { font-size: 28px; margin: 0 0 6px; } h2 { font-size: 21px; margin-top: 32px; }
h3 { font-size: 17px; }
a { color: var(--accent); }
table { border-collapse: collapse; margin: 12px 0; font-size: 14px; display: block; overflow-x: auto; max-width: 100%; }
th, td { border-bottom: 1px solid var(--rule); padding: 4px 10px; text-align: right; }
th { background: #f5f7fa; } td:first-child, th:first-child { text-align: left; }
img { max-width: 100%; height: auto; }
pre { background: #f5f7fa; padding: 10px; overflow-x: auto; font-size: 13px; }
.jp-RenderedText pre, .output_text pre { background: none; padding: 0; }
table.about td { text-align: left; }
.status-ok { color: var(--ok); font-weight: 600; } .status-failed { color: var(--bad); font-weight: 600; }
.jp-InputPrompt, .jp-OutputPrompt, .prompt, .anchor-link { display: none; }
.ansi-red-fg { color: var(--bad); }
table.scorecard td { vertical-align: middle; }
.scorecard .better { color: var(--ok); font-weight: 600; } .scorecard .worse { color: var(--bad); font-weight: 600; }
.scorecard .noise, .scorecard .interval { color: var(--muted); } .scorecard .interval { font-size: 90%; }
img.sparkline { display: block; max-width: none; }
footer { margin-top: 48px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); }
@media (max-width: 600px) {
  body { font-size: 15px; } main { padding: 16px 12px 40px; }
  h1 { font-size: 22px; } h2 { font-size: 18px; } table { font-size: 12px; }
}
@media print {
  @page { margin: 14mm; }
  body { font-size: 10.5pt; } main { max-width: none; padding: 0; }
  table { display: table; overflow: visible; font-size: 7pt; }
  th, td { padding: 2px 3px; }
  th { overflow-wrap: anywhere; } /* paper cannot scroll: headings wrap mid-word, figures never */
  table:has(tr > :nth-child(16)) { font-size: 6pt; } /* 16 columns or more */
  tr, img, figure { break-inside: avoid; } h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""

_EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["'](?:https?:)?//|@import\s+(?:url\()?["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def page(
    title: str, body_html: str, *, meta: str = "", footer: str = "", heading: bool = True
) -> str:
    """Wrap body HTML in the workbench theme as a complete, self-contained page.

    ``heading=False`` omits the page's own ``<h1>`` when the body starts with one.
    """
    h1 = f"<h1>{html.escape(title)}</h1>" if heading else ""
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title><style>{THEME_CSS}</style></head><body><main>"
        f'<header class="page">{h1}'
        f'<div class="meta">{meta}</div></header>{body_html}'
        f"<footer>{footer}</footer></main></body></html>\n"
    )


def external_references(document: str) -> list[str]:
    """Attributes or imports in ``document`` that would load something from outside it."""
    return [m.group(0) for m in _EXTERNAL.finditer(document)]


_TEXT_MIMES = ("text/plain", "text/markdown", "text/html")


def _redact_outputs(nb) -> None:
    """Redact contacts in every text output of an executed notebook.

    A safety net behind the analysis modules, which redact free text where
    they read it: whatever reaches a page is scanned again with
    :func:`analysis.present.redaction.redact`, which keeps dates, identifiers and figures.
    """
    from analysis.present.redaction import redact  # imports pandas and ibis: only when rendering

    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = redact("".join(output.get("text", "")))
            if output.get("output_type") == "error":  # a failed cell's message quotes data
                output["evalue"] = redact(str(output.get("evalue", "")))
                output["traceback"] = [redact(t) for t in output.get("traceback", [])]
            data = output.get("data", {})
            for mime in _TEXT_MIMES:
                if mime in data:
                    text = data[mime]
                    data[mime] = redact("".join(text) if isinstance(text, list) else text)


# Errors raised for unusable data (analysis.core.errors): their message is for the reader.
_DATA_ERRORS = frozenset({"InputError", "ConfigError", "MissingInput"})


def _errors_in_words(nb) -> None:
    """Replace each failed cell's traceback by one sentence a reader can act on.

    A page that stopped for a data reason says what is wrong with the data;
    any other error says the page stopped and where the details are. No
    traceback reaches a leadership page.
    """
    import nbformat

    for cell in nb.cells:
        outputs = cell.get("outputs", [])
        for i, output in enumerate(outputs):
            if output.get("output_type") != "error":
                continue
            name, message = output.get("ename", ""), str(output.get("evalue", ""))
            if name in _DATA_ERRORS:
                text = f"This page stopped here because of the data: {message}"
            else:
                text = (
                    f"This page stopped here because of an error in the analysis ({name}: "
                    f"{message}). The run log and the executed notebook kept beside this "
                    "page have the details."
                )
            outputs[i] = nbformat.v4.new_output(
                "display_data",
                data={
                    "text/html": f'<p class="page-error"><strong>{html.escape(text)}</strong></p>'
                },
            )


# What a report page may contain: text structure, tables and embedded images.
_SAFE_TAGS = frozenset(
    "a abbr b blockquote br caption code div em h1 h2 h3 h4 h5 h6 hr i img li ol p pre "
    "small span strong sub sup table tbody td tfoot th thead tr ul".split()
)
_SAFE_ATTRIBUTES = frozenset({"class", "id", "title", "colspan", "rowspan", "alt"})
_STYLE_BLOCK = re.compile(r"<style\b[^>]*>.*?</style\s*>", re.IGNORECASE | re.DOTALL)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    if name in _SAFE_ATTRIBUTES:
        return True
    if tag == "a" and name == "href":
        # Links within the page or the run only: a page must point nowhere
        # outside itself (a web link would also fail the self-containment
        # check and with it the whole report). The link text stays.
        first = value.split("/", 1)[0]
        return value.startswith("#") or (":" not in first and not value.startswith("//"))
    return tag == "img" and name == "src" and value.startswith("data:image/")


def _sanitize_fragment(fragment: str) -> str:
    """Keep only safe elements and attributes in rendered notebook HTML.

    The last line of defence for leadership pages: whatever an output
    contained (a CRM comment pasted into a table, a ``<script>`` from a loss
    reason), only text structure, tables, links within the run and embedded
    images remain; event handlers, scripts, frames, ``javascript:`` links and
    style blocks are removed (the page theme styles the tables).
    """
    import bleach

    cleaner = bleach.Cleaner(
        tags=_SAFE_TAGS,
        attributes=_allowed_attribute,
        # bleach reads a relative URL as http(s); _allowed_attribute already refuses
        # every href with a scheme or host, so this admits links within the run only.
        protocols=["data", "http", "https"],
        strip=True,
        strip_comments=True,
    )
    return cleaner.clean(_STYLE_BLOCK.sub("", fragment))


def _markdown_outputs_as_text(nb) -> None:
    """Make raw HTML inside generated Markdown outputs show as text.

    Findings are Markdown built from CRM data (competitor names, comments,
    stage labels); markdown renderers pass raw HTML through, so a ``<script>``
    in the data would run in the leader's browser. Authored markdown cells
    are left alone.
    """
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/markdown" in data:
                text = data["text/markdown"]
                text = "".join(text) if isinstance(text, list) else text
                data["text/markdown"] = text.replace("<", "&lt;").replace(">", "&gt;")


def _notebook_body_html(notebook_path: str | Path, *, redact: bool = True) -> str:
    """Render an executed notebook's markdown and outputs (no code) as an HTML fragment.

    ``redact`` (default on) replaces e-mail addresses and phone numbers in
    every text output; raw HTML inside generated Markdown always shows as text.
    """
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook_path), as_version=4)
    if redact:
        _redact_outputs(nb)
    _markdown_outputs_as_text(nb)
    _errors_in_words(nb)
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    # Parameter cells are code: hidden with the rest of the input. Drop the
    # papermill banner of injected parameters from the outputs too.
    body, _ = exporter.from_notebook_node(nb)
    return _sanitize_fragment(body)


def notebook_to_html(
    notebook_path: str | Path, title: str, *, meta: str = "", footer: str = "", redact: bool = True
) -> str:
    """A complete, self-contained HTML page of an executed notebook without code cells.

    Raises
    ------
    RuntimeError
        If the rendered page would reference an external resource; a
        leadership page must render with the network off.
    """
    document = page(
        title,
        _notebook_body_html(notebook_path, redact=redact),
        meta=meta,
        footer=footer,
        heading=False,
    )
    found = external_references(document)
    if found:
        raise RuntimeError(
            f"The HTML of {notebook_path} references external resources ({found[:3]}); "
            "leadership pages must be self-contained."
        )
    return document
