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
footer { margin-top: 48px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule); }
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


def notebook_body_html(notebook_path: str | Path) -> str:
    """Render an executed notebook's markdown and outputs (no code) as an HTML fragment."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook_path), as_version=4)
    _markdown_outputs_as_text(nb)
    exporter = HTMLExporter(
        template_name="basic",
        exclude_input=True,
        exclude_input_prompt=True,
        exclude_output_prompt=True,
    )
    # Parameter cells are code: hidden with the rest of the input. Drop the
    # papermill banner of injected parameters from the outputs too.
    body, _ = exporter.from_notebook_node(nb)
    return body


def notebook_to_html(
    notebook_path: str | Path, title: str, *, meta: str = "", footer: str = ""
) -> str:
    """A complete, self-contained HTML page of an executed notebook without code cells.

    Raises
    ------
    RuntimeError
        If the rendered page would reference an external resource; a
        leadership page must render with the network off.
    """
    document = page(
        title, notebook_body_html(notebook_path), meta=meta, footer=footer, heading=False
    )
    found = external_references(document)
    if found:
        raise RuntimeError(
            f"The HTML of {notebook_path} references external resources ({found[:3]}); "
            "leadership pages must be self-contained."
        )
    return document
