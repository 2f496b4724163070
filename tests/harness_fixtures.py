"""Helpers shared by the runner's tests."""
from __future__ import annotations

from pathlib import Path

import psutil


def job_processes(run_dir: Path) -> list[psutil.Process]:
    """Live job processes of the run folder ``run_dir``."""
    out = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if "benchmark.job_process" in cmd and str(run_dir) in cmd:
            out.append(p)
    return out
