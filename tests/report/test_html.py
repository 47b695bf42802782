"""Leadership HTML is safe: CRM text shows as text, contacts are redacted, nothing loads.

The executed notebook here is built by hand (no kernel): outputs carrying the
hostile strings a CRM export can contain, in each form a notebook emits them.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from report_helpers import live_markup

from analysis.present.redaction import redact
from analysis.report.html import external_references, notebook_to_html

HOSTILE = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(2)">',
    "[click me](javascript:alert(3))",
    '<a href="javascript:alert(4)">link</a>',
]
CONTACTS = "Call Jane on +44 20 7946 0958 or mail jane.doe@example.com"


def _executed_notebook(path):
    text = "\n".join(HOSTILE + [CONTACTS])
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(...)")
    cell.outputs = [
        nbformat.v4.new_output("display_data", data={"text/markdown": f"- {text}"}),
        nbformat.v4.new_output("stream", name="stdout", text=text),
        nbformat.v4.new_output(
            "display_data", data={"text/html": f"<table><tr><td>{CONTACTS}</td></tr></table>"}
        ),
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Hostile"), cell]
    nbformat.write(nb, path)
    return path


@pytest.fixture
def page(tmp_path):
    return notebook_to_html(_executed_notebook(tmp_path / "nb.ipynb"), "Hostile")


def test_no_script_handler_or_javascript_link_survives(page):
    assert live_markup(page) == []
    assert external_references(page) == []


def test_hostile_markup_is_shown_as_text(page):
    # Escaped entities in the source are the markup rendered as visible text.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "onerror" in page  # present as text ...
    assert "<img src=x" not in page  # ... never as an element


def test_contacts_are_redacted_by_default_and_kept_when_switched_off(tmp_path, page):
    assert "jane.doe@example.com" not in page and "7946" not in page
    assert "[email]" in page and "[phone]" in page
    raw = notebook_to_html(_executed_notebook(tmp_path / "raw.ipynb"), "Raw", redact=False)
    assert "jane.doe@example.com" in raw


@pytest.mark.parametrize(
    "kept",
    [
        "2026-01-01 to 2026-03-31",  # ISO dates are everywhere in reports
        "2026-11-27T00:43:45+00:00",
        "2025-07-01 00:00:00+00:00",  # a timestamp as pandas prints it
        "2026-04-01 2026-06-30",  # two dates in adjacent cells
        "deal D0001234",  # identifiers
        "won $1,234,567 (12.4% [11.5–13.3])",  # formatted figures
        "run 20261127T005348Z",
        "p = 0.000123 and 1250000 and 0.040000",  # plain numbers as pandas prints them
    ],
)
def test_redaction_leaves_dates_ids_and_figures(kept):
    assert redact(kept) == kept


def test_a_web_link_in_an_output_keeps_its_text_and_does_not_fail_the_page(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("display(...)")
    link = (
        "[pricing](https://competitor.example/pricing) and [top](#findings), "
        "[evidence](../01_pipeline_bottlenecks/01_pipeline_bottlenecks.html), "
        "[host](//competitor.example/x) and [run](javascript:alert(1))"
    )
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/markdown": link})]
    nb.cells = [nbformat.v4.new_markdown_cell("# Links"), cell]
    path = tmp_path / "links.ipynb"
    nbformat.write(nb, path)
    page = notebook_to_html(path, "Links")  # raises if anything points outside
    assert "competitor.example" not in page and "pricing" in page
    assert 'href="#findings"' in page
    # A link to another page of the run survives (the executive summary's actions use them).
    assert 'href="../01_pipeline_bottlenecks/01_pipeline_bottlenecks.html"' in page
    hrefs = set(re.findall(r'href="([^"]*)"', page)) - {"#Links"}  # the heading's anchor
    assert hrefs == {"#findings", "../01_pipeline_bottlenecks/01_pipeline_bottlenecks.html"}


def test_an_error_output_is_redacted_too(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("lookup(...)")
    message = f"no account for {CONTACTS}"
    cell.outputs = [
        nbformat.v4.new_output("error", ename="KeyError", evalue=message, traceback=[message])
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# Failed"), cell]
    path = tmp_path / "failed.ipynb"
    nbformat.write(nb, path)
    page = notebook_to_html(path, "Failed")
    assert "jane.doe@example.com" not in page and "7946 0958" not in page


def test_index_headlines_and_errors_are_redacted(tmp_path):
    from analysis.report.index import NotebookResult, index_html

    result = NotebookResult(
        name="x",
        title="X",
        ok=False,
        seconds=1.0,
        html=tmp_path / "x.html",
        executed=tmp_path / "x.ipynb",
        error=f"KeyError: {CONTACTS}",
        summary={"headline": [f"**Lead**: {CONTACTS}"]},
    )
    page = index_html("run", [result], {"run id": "run"})
    assert "jane.doe@example.com" not in page and "7946 0958" not in page
    assert "Lead: Call Jane" in page  # emphasis markers dropped, text kept


@pytest.mark.parametrize(
    ("ename", "says"),
    [
        ("InputError", "This page stopped here because of the data: the deals have no 'x'"),
        ("KeyError", "This page stopped here because of an error in the analysis (KeyError"),
    ],
)
def test_a_failed_cell_shows_its_reason_in_words_not_a_traceback(tmp_path, ename, says):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("compute()")
    message = "the deals have no 'x'"
    trace = ["Traceback (most recent call last):", 'File "x.py", line 1', message]
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=trace)]
    nb.cells = [nbformat.v4.new_markdown_cell("# Failed"), cell]
    path = tmp_path / "failed.ipynb"
    nbformat.write(nb, path)
    page = notebook_to_html(path, "Failed")
    assert says in page.replace("&#x27;", "'")
    assert "Traceback" not in page and "x.py" not in page


def test_every_page_has_a_phone_layout_and_a_print_stylesheet():
    # Issue 18, item 4: pages are read on phones and printed or saved to PDF.
    from analysis.report.html import page

    document = page("T", "<p>x</p>")
    assert "@media (max-width: 600px)" in document and "@media print" in document
    assert "@page" in document
