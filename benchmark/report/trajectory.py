"""Anytime performance: the trajectories that frameworks log in their job folders.

A framework that logs one writes ``*trajectory*.jsonl`` files anywhere under its job folder
(autodl: ``jobs/autodl/<task>/fold0_seed0/<its run dir>/trajectory.jsonl``), one JSON object a
line, written whenever its incumbent (or ensemble) improved::

    {"time": 12.3, "val_accuracy": 0.91, "test_accuracy": 0.90, "kind": "incumbent", ...}

``time`` is seconds since the search started. ``kind`` is ``incumbent`` or ``ensemble``; without
it, a file whose name contains ``ensemble`` holds the ensemble's, any other the incumbent's.
``test_accuracy`` is there only when the framework scored its predictions along the way. Lines
that are not JSON objects with a time (a line being written while the run goes on) are skipped.

The competitors' adapters write the same format from the frameworks' own records, one line per
model or ensemble that became available (``jobs/<framework>/<task>/<run>/anytime/trajectory.jsonl``,
see ``frameworks/exec/exec_common.write_anytime``)::

    {"time": 4.2, "kind": "model", "val_accuracy": 0.93, "model": "LightGBM", "source": "..."}

A ``model`` line is one model, not an incumbent: the incumbent is the best validation accuracy of
the run's models so far, derived here. ``"time": null`` (with ``"timing": "none"``) marks a model
the framework reported without saying when it was built: such points are kept with a NaN time, so
a figure can say which frameworks gave no timing instead of placing them anywhere.
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
    models = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict):
            continue
        t = _first(record, TIME_KEYS)
        untimed = record.get("timing") == "none" and record.get("time", 0) is None
        if np.isnan(t) and not untimed:
            continue
        kind = record.get("kind") if record.get("kind") in ("incumbent", "ensemble", "model") else default_kind
        row = {"kind": kind, "time": t, "val": _first(record, VAL_KEYS), "test": _first(record, TEST_KEYS)}
        (models if kind == "model" else rows).append(row)
    return rows + _incumbents(models)


def _incumbents(models: list[dict]) -> list[dict]:
    """Models in the order they became available -> the best validation accuracy so far (untimed
    models stay as they are, with kind ``incumbent`` and no time)."""
    timed = sorted((m for m in models if not np.isnan(m["time"])), key=lambda m: m["time"])
    out, best = [], -np.inf
    for m in timed:
        if not np.isnan(m["val"]) and m["val"] > best:
            best = m["val"]
            out.append({**m, "kind": "incumbent"})
    return out + [{**m, "kind": "incumbent"} for m in models if np.isnan(m["time"])]


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
    for _, run in timed(points).dropna(subset=[value]).groupby("run"):
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
    times = timed(points)["time"]
    if times.empty:
        return np.linspace(0, float(budget_s or 1), n)
    end = max(float(times.max()), float(budget_s or 0))
    start = max(float(times.min()), 1e-3)
    return np.unique(np.concatenate([np.linspace(0, end, n), times.to_numpy(), [start, end]]))


def timed(points: pd.DataFrame) -> pd.DataFrame:
    """The points with a time (what can be drawn over time)."""
    return points[points["time"].notna()]


def untimed(points: pd.DataFrame) -> dict[str, int]:
    """Framework -> how many of its points came without timing (see the module's docstring)."""
    missing = points[points["time"].isna()]
    return {str(fw): int(n) for fw, n in missing.groupby("framework").size().items()}


def _step(times: np.ndarray, values: np.ndarray, grid: np.ndarray) -> np.ndarray:
    idx = np.searchsorted(times, grid, side="right") - 1
    return np.where(idx >= 0, values[np.clip(idx, 0, None)], np.nan)


def best_so_far(points: pd.DataFrame, grid: np.ndarray) -> dict[tuple[str, str], np.ndarray]:
    """(framework, task) -> mean over its runs of the best validation accuracy available by each grid
    time (incumbent or ensemble, whichever is higher); NaN before any run has a point."""
    out = {}
    for (fw, task), g in timed(points).dropna(subset=["val"]).groupby(["framework", "task"], sort=True):
        curves = []
        for _, run in g.groupby("run"):
            run = run.sort_values("time")
            curves.append(_step(run["time"].to_numpy(), np.maximum.accumulate(run["val"].to_numpy()), grid))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[(str(fw), str(task))] = np.nanmean(np.vstack(curves), axis=0)
    return out


def normalised_summary(points: pd.DataFrame, grid: np.ndarray) -> tuple[pd.DataFrame, list[str]]:
    """Mean over datasets of each framework's normalised best validation accuracy over time: per
    dataset, 0 is the lowest and 1 the highest value any framework's curve reaches on it, and a
    framework counts as 0 until its first model there (nothing is available yet; averaging only the
    datasets that have started would make the mean jump down when a slow one starts). Returns rows
    (framework, time, mean, datasets) and the datasets left out (one framework or all equal)."""
    curves = best_so_far(points, grid)
    by_task: dict[str, dict[str, np.ndarray]] = {}
    for (fw, task), curve in curves.items():
        by_task.setdefault(task, {})[fw] = curve
    normalised: dict[str, list[np.ndarray]] = {}
    skipped = []
    for task, per_fw in sorted(by_task.items()):
        stack = np.vstack(list(per_fw.values()))
        lo, hi = np.nanmin(stack), np.nanmax(stack)
        if len(per_fw) < 2 or not hi - lo > 1e-12:
            skipped.append(task)
            continue
        for fw, curve in per_fw.items():
            normalised.setdefault(fw, []).append(np.nan_to_num((curve - lo) / (hi - lo), nan=0.0))
    rows = []
    for fw, arrays in sorted(normalised.items()):
        mean = np.vstack(arrays).mean(axis=0)
        rows += [{"framework": fw, "time": t, "mean": m, "datasets": len(arrays)} for t, m in zip(grid, mean)]
    return pd.DataFrame(rows, columns=["framework", "time", "mean", "datasets"]), skipped
