"""Helpers shared by the report tests: tiny notebooks and a scan for live markup."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import nbformat

ACTIVE_TAGS = {"script", "iframe", "object", "embed"}


def write_notebook(
    folder: Path, name: str, params: str, body: str = "print('ran')", title: str | None = None
) -> Path:
    """A notebook: a markdown title, a ``parameters`` cell of ``params``, one code cell."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {title or name}"),
        nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


class _Elements(HTMLParser):
    """Every start tag with its attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def live_markup(page: str) -> list[str]:
    """Elements or attributes in ``page`` that could run code: scripts, frames,
    event handlers and ``javascript`` links. Empty for a safe page."""
    parser = _Elements()
    parser.feed(page)
    found = [f"<{t}>" for t, _ in parser.tags if t in ACTIVE_TAGS]
    found += [f"{t} {k}=" for t, a in parser.tags for k in a if k.lower().startswith("on")]
    for tag, attrs in parser.tags:
        for key in ("href", "src"):
            if (attrs.get(key) or "").strip().lower().startswith("javascript"):
                found.append(f"{tag} {key}={attrs[key]}")
    return found
