"""A report run on CRM data carrying hostile text: it shows as text, contacts never appear.

The sample CRM is altered the way a careless or hostile export would be:
comments with markup, script links, e-mail addresses and phone numbers, and a
competitor name that is an HTML element. The win/loss report shows comments,
phrases and competitor names, so it is the page to check.
"""

from __future__ import annotations

import json

import pytest
from report_helpers import live_markup

from analysis.core import columns as c
from analysis.core import paths
from analysis.report import run_report
from analysis.sample import generate_sample

WIN_LOSS = "03_win_loss"
EMAIL, PHONE = "jane.doe@example.com", "+44 20 7946 0958"
HOSTILE = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "[see](javascript:alert(3)) "
    f"mail {EMAIL} or call {PHONE}"
)
COMPETITOR = "<img src=x onerror=alert(4)>"


@pytest.fixture(scope="module")
def hostile_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    crm = generate_sample(1500, seed=7)
    data = root / "processed"
    data.mkdir()
    tables = {}
    for name, frame in crm.tables.items():
        frame = frame.copy()
        if name == c.FEEDBACK:
            frame[c.TEXT] = frame[c.TEXT].astype(str) + " " + HOSTILE
        if name == c.DEALS:
            has = frame[c.COMPETITOR].notna()
            first = frame.loc[has, c.COMPETITOR].iloc[0]
            frame.loc[frame[c.COMPETITOR] == first, c.COMPETITOR] = COMPETITOR
        frame.to_parquet(data / f"{name}.parquet")
        tables[name] = {c.ROWS_IN: len(frame), c.ROWS_CLEAN: len(frame), c.ROWS_QUARANTINED: 0}
    (data / paths.MANIFEST_FILENAME).write_text(json.dumps({"tables": tables}))
    reports = root / "reports"
    run = run_report(notebooks=[WIN_LOSS], run_id="hostile", reports_dir=reports, data_dir=data)
    return run, reports / "hostile" / WIN_LOSS


def test_the_report_runs_on_hostile_text(hostile_run):
    run, _ = hostile_run
    assert run.ok, run.summary()


def test_no_markup_from_the_data_is_live(hostile_run):
    _, folder = hostile_run
    page = (folder / f"{WIN_LOSS}.html").read_text()
    assert live_markup(page) == []
    # The competitor's name is there, as text: its escaped form, not an element.
    assert "&lt;img src=x onerror=alert(4)&gt;" in page


def test_contacts_never_reach_any_output(hostile_run):
    _, folder = hostile_run
    for path in folder.iterdir():
        # Issue 20: the CSVs and the executed notebook kept with the run leaked contacts.
        if path.suffix in {".html", ".csv", ".json", ".ipynb"}:
            text = path.read_text()
            # The digits alone occur inside base64 images; the number as written must not.
            assert EMAIL not in text and "7946 0958" not in text, path.name
