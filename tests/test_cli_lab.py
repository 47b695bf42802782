"""`sales-workbench lab` stops JupyterLab when it is stopped (issue 20).

A stand-in for ``jupyter`` records its process id and sleeps; the command is
started in its own process and sent SIGTERM, as a service manager would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet shows as a zombie.
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"


def test_stopping_lab_stops_the_jupyter_it_started(tmp_path):
    pid_file = tmp_path / "jupyter.pid"
    fake = tmp_path / "jupyter"
    fake.write_text(
        f"#!{sys.executable}\nimport os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    )
    fake.chmod(0o755)
    code = (
        "import shutil, sys\nfrom analysis import cli\n"
        f"shutil.which = lambda *a, **k: {str(fake)!r}\nsys.exit(cli.main(['lab']))\n"
    )
    lab = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    deadline = time.time() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.time() < deadline, "the stand-in jupyter never started"
        time.sleep(0.1)
    jupyter = int(pid_file.read_text())
    lab.send_signal(signal.SIGTERM)
    assert lab.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.time() + 10
    while _alive(jupyter) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(jupyter)  # before: it kept running, holding its port and token
