"""Hostile and faulty input: the probe list of issue 20, run as one parametrised test.

Each case is one probe, an entry of :data:`PROBES`: a bad action tried the way an
operator or a careless or hostile user would (through ``sales-workbench``,
i.e. :func:`analysis.cli.main`, or the public Python API), followed by
concrete checks of the handled outcome: the exit code (0 ok, 1 a failed run,
2 unusable input), one sentence naming the file, column, row or path, never a
traceback, every input row accounted for, nothing left behind.

Cases 01-22 were handled before the issue and must stay handled; 23-51 are
the issue's fixes. At the end of a run, tests/conftest.py prints one line
such as ``hostile input: 51 cases, 51 handled``: the cases that ran and those
whose probe passed, with the ids of any that did not. That count is the
issue's figure; a case missing from the list is named in the issue's
closing note with the reason.

Inputs are tiny hand-written exports (tests/ingest_helpers.py) and tiny
notebooks (tests/report_helpers.py), so every expected value is a hand count
from the rows written here; the comment beside an assertion says where its
value comes from.
"""

from __future__ import annotations

import csv
import datetime as dt
import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import nbformat
import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import (
    DEALS_HEADER,
    DEALS_ROWS,
    EVENTS_HEADER,
    EVENTS_ROWS,
    clean_export,
    read_quarantine,
    tree_digest,
    write_csv,
)
from lab_helpers import alive, start_lab_with_stand_in
from report_helpers import live_markup, write_notebook

from analysis.cli import main
from analysis.core import columns as c
from analysis.ingest import read_manifest
from analysis.present.outputs import write_outputs

# --- the kit a probe works with -------------------------------------------------------


@dataclass
class Kit:
    """What a probe may use: a fresh folder, captured output, patching, the shared data."""

    tmp: Path
    capsys: pytest.CaptureFixture
    monkeypatch: pytest.MonkeyPatch
    request: pytest.FixtureRequest

    def processed(self) -> Path:
        """The session's processed sample (built only for the probes that need it)."""
        return self.request.getfixturevalue("processed_folder")


@dataclass(frozen=True)
class Outcome:
    """What a ``sales-workbench`` command returned and printed."""

    code: int
    out: str
    err: str


def sales_workbench(kit: Kit, *argv: object) -> Outcome:
    """Run the command line in-process, as a user would type it."""
    code = main([str(a) for a in argv])
    captured = kit.capsys.readouterr()
    # README: a traceback is shown only for genuine bugs, never for bad input.
    assert "Traceback" not in captured.err, captured.err
    return Outcome(code, captured.out, captured.err)


def ingest_cli(kit: Kit, src: Path, *extra: object, out: Path | None = None) -> Outcome:
    return sales_workbench(kit, "ingest", "--source", src, "--out", out or kit.tmp / "out", *extra)


def report_cli(kit: Kit, notebooks: Path, *extra: object, data_dir: Path | None = None) -> Outcome:
    """``sales-workbench report`` on tiny notebooks with their own defaults (--config none)."""
    # A data folder that does not exist keeps the runner away from the project's data/processed.
    data = data_dir or kit.tmp / "no-data"
    return sales_workbench(
        kit, "report", "--notebooks-dir", notebooks, "--config", "none",
        "--reports-dir", kit.tmp / "reports", "--data-dir", data, *extra,
    )  # fmt: skip


def one_sentence(err: str) -> None:
    """cli.py: input and output errors are printed as one paragraph."""
    assert err.count("\n") == 1, err


def accounted(manifest: dict) -> None:
    """manifest.py: rows_in == rows_clean + rows_quarantined for every table."""
    for table, info in manifest["tables"].items():
        assert info["rows_in"] == info["rows_clean"] + info["rows_quarantined"], table


def ingested(kit: Kit, table: str = c.DEALS) -> pd.DataFrame:
    return pd.read_parquet(kit.tmp / "out" / f"{table}.parquet")


def held(kit: Kit, table: str = c.DEALS) -> dict[int, str]:
    """Quarantined rows of ``table``: source row -> reason."""
    q = read_quarantine(kit.tmp / "out", table)
    if q.empty:  # no quarantine file: nothing was held
        return {}
    return dict(zip(q[c.SOURCE_ROW].tolist(), q[c.REASON].tolist(), strict=True))


def deals_with(kit: Kit, *extra_rows: str) -> Path:
    """The clean export (4 deals, 8 events) with ``extra_rows`` appended to deals.csv."""
    src = clean_export(kit.tmp / "src")
    write_csv(src, "deals.csv", DEALS_HEADER, [*DEALS_ROWS, *extra_rows])
    return src


def staging_left(kit: Kit) -> list[str]:
    """Hidden folders beside ``out`` (staging or swap copies of an ingest)."""
    return sorted(p.name for p in kit.tmp.iterdir() if p.name.startswith(".out."))


def forbid_reading_the_source(kit: Kit) -> None:
    """Fail the probe if ingest starts reading the export (the check must come first)."""
    from analysis.ingest import read

    def refuse(*_args, **_kwargs):
        pytest.fail("ingest read the source before refusing the output folder")

    kit.monkeypatch.setattr(read, "find_table_files", refuse)


def notebooks(kit: Kit, **bodies: str) -> Path:
    """A folder of tiny notebooks, ``name=body``, each with the parameter ``label``."""
    folder = kit.tmp / "notebooks"
    folder.mkdir(exist_ok=True)
    for name, body in bodies.items():
        write_notebook(folder, name, "label = 'x'", body)
    return folder


def previous_run(kit: Kit) -> Path:
    """A finished earlier run that ``reports/latest`` points to (made by hand)."""
    reports = kit.tmp / "reports"
    (reports / "earlier").mkdir(parents=True)
    (reports / "earlier" / "index.html").write_text("earlier run")
    (reports / "latest").symlink_to("earlier", target_is_directory=True)
    return reports / "earlier"


def latest_is(kit: Kit, run: Path) -> bool:
    return (kit.tmp / "reports" / "latest").resolve() == run.resolve()


# --- the probes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Probe:
    """One hostile-input case: its id, what is tried, and the probe itself."""

    id: str
    what: str
    run: Callable[[Kit], None]


PROBES: list[Probe] = []


def probe(case_id: str, what: str):
    """Register the decorated function as the probe of ``case_id``."""

    def register(run: Callable[[Kit], None]) -> Callable[[Kit], None]:
        PROBES.append(Probe(case_id, what, run))
        return run

    return register


# Handled before the issue: encodings, delimiters, structure, row checks ------------

SEMI_HEADER = "deal_id;created_at;outcome;amount;segment;owner_id"
SEMI_ROWS = ["D1;2024-01-05;won;1200;B2B;José Müller", "D2;2024-01-06;open;;B2C;Zoë Ærø"]


@probe("01-cp1252-semicolon", "Excel's cp1252 'CSV (semicolon)' export, no byte-order mark")
def cp1252_semicolon(kit: Kit) -> None:
    src = kit.tmp / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes(
        ("\r\n".join([SEMI_HEADER, *SEMI_ROWS]) + "\r\n").encode("cp1252")
    )
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    # Hand-written rows: the accents come back as written.
    assert ingested(kit)[c.OWNER_ID].tolist() == ["José Müller", "Zoë Ærø"]


@probe("02-utf16-tab-excel", "Excel's 'Unicode text' export: UTF-16 with a BOM, tab-separated")
def utf16_tab(kit: Kit) -> None:
    src = kit.tmp / "src"
    src.mkdir()
    lines = [r.replace(";", "\t") for r in [SEMI_HEADER, *SEMI_ROWS]]
    (src / "deals.txt").write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-16"))
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    deals = ingested(kit)
    assert deals[c.DEAL_ID].tolist() == ["D1", "D2"]  # SEMI_ROWS, in order
    assert deals[c.OWNER_ID].tolist() == ["José Müller", "Zoë Ærø"]


@probe("03-utf8-bom", "a UTF-8 export with a byte-order mark before the first header")
def utf8_bom(kit: Kit) -> None:
    src = kit.tmp / "src"
    src.mkdir()
    text = "\n".join([DEALS_HEADER, *DEALS_ROWS]) + "\n"
    (src / "deals.csv").write_bytes(b"\xef\xbb\xbf" + text.encode())
    result = ingest_cli(kit, src)
    # The first header is deal_id, not "\ufeffdeal_id": otherwise exit 2 'deal_id' missing.
    assert result.code == 0, result.err
    assert ingested(kit)[c.DEAL_ID].tolist() == ["D1", "D2", "D3", "D4"]  # DEALS_ROWS


@probe("04-tab-and-pipe-delimiters", "deals tab-separated, stage events pipe-separated")
def other_delimiters(kit: Kit) -> None:
    src = kit.tmp / "src"
    write_csv(
        src,
        "deals.tsv",
        DEALS_HEADER.replace(",", "\t"),
        [r.replace(",", "\t") for r in DEALS_ROWS],
    )
    events = [r.replace(",", "|") for r in EVENTS_ROWS]
    write_csv(src, "stage_events.csv", EVENTS_HEADER.replace(",", "|"), events)
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    # Hand count: DEALS_ROWS has 4 deals, EVENTS_ROWS 8 events, none bad.
    assert "deals: 4 in, 4 clean, 0 quarantined" in result.out
    assert len(ingested(kit, c.STAGE_EVENTS)) == len(EVENTS_ROWS) == 8


@probe("05-embedded-newlines", "a quoted loss reason running over two lines")
def embedded_newlines(kit: Kit) -> None:
    rows = [f"{r}," for r in DEALS_ROWS]
    rows[1] = f'{DEALS_ROWS[1]},"Price\nand timing"'  # D2 is the lost deal
    write_csv(kit.tmp / "src", "deals.csv", f"{DEALS_HEADER},{c.LOSS_REASON}", rows)
    result = ingest_cli(kit, kit.tmp / "src")
    assert result.code == 0, result.err
    deals = ingested(kit).set_index(c.DEAL_ID)
    assert len(deals) == 4  # five data lines, four rows: the newline is inside quotes
    assert deals.loc["D2", c.LOSS_REASON] == "Price\nand timing"


def without_created_at(line: str) -> str:
    """A DEALS_HEADER-shaped line without its second field (created_at)."""
    fields = line.split(",")
    return ",".join(fields[:1] + fields[2:])


@probe("06-missing-required-column", "deals without created_at")
def missing_column(kit: Kit) -> None:
    src = kit.tmp / "src"
    rows = [without_created_at(r) for r in DEALS_ROWS]
    write_csv(src, "deals.csv", without_created_at(DEALS_HEADER), rows)
    result = ingest_cli(kit, src)
    assert result.code == 2
    one_sentence(result.err)
    # The message names the file by its path and the column (errors.InputError.describe).
    assert str(src / "deals.csv") in result.err and "'created_at'" in result.err
    assert not (kit.tmp / "out").exists()


@probe("07-duplicated-column", "two columns named amount")
def duplicated_column(kit: Kit) -> None:
    src = kit.tmp / "src"
    write_csv(src, "deals.csv", DEALS_HEADER + ",amount", [r + ",1" for r in DEALS_ROWS])
    result = ingest_cli(kit, src)
    assert result.code == 2
    one_sentence(result.err)
    assert "deals.csv" in result.err and "'amount'" in result.err and "2 times" in result.err
    assert not (kit.tmp / "out").exists()


@probe("08-ragged-row", "a row with one field more than the header")
def ragged_row(kit: Kit) -> None:
    src = deals_with(kit, "D9,2024-01-09,open,5,B2B,,proposal,R1,surplus")
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    assert held(kit) == {5: "malformed_row"}  # the appended row is data row 5
    assert ingested(kit)[c.DEAL_ID].tolist() == ["D1", "D2", "D3", "D4"]  # the others kept
    q = read_quarantine(kit.tmp / "out", c.DEALS)
    assert q[c.RAW_LINE].tolist() == ["D9,2024-01-09,open,5,B2B,,proposal,R1,surplus"]
    accounted(read_manifest(kit.tmp / "out"))


@probe("09-unknown-stage", "a stage label no stage or alias knows")
def unknown_stage(kit: Kit) -> None:
    result = ingest_cli(kit, deals_with(kit, "D5,2024-01-09,open,5,B2B,,Haggling,R1"))
    assert result.code == 0, result.err
    assert held(kit) == {5: "unknown_stage"}
    manifest = read_manifest(kit.tmp / "out")
    assert manifest["unknown_stages"] == {"Haggling": 1}  # one row carries the label
    accounted(manifest)


@probe("10-orphan-event", "a stage event of a deal the export does not have")
def orphan_event(kit: Kit) -> None:
    src = clean_export(kit.tmp / "src")
    write_csv(
        src, "stage_events.csv", EVENTS_HEADER, [*EVENTS_ROWS, "NOBODY,prospecting,2024-01-01"]
    )
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    assert held(kit, c.STAGE_EVENTS) == {9: "orphan_event"}  # EVENTS_ROWS has 8 rows
    assert len(ingested(kit, c.STAGE_EVENTS)) == 8
    accounted(read_manifest(kit.tmp / "out"))


@probe("11-time-zones-and-dst", "offsets mixed with naive times, one of them a DST-ambiguous hour")
def time_zones(kit: Kit) -> None:
    header = "deal_id,created_at,outcome,amount,segment"
    rows = [
        "T1,2024-03-14T09:30:00+02:00,open,1,B2B",  # explicit offset: wins over --timezone
        "T2,2024-03-14 09:30,open,1,B2B",  # naive: Berlin, CET (UTC+1) in March
        "T3,2024-10-27 02:30,open,1,B2B",  # happens twice in Berlin: first (CEST, UTC+2)
        "T4,2024-03-31 02:30,open,1,B2B",  # does not exist in Berlin: moved to 03:00 CEST
    ]
    write_csv(kit.tmp / "src", "deals.csv", header, rows)
    result = ingest_cli(kit, kit.tmp / "src", "--timezone", "Europe/Berlin")
    assert result.code == 0, result.err
    created = ingested(kit)[c.CREATED_AT].tolist()
    # tz database offsets, worked by hand (as tests/ingest/test_parse.py).
    expected = ["2024-03-14 07:30", "2024-03-14 08:30", "2024-10-27 00:30", "2024-03-31 01:00"]
    assert created == [pd.Timestamp(t, tz="UTC") for t in expected]


@probe("12-empty-file", "deals.csv of zero bytes")
def empty_file(kit: Kit) -> None:
    src = kit.tmp / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes(b"")
    result = ingest_cli(kit, src)
    assert result.code == 2
    one_sentence(result.err)
    assert "deals.csv" in result.err and "empty" in result.err
    assert not (kit.tmp / "out").exists()


@probe("13-binary-renamed-csv", "4 kB of random bytes named deals.csv")
def binary_file(kit: Kit) -> None:
    src = kit.tmp / "src"
    src.mkdir()
    (src / "deals.csv").write_bytes(np.random.default_rng(7).bytes(4096))
    result = ingest_cli(kit, src)
    assert result.code == 2
    one_sentence(result.err)
    assert "deals.csv" in result.err and "not a text (CSV) file" in result.err
    assert "\x00" not in result.err and len(result.err) < 500  # no bytes echoed back


@probe("14-header-only-deals", "deals.csv with its header and no rows")
def header_only(kit: Kit) -> None:
    write_csv(kit.tmp / "src", "deals.csv", DEALS_HEADER, [])
    result = ingest_cli(kit, kit.tmp / "src")
    assert result.code == 2
    one_sentence(result.err)
    assert "deals.csv" in result.err and "no data rows" in result.err


@probe("15-negative-amount", "a deal worth -10")
def negative_amount(kit: Kit) -> None:
    result = ingest_cli(kit, deals_with(kit, "N1,2024-01-05,won,-10,B2B,2024-02-01,won,R1"))
    assert result.code == 0, result.err
    assert held(kit) == {5: "negative_amount"}
    assert (ingested(kit)[c.AMOUNT].dropna() >= 0).all()


@probe("16-duplicated-deal-id", "deal D1 twice, with different amounts")
def duplicated_id(kit: Kit) -> None:
    result = ingest_cli(kit, deals_with(kit, "D1,2024-01-05,won,999,B2B,2024-02-01,won,R1"))
    assert result.code == 0, result.err
    # Conflicting copies are all quarantined (reasons.py): data rows 1 and 5.
    assert held(kit) == {1: "duplicate_id", 5: "duplicate_id"}
    assert "D1" not in ingested(kit)[c.DEAL_ID].tolist()
    accounted(read_manifest(kit.tmp / "out"))


INJECTION = '1); import os; os.system("touch pwned")  #'


@probe("17-code-in-a-string-parameter", "-p label=<python code> is text, never run")
def code_in_parameter(kit: Kit) -> None:
    folder = notebooks(kit, a="print(label)")
    result = report_cli(kit, folder, "-p", f"label={INJECTION}", "--run-id", "inj")
    assert result.code == 0, result.out + result.err
    # papermill runs the kernel in the notebook folder; nothing named pwned anywhere.
    assert not list(kit.tmp.rglob("pwned")) and not Path("pwned").exists()
    executed = (kit.tmp / "reports" / "inj" / "a" / "a.ipynb").read_text()
    assert INJECTION.replace('"', '\\"') in executed  # printed back as the text it is


@probe("18-run-id-path-traversal", "--run-id ../escaped")
def run_id_traversal(kit: Kit) -> None:
    result = report_cli(kit, notebooks(kit, a="print(1)"), "--run-id", "../escaped")
    assert result.code == 2
    one_sentence(result.err)
    assert "--run-id" in result.err and "plain folder name" in result.err
    assert not (kit.tmp / "escaped").exists() and not (kit.tmp / "reports").exists()


HOSTILE_HTML = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> "
    "<a href='javascript:alert(3)'>see</a> <iframe src=//evil.example></iframe>"
)


@probe("19-xss-in-crm-text", "CRM text with scripts shown as HTML, Markdown, a table and print")
def xss_in_text(kit: Kit) -> None:
    body = (
        "import pandas as pd\nfrom IPython.display import HTML, Markdown, display\n"
        f"text = {HOSTILE_HTML!r}\n"
        "display(HTML(text)); display(Markdown(text)); print(text)\n"
        "pd.DataFrame({'competitor': [text]})"
    )
    result = report_cli(kit, notebooks(kit, a=body), "--run-id", "xss")
    assert result.code == 0, result.out + result.err
    page = (kit.tmp / "reports" / "xss" / "a" / "a.html").read_text()
    # report_helpers.live_markup: no script, frame, handler or javascript: link survives.
    assert live_markup(page) == []
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # shown, as text


@probe("20-failing-notebook", "one notebook raises; the other succeeds")
def failing_notebook(kit: Kit) -> None:
    earlier = previous_run(kit)
    folder = notebooks(kit, a_ok="print('fine')", b_fails="raise RuntimeError('broken on purpose')")
    result = report_cli(kit, folder, "--run-id", "mixed", "--workers", "2")
    assert result.code == 1  # cli.py: 1 for a failed run
    run = kit.tmp / "reports" / "mixed"
    assert (run / "a_ok" / "a_ok.html").exists()
    assert (run / "b_fails" / "b_fails.ipynb").exists()  # kept, with its error, for debugging
    assert "b_fails: FAILED (RuntimeError: broken on purpose)" in result.out
    assert latest_is(kit, earlier)


@probe("21-sigterm-mid-run", "systemd stops a report run while a notebook executes")
def sigterm(kit: Kit) -> None:
    earlier = previous_run(kit)
    flag = kit.tmp / "kernel-is-running"
    folder = notebooks(
        kit, a=f"import pathlib, time\npathlib.Path({str(flag)!r}).touch()\ntime.sleep(60)"
    )
    cmd = [sys.executable, "-m", "analysis", "report", "--notebooks-dir", str(folder)]
    cmd += ["--config", "none", "--reports-dir", str(kit.tmp / "reports"), "--run-id", "killed"]
    cmd += ["--data-dir", str(kit.tmp / "no-data")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, err  # README: exit code 143
    assert "latest unchanged" in err and "Traceback" not in err
    assert latest_is(kit, earlier)
    reports = kit.tmp / "reports"
    assert not (reports / "killed").exists() and not (reports / ".killed.partial").exists()


@probe("22-lab-localhost-with-token", "sales-workbench lab: the server it starts")
def lab_binding(kit: Kit) -> None:
    from jupyter_server.auth.identity import IdentityProvider
    from jupyter_server.serverapp import ServerApp

    argv_file = kit.tmp / "argv"
    stand_in = kit.tmp / "jupyter"  # records its arguments instead of starting a server
    record = f"open({str(argv_file)!r}, 'w').write('\\n'.join(sys.argv[1:]))"
    stand_in.write_text(f"#!{sys.executable}\nimport sys\n{record}\n")
    stand_in.chmod(0o755)
    kit.monkeypatch.setattr("shutil.which", lambda *a, **k: str(stand_in))
    result = sales_workbench(kit, "lab", "--port", "8899")
    assert result.code == 0
    argv = argv_file.read_text().splitlines()
    assert argv[0] == "lab" and "--port=8899" in argv
    # Nothing widens the binding or drops the token: no --ip, token, password or
    # allow-origin option, so jupyter_server's defaults hold ...
    options = [a.split("=", 1)[0].lower() for a in argv if a.startswith("--")]
    assert not [o for o in options if any(k in o for k in ("ip", "token", "password", "origin"))]
    # ... and no config file the server reads changes them: localhost, a generated token.
    server = ServerApp()
    server.load_config_file()
    assert server.ip == "localhost"
    configured = {k for section in server.config.values() for k in section}
    assert not configured & {"ip", "token", "password", "allow_origin"}
    assert IdentityProvider.token.default_value == "<generated>"  # jupyter_server 2 trait
    assert "http://127.0.0.1" in result.out and "token" in result.out


# Fixed in issue 20: shared files, config files, the source folder boundary ----------

FORMULA_REP = '=HYPERLINK("http://evil.example","Ana")'


def written_csv(kit: Kit, frame: pd.DataFrame) -> list[list[str]]:
    """``frame`` as a report notebook writes it (present.outputs), read back as raw cells."""
    write_outputs(kit.tmp / "run", {"rep_scorecard": frame}, {"headline": []})
    with open(kit.tmp / "run" / "rep_scorecard.csv", newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


@probe("23-csv-formula-injection", "a rep named =HYPERLINK(...) in a CSV table leaders open")
def formula_injection(kit: Kit) -> None:
    frame = pd.DataFrame(
        {"rep": [FORMULA_REP, "@SUM(A1)", "Bo"], "deals": [3, 1, 2], "change": [-0.25, 0.5, 0.0]}
    )
    rows = written_csv(kit, frame)
    # OWASP rule (issue 20): a text cell starting = + - @ gets a leading quote.
    assert [r[0] for r in rows[1:]] == ["'" + FORMULA_REP, "'@SUM(A1)", "Bo"]
    # Numbers stay numbers, the negative one included (no quote before -0.25).
    assert [r[1:] for r in rows[1:]] == [["3", "-0.25"], ["1", "0.5"], ["2", "0.0"]]


@probe("24-contacts-in-csv", "an e-mail address and a phone number in a comment column")
def contacts_in_csv(kit: Kit) -> None:
    note = "call jane.doe@example.com or +44 20 7946 0958"
    rows = written_csv(kit, pd.DataFrame({"rep": ["Ana"], "comment": [note]}))
    text = "\n".join(",".join(r) for r in rows)
    assert "jane.doe@example.com" not in text and "7946 0958" not in text
    # The tokens of analysis.present.redaction stand in their place.
    assert rows[1][1] == "call [email] or [phone]"


@probe("25-contacts-in-executed-notebook", "a notebook prints a contact; the run keeps its .ipynb")
def contacts_in_notebook(kit: Kit) -> None:
    # The contact comes from the data (a CRM comment), not from the notebook's code.
    comments = kit.tmp / "comments.csv"
    comments.write_text("comment\nmail jane.doe@example.com or call +44 20 7946 0958\n")
    # Printed and shown as a table; the CSVs a notebook writes are probes 23 and 24.
    body = (
        f"import pandas as pd\nframe = pd.read_csv({str(comments)!r})\n"
        "print(frame['comment'][0])\nframe"
    )
    result = report_cli(kit, notebooks(kit, a=body), "--run-id", "contacts")
    assert result.code == 0, result.out + result.err
    kept = sorted((kit.tmp / "reports" / "contacts" / "a").iterdir())
    assert {p.suffix for p in kept} == {".ipynb", ".html"}
    for path in kept:
        text = path.read_text()
        assert "jane.doe@example.com" not in text and "7946 0958" not in text, path.name
    executed = nbformat.read(kit.tmp / "reports" / "contacts" / "a" / "a.ipynb", as_version=4)
    printed = "".join(o.get("text", "") for cell in executed.cells for o in cell.get("outputs", []))
    assert "[email]" in printed  # redacted, not dropped


BILLION_LAUGHS = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(
            f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "tables: {deals: {file: deals}}",
    ]
)


@probe("26-yaml-billion-laughs", "a column map of aliases nested nine deep")
def billion_laughs(kit: Kit) -> None:
    src = clean_export(kit.tmp / "src")
    bad = kit.tmp / "map.yaml"
    bad.write_text(BILLION_LAUGHS)
    start = time.perf_counter()
    result = ingest_cli(kit, src, "--map", bad)
    # Issue 20: it ran 103 s to 3.3 GB and ended in a MemoryError; refused before any
    # alias is expanded, it takes well under a second (20 s leaves room for a busy machine).
    assert time.perf_counter() - start < 20
    assert result.code == 2
    one_sentence(result.err)
    assert str(bad) in result.err and "aliases (*a, line 2)" in result.err
    assert not (kit.tmp / "out").exists()


@probe("27-oversized-config", "a 2.5 MB report config")
def oversized_config(kit: Kit) -> None:
    big = kit.tmp / "reports.yaml"
    big.write_text("notebooks:\n" + "".join(f"  - nb_{i:07d}\n" for i in range(200_000)))
    folder = notebooks(kit, a="print(1)")
    result = sales_workbench(
        kit, "report", "--notebooks-dir", folder, "--config", big,
        "--reports-dir", kit.tmp / "reports", "--data-dir", kit.tmp / "no-data",
    )  # fmt: skip
    assert big.stat().st_size > 2_000_000  # yamlconfig.MAX_CONFIG_BYTES
    assert result.code == 2
    one_sentence(result.err)
    assert str(big) in result.err and "more than a config file needs" in result.err
    assert not (kit.tmp / "reports").exists()


@probe("28-symlink-out-of-the-source", "reps.csv is a link to a password file elsewhere")
def symlink_outside(kit: Kit) -> None:
    secret = kit.tmp / "elsewhere" / "passwd"  # stands for /etc/passwd: outside the source
    secret.parent.mkdir()
    secret.write_text("root:x:0:0:root:/root:/bin/bash\nrep_id\nR1\n")
    src = clean_export(kit.tmp / "src")
    (src / "reps.csv").symlink_to(secret)
    result = ingest_cli(kit, src)
    assert result.code == 2
    one_sentence(result.err)
    assert str(src / "reps.csv") in result.err and "outside the source folder" in result.err
    assert "root:" not in result.err  # the target's first line is never echoed
    assert not (kit.tmp / "out").exists()


@probe("29-symlink-inside-the-source", "deals.csv links to raw/deals_2026.csv in the folder")
def symlink_inside(kit: Kit) -> None:
    src = kit.tmp / "src"
    target = write_csv(src / "raw", "deals_2026.csv", DEALS_HEADER, DEALS_ROWS)
    (src / "deals.csv").symlink_to(target)
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    (entry,) = read_manifest(kit.tmp / "out")["inputs"]
    assert entry["file"] == "deals.csv" and entry["resolved"] == str(target.resolve())
    assert entry["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()


@probe("30-two-report-runs", "a second report run while one holds the reports folder")
def concurrent_runs(kit: Kit) -> None:
    from analysis.report.run import _run_lock

    reports = kit.tmp / "reports"
    reports.mkdir()
    folder = notebooks(kit, a="raise RuntimeError('must not run')")
    with _run_lock(reports, wait=False):  # the first run, still going
        result = report_cli(kit, folder)
    assert result.code == 2
    one_sentence(result.err)
    # run._run_lock: the holder writes "pid <its pid>" into the lock file.
    assert f"another report run (pid {os.getpid()})" in result.err and "--wait" in result.err
    assert [p.name for p in reports.iterdir()] == [".report.lock"]  # nothing else written


class _OneSecond(dt.datetime):
    """A clock stopped at 2026-12-02 05:00:00 UTC: every run starts in the same second."""

    @classmethod
    def now(cls, tz=None):
        return cls(2026, 12, 2, 5, 0, 0, tzinfo=dt.UTC)


@probe("31-run-ids-in-the-same-second", "two default run ids started in one second")
def same_second(kit: Kit) -> None:
    from analysis.report import run as report_run

    kit.monkeypatch.setattr(
        report_run, "dt", types.SimpleNamespace(datetime=_OneSecond, UTC=dt.UTC)
    )
    folder = notebooks(kit, a="print(1)")
    first, second = report_cli(kit, folder), report_cli(kit, folder)
    assert first.code == second.code == 0, first.err + second.err
    # README: default ids are the start time; a second run in the same second gets -2.
    runs = sorted(p.name for p in (kit.tmp / "reports").iterdir() if not p.name.startswith("."))
    assert runs == ["20261202T050000Z", "20261202T050000Z-2", "latest"]
    assert latest_is(kit, kit.tmp / "reports" / "20261202T050000Z-2")


# Fixed in issue 20: values that stopped the whole ingest or slipped through -----------


@probe("32-non-ascii-digits", "amounts written with full-width and Arabic-Indic digits")
def non_ascii_digits(kit: Kit) -> None:
    src = deals_with(
        kit, "W1,2024-01-09,open,１２３,B2B,,proposal,R1", "A1,2024-01-09,open,٣,B2B,,proposal,R1"
    )
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    assert held(kit) == {5: "bad_value", 6: "bad_value"}  # the two appended rows
    assert ingested(kit)[c.DEAL_ID].tolist() == ["D1", "D2", "D3", "D4"]


@probe("33-overflowing-amount", "an amount of 1e309 (beyond a float)")
def overflow(kit: Kit) -> None:
    result = ingest_cli(kit, deals_with(kit, "O1,2024-01-09,won,1e309,B2B,2024-02-01,won,R1"))
    assert result.code == 0, result.err
    assert held(kit) == {5: "bad_value"}
    assert np.isfinite(ingested(kit)[c.AMOUNT].dropna()).all()  # no infinite money kept


def deals_parquet(kit: Kit, **columns: pa.Array) -> Path:
    """deals.parquet of the four DEALS_ROWS deals, with ``columns`` replaced."""
    base = {
        "deal_id": pa.array(["D1", "D2", "D3", "D4"]),
        "created_at": pa.array(["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-08"]),
        "outcome": pa.array(["won", "lost", "open", "open"]),
        "amount": pa.array([1000.0, 2500.5, None, 300.0]),
        "segment": pa.array(["B2B", "B2C", "B2B", "B2C"]),
    }
    src = kit.tmp / "src"
    src.mkdir()
    pq.write_table(pa.table({**base, **columns}), src / "deals.parquet")
    return src


@probe("34-parquet-undecodable-bytes", "Parquet text stored as bytes, one cell not UTF-8")
def parquet_bytes(kit: Kit) -> None:
    segment = pa.array([b"B2B", b"B2C", b"B2\xff", b"B2C"], pa.binary())
    result = ingest_cli(kit, deals_parquet(kit, segment=segment))
    assert result.code == 0, result.err
    assert held(kit) == {3: "bad_value"}  # D3's segment is the bad cell
    assert ingested(kit)[c.SEGMENT].tolist() == ["B2B", "B2C", "B2C"]
    q = read_quarantine(kit.tmp / "out", c.DEALS)
    assert q[c.SEGMENT].tolist() == ["B2\\xff"]  # kept, shown escaped


@probe("35-parquet-decimal-money", "amounts typed decimal(12, 2) in Parquet")
def parquet_decimal(kit: Kit) -> None:
    money = [Decimal("1000.00"), Decimal("2500.50"), None, Decimal("300.00")]
    result = ingest_cli(kit, deals_parquet(kit, amount=pa.array(money, pa.decimal128(12, 2))))
    assert result.code == 0, result.err
    assert held(kit) == {}
    amounts = ingested(kit)[c.AMOUNT].tolist()
    assert amounts[:2] + amounts[3:] == [1000.0, 2500.5, 300.0] and pd.isna(amounts[2])


@probe("36-parquet-struct-in-text", "a struct value in the competitor column")
def parquet_struct(kit: Kit) -> None:
    competitor = pa.array([None, {"name": "Acme"}, None, None])  # a struct column
    result = ingest_cli(kit, deals_parquet(kit, competitor=competitor))
    assert result.code == 0, result.err
    assert held(kit) == {2: "bad_value"}  # not the text "{'name': 'Acme'}"
    assert ingested(kit)[c.DEAL_ID].tolist() == ["D1", "D3", "D4"]


# Fixed in issue 20: output folders and full disks -----------------------------------


@probe("37-read-only-out", "--out inside a folder this user may not write")
def read_only_out(kit: Kit) -> None:
    locked = kit.tmp / "locked"
    locked.mkdir()
    real_access = os.access

    # As root a chmod does not stop writes, so the permission check is told "no" here
    # (as tests/ingest/test_write.py stands in for mounts).
    def access(path, mode, **kwargs):
        return False if Path(path).resolve() == locked else real_access(path, mode, **kwargs)

    kit.monkeypatch.setattr(os, "access", access)
    forbid_reading_the_source(kit)
    result = ingest_cli(kit, clean_export(kit.tmp / "src"), out=locked / "processed")
    assert result.code == 2
    one_sentence(result.err)
    assert f"this user may not write in {locked}" in result.err
    assert list(locked.iterdir()) == []


@probe("38-out-under-a-file", "--out a_file/processed")
def out_under_file(kit: Kit) -> None:
    blocker = kit.tmp / "a_file"
    blocker.write_text("not a folder")
    forbid_reading_the_source(kit)
    result = ingest_cli(kit, clean_export(kit.tmp / "src"), out=blocker / "processed")
    assert result.code == 2
    one_sentence(result.err)
    assert str(blocker / "processed") in result.err and "which is a file" in result.err
    assert blocker.read_text() == "not a folder"


@probe("39-out-is-a-mount-point", "--out is a mounted volume, which a rename cannot replace")
def out_is_mount(kit: Kit) -> None:
    src = clean_export(kit.tmp / "src")
    out = kit.tmp / "out"
    assert ingest_cli(kit, src).code == 0
    before = tree_digest(out)
    # tests/ingest/test_write.py: os.path.ismount stands in for a real mount.
    kit.monkeypatch.setattr(os.path, "ismount", lambda p: Path(p).resolve() == out)
    forbid_reading_the_source(kit)
    result = ingest_cli(kit, src)
    assert result.code == 2
    one_sentence(result.err)
    assert str(out) in result.err and "mount point" in result.err
    assert tree_digest(out) == before


@probe("40-disk-full-during-ingest", "the disk fills while ingest writes Parquet")
def disk_full_ingest(kit: Kit) -> None:
    from analysis.ingest import write

    src = clean_export(kit.tmp / "src")
    out = kit.tmp / "out"
    assert ingest_cli(kit, src).code == 0
    before = tree_digest(out)

    def full(frame, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    kit.monkeypatch.setattr(write, "_write_parquet", full)
    result = ingest_cli(kit, src)
    assert result.code == 1  # cli.py: the machine, not the input, stopped the run
    one_sentence(result.err)
    assert "the disk is full" in result.err and str(out) in result.err
    assert tree_digest(out) == before and staging_left(kit) == []


@probe("41-disk-full-during-report", "the disk fills as the report run writes its index")
def disk_full_report(kit: Kit) -> None:
    from analysis.report import run as report_run

    earlier = previous_run(kit)

    def full(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    kit.monkeypatch.setattr(report_run, "index_html", full)  # the run's last write
    result = report_cli(kit, notebooks(kit, a="print(1)"), "--run-id", "full")
    assert result.code == 1
    one_sentence(result.err)
    assert "the disk is full" in result.err and "reports/latest is unchanged" in result.err
    reports = kit.tmp / "reports"
    assert not (reports / "full").exists() and not (reports / ".full.partial").exists()
    assert latest_is(kit, earlier)


@probe("42-alpha-out-of-range", "-p alpha=5")
def alpha_out_of_range(kit: Kit) -> None:
    folder = kit.tmp / "notebooks"
    folder.mkdir()
    write_notebook(folder, "a", "alpha = 0.05", "raise RuntimeError('ran')")
    result = report_cli(kit, folder, "-p", "alpha=5")
    assert result.code == 2
    one_sentence(result.err)
    assert "'alpha' must lie between 0 and 1" in result.err  # report.plan: 0 < alpha < 1
    assert not (kit.tmp / "reports").exists()  # before any notebook ran


@probe("43-segment-not-in-the-data", "-p 'segments=[\"B2X\"]' on data of B2B and B2C")
def unknown_segment(kit: Kit) -> None:
    folder = kit.tmp / "notebooks"
    folder.mkdir()
    write_notebook(folder, "a", "data_dir = None\nsegments = None", "raise RuntimeError('ran')")
    result = report_cli(kit, folder, "-p", 'segments=["B2X"]', data_dir=kit.processed())
    assert result.code == 2
    one_sentence(result.err)
    # tests/conftest.py: the session sample has segments B2B and B2C.
    assert "segment 'B2X', which no deal has" in result.err and "B2B, B2C" in result.err
    assert not (kit.tmp / "reports").exists()


# Fixed in issue 20: rows refused wholesale or kept silently ----------------------------


@probe("44-four-megabyte-field", "one customer comment of 4 MB")
def huge_field(kit: Kit) -> None:
    src = clean_export(kit.tmp / "src")
    note = "x" * 4_000_000  # larger than pyarrow's 1 MiB parse block
    rows = ["D1,customer,short", f'D2,customer,"{note}"', "D3,rep,short too"]
    write_csv(src, "feedback.csv", "deal_id,source,text", rows)
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    feedback = ingested(kit, c.FEEDBACK).set_index(c.DEAL_ID)
    assert len(feedback) == 3 and feedback.loc["D2", c.TEXT] == note  # read whole


@probe("45-nul-bytes-in-a-cell", "two NUL bytes inside an owner id")
def nul_bytes(kit: Kit) -> None:
    src = deals_with(kit, "D5,2024-01-09,open,5,B2B,,proposal,R\x00\x001")
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    deals = ingested(kit).set_index(c.DEAL_ID)
    assert len(deals) == 5 and deals.loc["D5", c.OWNER_ID] == "R1"  # stripped, row kept
    # hygiene.py counts rows per column that lost characters: one row.
    assert read_manifest(kit.tmp / "out")["stripped_characters"] == {"deals.csv.owner_id": 1}


@probe("46-event-years-before-creation", "a stage entered in 2019 by a deal created in 2024")
def event_before_creation(kit: Kit) -> None:
    src = clean_export(kit.tmp / "src")
    rows = ["D1,prospecting,2019-03-01", *EVENTS_ROWS[1:]]  # D1 was created 2024-01-05
    write_csv(src, "stage_events.csv", EVENTS_HEADER, rows)
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    events = ingested(kit, c.STAGE_EVENTS)
    assert len(events) == 8  # kept, not quarantined
    flagged = events[events[c.BEFORE_CREATED].fillna(False).astype(bool)]
    assert flagged[[c.DEAL_ID, c.STAGE]].values.tolist() == [["D1", "prospecting"]]
    assert read_manifest(kit.tmp / "out")["flags"][c.BEFORE_CREATED] == 1


@probe(
    "47-xlsx-formula-never-calculated", "an .xlsx amount that is a formula with no stored result"
)
def uncalculated_formula(kit: Kit) -> None:
    book = openpyxl.Workbook()
    for row in (DEALS_HEADER.split(","), *[r.split(",") for r in DEALS_ROWS]):
        book.active.append(row)
    book.active["D3"] = "=D2*2"  # D2's amount doubled; openpyxl stores no result
    (kit.tmp / "src").mkdir()
    book.save(kit.tmp / "src" / "deals.xlsx")
    result = ingest_cli(kit, kit.tmp / "src")
    assert result.code == 0, result.err
    manifest = read_manifest(kit.tmp / "out")
    assert manifest["tables"][c.DEALS]["rows_clean"] == 4  # the row stays
    (warning,) = manifest["warnings"]
    assert warning.startswith("deals.xlsx: 1 cell holds a formula that was never calculated (D3)")
    assert "warning: deals.xlsx" in result.out


# Fixed in issue 20: leftovers of killed runs -------------------------------------------


@probe("48-dead-ingest-staging", "the staging folder of an ingest that was killed")
def dead_staging(kit: Kit) -> None:
    dead = kit.tmp / ".out.ingest-999999999-xyz"  # above any pid_max: no such process
    dead.mkdir()
    (dead / "deals.parquet").write_bytes(b"half written")
    result = ingest_cli(kit, clean_export(kit.tmp / "src"))
    assert result.code == 0, result.err
    assert not dead.exists() and staging_left(kit) == []
    assert f"removed {dead.name}" in read_manifest(kit.tmp / "out")["notes"]


@probe("49-kill-between-renames", "killed after moving the old output aside, before the new one")
def half_swap(kit: Kit) -> None:
    src = clean_export(kit.tmp / "src")
    out = kit.tmp / "out"
    assert ingest_cli(kit, src).code == 0
    out.rename(kit.tmp / ".out.old-abc")  # what write._swap leaves if killed midway
    (src / "stage_events.csv").unlink()  # the next export differs
    result = ingest_cli(kit, src)
    assert result.code == 0, result.err
    manifest = read_manifest(out)
    assert list(manifest["tables"]) == [c.DEALS]  # the new output, in place
    assert staging_left(kit) == []  # the restored copy was swapped out and removed
    assert "restored out from a swap an earlier ingest did not finish" in manifest["notes"]


@probe("50-killed-report-partial", "a .partial folder left by a killed report run")
def killed_partial(kit: Kit) -> None:
    killed = kit.tmp / "reports" / ".20261202T050000Z.partial"
    killed.mkdir(parents=True)
    (killed / "run.log").write_text("2026-12-02T05:00:00+00:00 run started\n")
    result = report_cli(kit, notebooks(kit, a="print(1)"), "--run-id", "next")
    assert result.code == 0, result.out + result.err
    # README: the next run holds the lock, so no live run owns the partial; removed at once.
    assert not killed.exists()
    assert (kit.tmp / "reports" / "next" / "index.html").exists()


@probe("51-lab-stops-jupyterlab", "SIGTERM to sales-workbench lab")
def lab_stops(kit: Kit) -> None:
    lab, pid_file = start_lab_with_stand_in(kit.tmp)  # a JupyterLab that records its pid
    jupyter = None
    try:
        deadline = time.monotonic() + 30
        while not (pid_file.exists() and pid_file.read_text()):
            assert time.monotonic() < deadline and lab.poll() is None, "jupyter never started"
            time.sleep(0.05)
        jupyter = int(pid_file.read_text())
        lab.send_signal(signal.SIGTERM)
        assert lab.wait(timeout=30) == 128 + signal.SIGTERM  # cli._run_with_child
        deadline = time.monotonic() + 10
        while alive(jupyter) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(jupyter)  # issue 20: it kept running, holding its port and token
    finally:  # never leave either process behind, even when the probe fails
        if lab.poll() is None:
            lab.kill()
        if jupyter is not None and alive(jupyter):
            os.kill(jupyter, signal.SIGKILL)


# --- the one test ----------------------------------------------------------------------


@pytest.mark.parametrize("case", PROBES, ids=[p.id for p in PROBES])
def test_probe(case: Probe, tmp_path, capsys, monkeypatch, request):
    # Resolved, so paths compare equal to the resolved ones the messages carry.
    kit = Kit(tmp_path.resolve(), capsys, monkeypatch, request)
    try:
        case.run(kit)
    except AssertionError as exc:
        exc.add_note(f"probe {case.id}: {case.what}")
        raise


def test_probe_ids_are_unique_and_numbered():
    ids = [p.id for p in PROBES]
    assert len(set(ids)) == len(ids)
    assert [int(i.split("-", 1)[0]) for i in ids] == sorted(int(i.split("-", 1)[0]) for i in ids)
