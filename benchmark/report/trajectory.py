"""Anytime performance: the trajectories that frameworks log in their job folders.

A framework that logs one writes ``*trajectory*.jsonl`` files anywhere under its job folder
(autodl: ``jobs/autodl/<task>/fold0_seed0/<its run dir>/trajectory.jsonl``), one JSON object a
line, written whenever its incumbent (or ensemble) improved::

    {"time": 12.3, "val_accuracy": 0.91, "test_accuracy": 0.90, "kind": "incumbent", ...}

``time`` is seconds since the search started. ``kind`` is ``incumbent`` or ``ensemble``; without
it, a file whose name contains ``ensemble`` holds the ensemble's, any other the incumbent's.
``test_accuracy`` is there only when the framework scored its predictions along the way. Lines
that are not JSON objects with a time (a line being written while the run goes on) are skipped.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

TIME_KEYS = ("time", "wallclock_time", "elapsed")
VAL_KEYS = ("val_accuracy", "val_acc")
TEST_KEYS = ("test_accuracy", "test_acc")
COLUMNS = ["framework", "task", "run", "kind", "time", "val", "test"]


def _first(record: dict, keys) -> float:
    for key in keys:
        value = record.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
            return float(value)
    return np.nan


def read_file(path: Path, default_kind: str) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return rows
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        t = _first(record, TIME_KEYS)
        if np.isnan(t):
            continue
        kind = record.get("kind") if record.get("kind") in ("incumbent", "ensemble") else default_kind
        rows.append({"kind": kind, "time": t, "val": _first(record, VAL_KEYS), "test": _first(record, TEST_KEYS)})
    return rows


def read_trajectories(run_dirs: list[Path]) -> pd.DataFrame:
    """Every trajectory point of every job folder: framework, task, run (fold/seed), kind, time, val, test."""
    rows = []
    for run_dir in run_dirs:
        jobs = Path(run_dir) / "jobs"
        for path in sorted(jobs.glob("*/*/*/**/*trajectory*.jsonl")):
            framework, task, run = path.relative_to(jobs).parts[:3]
            kind = "ensemble" if "ensemble" in path.name else "incumbent"
            rows += [{"framework": framework, "task": task, "run": run, **r} for r in read_file(path, kind)]
    return pd.DataFrame(rows, columns=COLUMNS)


def average_curve(points: pd.DataFrame, value: str, grid: np.ndarray) -> pd.DataFrame:
    """Mean, min and max over runs of a step function (the last value logged at or before each
    grid time); a run contributes from its first point on. Columns: time, mean, lo, hi, runs."""
    curves = []
    for _, run in points.dropna(subset=[value]).groupby("run"):
        run = run.sort_values("time")
        idx = np.searchsorted(run["time"].to_numpy(), grid, side="right") - 1
        values = run[value].to_numpy()
        curves.append(np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan))
    if not curves:
        return pd.DataFrame(columns=["time", "mean", "lo", "hi", "runs"])
    stack = np.vstack(curves)
    have = (~np.isnan(stack)).sum(axis=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN columns before any run's first point
        out = pd.DataFrame({"time": grid, "mean": np.nanmean(stack, axis=0), "lo": np.nanmin(stack, axis=0),
                            "hi": np.nanmax(stack, axis=0), "runs": have})
    return out[out["runs"] > 0].reset_index(drop=True)


def time_grid(points: pd.DataFrame, budget_s: float | None, n: int = 200) -> np.ndarray:
    end = max(float(points["time"].max()), float(budget_s or 0))
    start = max(float(points["time"].min()), 1e-3)
    return np.unique(np.concatenate([np.linspace(0, end, n), points["time"].to_numpy(), [start, end]]))
