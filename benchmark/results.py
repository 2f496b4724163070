"""The results store: ``results.csv`` in AMLB's column order plus ours, one row per finished job.

Rows are appended as each job ends, under a file lock, with a single ``write`` of a whole line to
a file opened in append mode, so a runner killed at any moment leaves every finished row intact.
A torn last line (a writer killed mid-write, or a full disk) is cut off under the lock before the
next append. On reading, a line that is not a row of this schema (garbage, a wrong number of
fields, a value of the wrong kind) is skipped with a warning naming the file and line, so ``run``,
``status``, ``table`` and ``report`` always read the same rows.
"""
from __future__ import annotations

import csv
import io
import os
import sys
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
SCHEMA_VERSION = 2   # 2: failure kind ``harness``; OpenML tasks named by their dataset

# Failure kinds recorded in the ``failure`` column (empty for a success). ``harness``: the harness's own
# data loading or scoring failed, which is never charged to the framework.
FAILURE_KINDS = ("exception", "timeout", "memory", "killed", "invalid_predictions", "setup", "node_failure",
                 "harness")

RESULTS_FILE = "results.csv"
_NUMERIC = ("fold", "seed", "result", "duration", "acc", "auc", "balacc", "logloss", "budget", "cores",
            "memory_mb", "gpus", "peak_memory_mb", "overrun", "training_duration", "predict_duration",
            "models_count")
_INTEGER = ("fold", "seed", "cores", "memory_mb", "gpus")
_warned: set[tuple[str, int]] = set()


def _line(row: dict) -> str:
    def cell(value):
        return "" if value is None else " ".join(str(value).splitlines())   # one row, one line
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerow([cell(row.get(c)) for c in COLUMNS])
    return buf.getvalue()


def append_row(run_dir: Path, row: dict) -> None:
    """Append one result row atomically (locked, one write, fsynced), repairing a torn tail first."""
    unknown = set(row) - set(COLUMNS)
    if unknown:
        raise ValueError(f"unknown result columns {sorted(unknown)}; the schema is benchmark.results.COLUMNS")
    path = Path(run_dir) / RESULTS_FILE
    with FileLock(str(path) + ".lock"):
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            size = _repair_tail(fd, os.fstat(fd).st_size, path)
            data = _line(row).encode()
            if size == 0:
                data = _line({c: c for c in COLUMNS}).encode() + data
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)


def _repair_tail(fd: int, size: int, path: Path) -> int:
    """Cut a last line that has no newline (it was never a finished row); return the new size."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return size
    keep, end = 0, size
    while end > 0:                      # the last newline, reading backwards in blocks
        start = max(0, end - (1 << 16))
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            keep = start + cut + 1
            break
        end = start
    os.ftruncate(fd, keep)
    print(f"warning: {path}: removed a torn last line ({size - keep} bytes) left by an interrupted write",
          file=sys.stderr)
    return keep


def read_rows(path: Path) -> list[dict]:
    """The readable rows of a results file, in file order; unreadable lines are skipped with a warning."""
    lines = path.read_text(errors="replace").split("\n")
    if lines and lines[-1] != "":
        lines[-1] = ""          # a torn last line: never a finished row (repaired before the next append)
    rows = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        fields = next(csv.reader([line]), [])
        if number == 1:
            if fields != COLUMNS:
                raise ValueError(f"{path} does not start with the results header of this harness (schema "
                                 f"{SCHEMA_VERSION}); use another --out folder")
            continue
        problem = _row_problem(fields)
        if problem:
            _warn(path, number, problem)
            continue
        rows.append(dict(zip(COLUMNS, fields)))
    return rows


def _row_problem(fields: list[str]) -> str | None:
    if len(fields) != len(COLUMNS):
        return f"{len(fields)} fields where a row has {len(COLUMNS)}"
    row = dict(zip(COLUMNS, fields))
    if not row["job"] or not row["framework"] or not row["task"]:
        return "no job, framework or task"
    if row["failure"] not in ("", *FAILURE_KINDS):
        return f"unknown failure kind {row['failure'][:40]!r}"
    for col in _NUMERIC:
        if row[col]:
            try:
                value = float(row[col])
            except ValueError:
                return f"{col} is not a number ({row[col][:40]!r})"
            if col in _INTEGER and not value.is_integer():
                return f"{col} is not a whole number ({row[col]!r})"
        elif col in ("fold", "seed"):
            return f"no {col}"
    return None


def _warn(path: Path, number: int, problem: str) -> None:
    if (str(path), number) not in _warned:
        _warned.add((str(path), number))
        print(f"warning: {path} line {number} is not a result row ({problem}); skipped", file=sys.stderr)


def read_results(run_dir: Path) -> pd.DataFrame:
    """All rows of a run, later rows of the same job replacing earlier ones (reruns of failures)."""
    path = Path(run_dir) / RESULTS_FILE
    rows = read_rows(path) if path.exists() else []
    if not rows:
        return pd.DataFrame(columns=COLUMNS)
    df = pd.read_csv(io.StringIO(_csv(rows)), dtype={"task": str, "framework": str, "info": str, "failure": str,
                                                     "version": str, "job": str, "constraint": str})
    return df.drop_duplicates(subset="job", keep="last").reset_index(drop=True)


def _csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()
