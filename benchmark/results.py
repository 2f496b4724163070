"""The results store: ``results.csv`` in AMLB's column order plus ours, one row per finished job.

Rows are appended as each job ends, under a file lock, with a single ``write`` of a whole line
to a file opened in append mode, so a runner killed at any moment leaves every finished row
intact and never a half row (a torn trailing line, impossible in practice, is ignored on read).
"""
from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pandas as pd
from filelock import FileLock

# AMLB's columns, in AMLB's order, so AMLB's own tools read our results.
AMLB_COLUMNS = [
    "id", "task", "framework", "constraint", "fold", "type", "result", "metric", "mode", "version",
    "params", "app_version", "utc", "duration", "training_duration", "predict_duration",
    "models_count", "seed", "info", "acc", "auc", "balacc", "logloss",
]
# Ours, after AMLB's.
EXTRA_COLUMNS = [
    "budget", "cores", "memory_mb", "gpus", "failure", "peak_memory_mb", "overrun", "job",
]
COLUMNS = AMLB_COLUMNS + EXTRA_COLUMNS
SCHEMA_VERSION = 1

# Failure kinds recorded in the ``failure`` column (empty for a success).
FAILURE_KINDS = ("exception", "timeout", "memory", "killed", "invalid_predictions", "setup", "node_failure")

RESULTS_FILE = "results.csv"


def _line(row: dict) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow(["" if row.get(c) is None else row.get(c) for c in COLUMNS])
    return buf.getvalue()


def append_row(run_dir: Path, row: dict) -> None:
    """Append one result row atomically (locked, one write, fsynced)."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown result columns {sorted(unknown)}; the schema is benchmark.results.COLUMNS")
    path = Path(run_dir) / RESULTS_FILE
    with FileLock(str(path) + ".lock"):
        data = b""
        if not path.exists() or path.stat().st_size == 0:
            data += _line({c: c for c in COLUMNS}).encode()
        data += _line(row).encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def read_results(run_dir: Path) -> pd.DataFrame:
    """All rows of a run, later rows of the same job replacing earlier ones (reruns of failures)."""
    path = Path(run_dir) / RESULTS_FILE
    if not path.exists():
        return pd.DataFrame(columns=COLUMNS)
    text = path.read_text()
    if text and not text.endswith("\n"):   # a torn last line: drop it, it was never a finished row
        text = text[: text.rfind("\n") + 1]
    df = pd.read_csv(io.StringIO(text), dtype={"task": str, "framework": str, "info": str, "failure": str,
                                                "version": str, "job": str, "constraint": str})
    if df.empty:
        return df
    return df.drop_duplicates(subset="job", keep="last").reset_index(drop=True)
