"""Every notebook runs top to bottom under ``pytest --nbval-lax`` with its defaults.

This is how an analyst meets the notebooks: opened in JupyterLab and run as
they are, with no papermill parameters. The data folder comes from
``SALES_WORKBENCH_DATA`` (see analysis.core.paths), pointed at the sample fixture.
Non-default parameters are exercised by tests/report/test_report.py.
"""

from __future__ import annotations

import os
import subprocess
import sys

from analysis.core import paths


def test_every_notebook_runs_under_nbval_lax(processed_folder, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "processed").symlink_to(processed_folder, target_is_directory=True)
    env = {
        **os.environ,
        "SALES_WORKBENCH_DATA": str(data),
        "SALES_WORKBENCH_REPORTS": str(tmp_path / "reports"),
    }
    env.pop("MPLBACKEND", None)
    cmd = [sys.executable, "-m", "pytest", "--nbval-lax", str(paths.NOTEBOOKS_DIR)]
    cmd += ["-p", "no:xdist", "-p", "no:cacheprovider", "-o", "addopts="]
    done = subprocess.run(
        cmd, cwd=paths.PROJ_ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    # Without -q pytest prints one line per notebook file: each one was collected.
    for notebook in paths.NOTEBOOKS_DIR.glob("*.ipynb"):
        assert f"{notebook.name} " in done.stdout, notebook.name
