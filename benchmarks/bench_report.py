"""Benchmark: a full report run on the sample CRM at scale.

For each size: generate and ingest the sample (setup, timed separately),
then run ``sales-workbench report`` on it as a scheduled run would and print
the seconds per notebook, the total, and the peak memory of the whole process
tree (runner plus kernels, sampled every 0.2 s). Separately, the start-up
overhead of one notebook: a notebook that only imports ``analysis``, run
through papermill five times.

Usage::

    .venv/bin/python benchmarks/bench_report.py                  # 100k and 1M deals
    .venv/bin/python benchmarks/bench_report.py --deals 100000 --workers 2
    .venv/bin/python benchmarks/bench_report.py --data data/processed  # existing data

Record the figures in benchmarks/README.md with the machine they came from.
Not a test: timings belong here, not in the suite.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
from child import run_in_child  # benchmarks/child.py, beside this script

PREPARE = """
import sys
from analysis.core import paths
from analysis.ingest import ingest
from analysis.sample import generate_sample, write_sample
write_sample(generate_sample(n_deals=int(sys.argv[1]), seed=1), sys.argv[2])
ingest(sys.argv[2], sys.argv[3], map_path=paths.SAMPLE_MAP_FILE)
"""

STARTUP = """
import sys
import papermill
papermill.execute_notebook(sys.argv[1], sys.argv[2], kernel_name="python3", progress_bar=False)
"""

_LOG_LINE = re.compile(r" (\S+): (ok|FAILED.*) \(([\d.]+)s\)$")


def _tree_rss_mb(proc: psutil.Process) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def run_report(data: Path, workers: int) -> tuple[float, float, dict[str, float], int]:
    """Seconds, peak tree memory (MB), seconds per notebook and the exit code of one run."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "analysis", "report", "--data-dir", str(data)]
        cmd += ["--reports-dir", tmp, "--run-id", "bench", "--workers", str(workers)]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        watched, peak = psutil.Process(proc.pid), 0.0
        while proc.poll() is None:
            try:
                peak = max(peak, _tree_rss_mb(watched))
            except psutil.Error:
                pass
            time.sleep(0.2)
        seconds = time.perf_counter() - start
        log = Path(tmp) / "bench" / "run.log"
        per_notebook = {}
        if log.exists():
            for line in log.read_text().splitlines():
                match = _LOG_LINE.search(line)
                if match:
                    per_notebook[match.group(1)] = float(match.group(3))
    return seconds, peak, per_notebook, proc.returncode


def startup_overhead(repeats: int = 5) -> list[float]:
    """Seconds to run a notebook that only imports ``analysis``, through papermill."""
    with tempfile.TemporaryDirectory() as tmp:
        nb = nbformat.v4.new_notebook()
        nb.cells = [
            nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("import analysis\nfrom analysis import present"),
        ]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
        path = Path(tmp) / "empty.ipynb"
        nbformat.write(nb, path)
        # Import time of papermill itself is paid once per run, not per notebook:
        # time only the execute call, in one child process per repeat.
        code = (
            "import time, papermill, sys\nt = time.perf_counter()\n"
            + STARTUP.split("import papermill\n")[1]
            + "print(time.perf_counter() - t)"
        )
        times = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", code, str(path), str(Path(tmp) / "out.ipynb")],
                capture_output=True,
                text=True,
                check=True,
            )
            times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--data", type=Path, default=None, help="existing processed folder")
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GB, Python {platform.python_version()}"
    )
    startup = startup_overhead()
    print(
        f"notebook start-up (kernel + import analysis): median {statistics.median(startup):.2f} s "
        f"(runs: {', '.join(f'{t:.2f}' for t in startup)})",
        flush=True,
    )
    sizes = [None] if args.data else args.deals
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            data = args.data
            if data is None:
                export, data = Path(tmp) / "export", Path(tmp) / "processed"
                prep_s, prep_mb = run_in_child(PREPARE, str(n), str(export), str(data))
                print(f"\n{n:,} deals: generate + ingest {prep_s:.1f} s, peak {prep_mb:.0f} MB")
            seconds, peak, per_notebook, code = run_report(data, args.workers)
            label = f"{n:,} deals" if n else str(data)
            print(
                f"report on {label}, {args.workers} workers: total {seconds:.1f} s, "
                f"peak memory (runner + kernels) {peak:,.0f} MB, exit code {code}"
            )
            for name, secs in per_notebook.items():
                print(f"  {name:<28} {secs:7.1f} s")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
