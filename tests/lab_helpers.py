"""`sales-workbench lab` with a stand-in JupyterLab, for the tests that stop it.

The stand-in records its process id and sleeps; the command runs in its own
process, so a test can send it SIGTERM as a service manager would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def start_lab_with_stand_in(folder: Path) -> tuple[subprocess.Popen, Path]:
    """Start ``sales-workbench lab`` over a stand-in ``jupyter``; the process and its pid file."""
    pid_file = folder / "jupyter.pid"
    stand_in = folder / "jupyter"
    stand_in.write_text(
        f"#!{sys.executable}\nimport os, time\n"
        f"open({str(pid_file)!r}, 'w').write(str(os.getpid()))\ntime.sleep(60)\n"
    )
    stand_in.chmod(0o755)
    code = (
        "import shutil, sys\nfrom analysis import cli\n"
        f"shutil.which = lambda *a, **k: {str(stand_in)!r}\nsys.exit(cli.main(['lab']))\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL), pid_file


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a child that exited but was not reaped yet is a zombie: not alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().split()[2] != "Z"
