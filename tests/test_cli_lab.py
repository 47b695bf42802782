"""`sales-workbench lab` stops JupyterLab when it is stopped (issue 20).

A stand-in for ``jupyter`` records its process id and sleeps; the command is
started in its own process and sent SIGTERM, as a service manager would.
"""

from __future__ import annotations

import signal
import time

from lab_helpers import alive, start_lab_with_stand_in


def test_stopping_lab_stops_the_jupyter_it_started(tmp_path):
    lab, pid_file = start_lab_with_stand_in(tmp_path)
    deadline = time.time() + 30
    while not pid_file.exists() or not pid_file.read_text():
        assert time.time() < deadline, "the stand-in jupyter never started"
        time.sleep(0.1)
    jupyter = int(pid_file.read_text())
    lab.send_signal(signal.SIGTERM)
    assert lab.wait(timeout=30) == 128 + signal.SIGTERM
    deadline = time.time() + 10
    while alive(jupyter) and time.time() < deadline:
        time.sleep(0.1)
    assert not alive(jupyter)  # before: it kept running, holding its port and token
