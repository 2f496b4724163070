"""Harness overheads, measured side by side in one run (not a test).

1. Per-job overhead: wall time of a ``constantpredictor`` job through the runner (job process,
   limits, validation, scoring, locked append) divided by the wall time of the same work (load the
   fold, fit, predict) in a bare Python process. Target: harness cost under 2 s per job.
2. Time to build the comparison table from 100,000 result rows. Target: under 2 s.
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmark.execute import execute_job  # noqa: E402
from benchmark.jobs import Job  # noqa: E402
from benchmark.results import COLUMNS  # noqa: E402
from benchmark.suites import resolve_suite  # noqa: E402
from benchmark.table import comparison_table  # noqa: E402
from frameworks.base import Constraint  # noqa: E402

BARE = """
from benchmark.suites import resolve_suite
from frameworks.registry import get_framework
from frameworks.base import Constraint
task = resolve_suite("demo").select(["iris"]).tasks[0]
train, test, target = task.load_fold(0)
get_framework("constantpredictor").run(train, test.drop(columns=[target]), target, Constraint(10), 0, None)
"""


def per_job_overhead(repeats: int = 5) -> None:
    task = resolve_suite("demo").select(["iris"]).tasks[0]
    bare, harness = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", BARE], check=True)
            bare.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            execute_job(Path(tmp), Job("constantpredictor", task, 0, i, Constraint(10, 1, 2048)))
            harness.append(time.perf_counter() - t0)
    b, h = statistics.median(bare), statistics.median(harness)
    print(f"per-job: bare process {b:.2f} s, through the runner {h:.2f} s, ratio {h / b:.2f}x, "
          f"harness cost {h - b:.2f} s (target < 2 s)")


def table_from_rows(n: int = 100_000) -> None:
    rng = np.random.default_rng(0)
    frameworks = [f"fw{i}" for i in range(5)]
    tasks = [f"task{i}" for i in range(100)]
    df = pd.DataFrame({c: None for c in COLUMNS}, index=range(n))
    df["framework"] = rng.choice(frameworks, n)
    df["task"] = rng.choice(tasks, n)
    df["seed"] = rng.integers(0, 10, n)
    df["fold"] = rng.integers(0, 10, n)
    df["result"] = rng.random(n)
    df["failure"] = np.where(rng.random(n) < 0.02, "timeout", "")
    df.loc[df["failure"] != "", "result"] = np.nan
    t0 = time.perf_counter()
    text = comparison_table(df, "md")
    dt = time.perf_counter() - t0
    print(f"table: {n} rows -> {len(text.splitlines())} lines in {dt:.2f} s (target < 2 s)")


if __name__ == "__main__":
    per_job_overhead()
    table_from_rows()
