"""Run one benchmark step in a child Python and measure it.

Each step gets its own process so that its peak resident memory is its
own, not the benchmark driver's. Shared by every ``bench_*.py`` script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time


def run_in_child(code: str, *args: str) -> tuple[float, float]:
    """Run ``code`` in a child Python; return (seconds, peak RSS in MB)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {code.strip().splitlines()[-1]}")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB
