"""The report runner on tiny notebooks: parallel runs, SIGTERM, retention, injection.

The notebooks here only sleep or print, so the tests exercise the runner and
not the analysis; the real notebooks run in tests/report/test_report.py.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest
from report_helpers import write_notebook

from analysis.cli import main
from analysis.core.errors import InputError
from analysis.report.run import RUN_LOG, prune_runs, run_report

INJECTION = '1); import os; os.system("touch pwned")  #'


@pytest.fixture
def sleepy(tmp_path):
    """Two notebooks that each sleep ``pause`` seconds."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    for name in ("a", "b"):
        write_notebook(folder, name, "pause = 3.0\nlabel = 'x'", "import time\ntime.sleep(pause)")
    return folder


def _run(folder, reports, run_id, **kwargs):
    return run_report(
        run_id=run_id, reports_dir=reports, notebooks_dir=folder, config_path=None, **kwargs
    )


def test_two_workers_run_notebooks_side_by_side(sleepy, tmp_path):
    run = _run(sleepy, tmp_path / "r", "par", workers=2)
    assert run.ok, run.summary()
    log = (tmp_path / "r" / "par" / RUN_LOG).read_text().splitlines()
    started = [i for i, line in enumerate(log) if line.endswith("started")]
    finished = [i for i, line in enumerate(log) if ": ok (" in line]
    # Both notebooks started before either finished: they overlapped.
    assert len(started) == 2 and max(started) < min(finished)


def test_kernel_chatter_goes_to_the_run_log_not_stderr(tmp_path, capfd):
    # Whatever a kernel process writes to its own stderr (ipykernel's transport
    # warning, interrupt notices, a C library's message) is for the run log;
    # the command's stderr reaches cron's mail and carries only what must be fixed.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    write_notebook(
        folder, "noisy", "x = 1", "import os\nos.write(2, b'chatter from the kernel\\n')"
    )
    run = _run(folder, tmp_path / "r", "quiet")
    assert run.ok, run.summary()
    err = capfd.readouterr().err
    assert "chatter from the kernel" not in err and "IPKernelApp" not in err
    assert "chatter from the kernel" in (tmp_path / "r" / "quiet" / RUN_LOG).read_text()


def test_code_in_a_string_parameter_is_not_executed(sleepy, tmp_path):
    run = _run(sleepy, tmp_path / "r", "inj", parameters={"label": INJECTION, "pause": "0"})
    assert run.ok, run.summary()
    executed = nbformat.read(tmp_path / "r" / "inj" / "a" / "a.ipynb", as_version=4)
    injected = next(
        c for c in executed.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    # The injected cell assigns the text as a string literal and nothing else.
    assigned = {
        node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(injected.source).body
    }
    assert assigned == {"label": INJECTION, "pause": 0.0}
    assert not list(tmp_path.rglob("pwned")) and not (sleepy / "pwned").exists()


def test_injection_into_a_number_is_rejected_before_anything_runs(sleepy, tmp_path, capsys):
    argv = ["report", "--notebooks-dir", str(sleepy), "--config", "none"]
    code = main([*argv, "--reports-dir", str(tmp_path / "r"), "-p", f"pause={INJECTION}"])
    assert code == 2
    assert "'pause' expects float" in capsys.readouterr().err
    assert not (tmp_path / "r").exists() and not list(tmp_path.rglob("pwned"))


def test_sigterm_midway_leaves_latest_unchanged(sleepy, tmp_path):
    reports = tmp_path / "r"
    assert _run(sleepy, reports, "before", parameters={"pause": 0}).ok
    cmd = [sys.executable, "-m", "analysis", "report", "--notebooks-dir", str(sleepy)]
    cmd += ["--config", "none", "--reports-dir", str(reports), "--run-id", "killed"]
    cmd += ["-p", "pause=60"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    log = reports / ".killed.partial" / RUN_LOG
    deadline = time.monotonic() + 60
    while not (log.exists() and "a: started" in log.read_text()):
        assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
        time.sleep(0.2)
    time.sleep(2)  # the kernel is up and sleeping
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "latest unchanged" in err
    assert (reports / "latest").resolve() == (reports / "before").resolve()
    assert not (reports / "killed").exists() and not (reports / ".killed.partial").exists()


def test_keep_prunes_old_runs_but_never_latest(sleepy, tmp_path):
    reports = tmp_path / "r"
    for run_id in ("r1", "r2", "r3"):
        assert _run(sleepy, reports, run_id, parameters={"pause": 0}).ok
        time.sleep(0.05)  # distinct modification times
    (reports / ".dead.partial").mkdir()  # left by a killed run, hours ago
    os.utime(reports / ".dead.partial", (0, 0))
    (reports / ".running.partial").mkdir()  # a run in progress right now
    (reports / "archive").mkdir()  # not a run: no index.html
    (reports / "archive" / RUN_LOG).write_text("someone's notes")
    os.utime(reports / "r3" / RUN_LOG, (0, 0))  # latest is now the "oldest" run
    removed = prune_runs(reports, keep=1)
    assert {p.name for p in removed} == {"r1", ".dead.partial"}
    kept = sorted(p.name for p in reports.iterdir())
    assert kept == [".report.lock", ".running.partial", "archive", "latest", "r2", "r3"]
    with pytest.raises(Exception, match="at least 1"):
        prune_runs(reports, keep=0)
    with pytest.raises(Exception, match="--keep must be at least 1"):  # before running anything
        _run(sleepy, reports, "never", keep=0)
    assert not (reports / "never").exists()


def test_a_relative_reports_dir_works_with_two_workers(sleepy, tmp_path, monkeypatch):
    # papermill changes the working directory while a notebook runs; with two
    # workers a relative reports folder pointed elsewhere and the run crashed
    # (found running `report --reports-dir s11/reports` on the 3000-deal sample).
    monkeypatch.chdir(tmp_path)
    run = _run(sleepy, "relative/reports", "rel", workers=2)
    assert run.ok, run.summary()
    assert (tmp_path / "relative" / "reports" / "rel" / "index.html").exists()


def test_a_relative_data_dir_reaches_the_kernel_as_absolute(tmp_path, monkeypatch):
    # Kernels run in the notebooks folder, so a relative path would point elsewhere.
    folder = tmp_path / "notebooks"
    folder.mkdir()
    check = "import pathlib\nassert pathlib.Path(data_dir).is_absolute()\n"
    write_notebook(folder, "d", "data_dir = None", check + "assert pathlib.Path(data_dir).is_dir()")
    (tmp_path / "mydata").mkdir()
    monkeypatch.chdir(tmp_path)
    run = _run(folder, tmp_path / "r", "rel", data_dir="mydata")
    assert run.ok, run.summary()


def test_a_second_run_on_the_same_reports_folder_exits_2(sleepy, tmp_path, capsys):
    # Issue 20: two runs started together picked the same id, the second deleted the
    # first's partial folder, and latest could end on the older run.
    from analysis.report.run import _run_lock

    reports = tmp_path / "r"
    reports.mkdir()
    with _run_lock(reports, wait=False):  # another run holds the folder
        code = main(
            ["report", "--notebooks-dir", str(sleepy), "--config", "none",
             "--reports-dir", str(reports), "-p", "pause=0"]
        )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert f"another report run (pid {os.getpid()})" in err and "--wait" in err
    assert not [p for p in reports.iterdir() if p.name != ".report.lock"]  # nothing written


def test_default_run_ids_started_in_the_same_second_are_unique(tmp_path):
    import datetime as dt

    from analysis.report.run import _new_run_folder

    started = dt.datetime(2026, 12, 2, 5, 0, 0, tzinfo=dt.UTC)
    first = _new_run_folder(tmp_path, None, started)
    second = _new_run_folder(tmp_path, None, started)
    assert (first[0], second[0]) == ("20261202T050000Z", "20261202T050000Z-2")
    assert first[2].is_dir() and second[2].is_dir()  # each its own partial folder
    with pytest.raises(InputError, match="already exists"):
        _new_run_folder(tmp_path, "20261202T050000Z", started)  # a given id is not renamed


def test_a_full_disk_stops_the_run_with_one_sentence_and_removes_its_partial(
    sleepy, tmp_path, monkeypatch, capsys
):
    import errno

    from analysis.report import run as report_run

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(report_run, "index_html", full)  # the last write of a run
    reports = tmp_path / "r"
    code = main(
        ["report", "--notebooks-dir", str(sleepy), "--config", "none",
         "--reports-dir", str(reports), "-p", "pause=0"]
    )  # fmt: skip
    assert code == 1
    err = capsys.readouterr().err
    assert err.strip() == (
        f"sales-workbench report: Writing {reports}: the disk is full; no run was published "
        "and reports/latest is unchanged. Free some space and run again."
    )
    assert [p.name for p in reports.iterdir()] == [".report.lock"]  # partial removed


def test_the_partial_folder_of_a_killed_run_is_removed_by_the_next_run(sleepy, tmp_path):
    # Issue 20: a killed run's partial folder used to survive for 6 hours. The next
    # run holds the lock, so a partial it finds cannot belong to a live run.
    reports = tmp_path / "r"
    killed = reports / ".20261202T050000Z.partial"
    killed.mkdir(parents=True)
    (killed / "run.log").write_text("started\n")
    run = _run(sleepy, reports, "next", parameters={"pause": 0})
    assert run.ok, run.summary()
    assert not killed.exists()
    assert (reports / "next" / "index.html").exists()
