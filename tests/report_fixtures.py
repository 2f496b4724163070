"""Synthetic run folders for the report tests, written with the harness's own store."""
from __future__ import annotations

import json
from pathlib import Path

from benchmark.results import append_row
from benchmark.runfolder import open_run

FRAMEWORKS = ("constantpredictor", "randomforest", "autodl", "lightgbm")
TASKS = ("iris", "wine", "digits")
IDENTITY = {"suite": "demo", "budget": 10, "cores": 1, "memory_mb": 4096, "gpus": 0}


def make_run(run_dir: Path, rows: list[dict], identity: dict | None = None, planned: dict | None = None) -> Path:
    """A run folder holding ``rows``: dicts with framework, task, seed, acc (None + failure for a
    failed job) and optionally fold, failure, info, duration, peak_memory_mb, models_count, overrun.
    ``planned`` (frameworks, tasks, folds, seeds) is what the invocation asked for, to leave jobs pending."""
    identity = {**IDENTITY, **(identity or {})}
    frameworks = list(dict.fromkeys(r["framework"] for r in rows))
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    invocation = planned or {"frameworks": frameworks, "tasks": tasks, "folds": sorted({r.get("fold", 0) for r in rows}),
                             "seeds": sorted({r["seed"] for r in rows})}
    open_run(run_dir, identity, invocation)
    for r in rows:
        fold = r.get("fold", 0)
        failure = r.get("failure", "" if r.get("acc") is not None else "exception")
        append_row(run_dir, {
            "id": r["task"], "task": r["task"], "framework": r["framework"], "constraint": "test", "fold": fold,
            "type": "binary", "result": None if failure else r["acc"], "metric": "acc", "mode": "local",
            "version": "1.0", "seed": r["seed"], "info": r.get("info", "boom" if failure else ""),
            "acc": None if failure else r["acc"], "duration": r.get("duration", 5.0),
            "training_duration": r.get("duration", 5.0), "models_count": r.get("models_count", 1),
            "budget": identity["budget"], "cores": identity["cores"], "memory_mb": identity["memory_mb"],
            "gpus": identity["gpus"], "failure": failure, "peak_memory_mb": r.get("peak_memory_mb", 200.0),
            "overrun": r.get("overrun", -0.5), "job": f"{r['framework']}/{r['task']}/fold{fold}_seed{r['seed']}"})
    return run_dir


def write_trajectory(run_dir: Path, framework: str, task: str, seed: int, points: list[dict],
                     name: str = "trajectory.jsonl", subdir: str = "search") -> Path:
    """A trajectory file where a framework such as autodl writes it: under its job folder."""
    path = Path(run_dir) / "jobs" / framework / task / f"fold0_seed{seed}" / subdir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(p) + "\n" for p in points))
    return path


def rows(frameworks=FRAMEWORKS, tasks=TASKS, seeds=(0, 1, 2)) -> list[dict]:
    """Every job succeeds; accuracy grows with the framework's position, the task's and the seed."""
    out = []
    for ti, task in enumerate(tasks):
        for seed in seeds:
            for fi, fw in enumerate(frameworks):
                acc = 0.3 if fw == "constantpredictor" else 0.8 + 0.03 * fi + 0.01 * ti + 0.002 * seed
                out.append({"framework": fw, "task": task, "seed": seed, "acc": acc,
                             "duration": 3.0 + fi, "peak_memory_mb": 100.0 * (fi + 1), "models_count": 1 + 10 * fi})
    return out


def make_messy_run(run_dir: Path) -> Path:
    """Failures of several kinds and a run still going: digits has seeds 0-1 of 0-2 for everyone,
    lightgbm timed out on wine in every seed and ran out of memory once on iris."""
    out = [r for r in rows() if not (r["task"] == "digits" and r["seed"] == 2)]
    for r in out:
        if r["framework"] == "lightgbm" and (r["task"] == "wine" or (r["task"] == "iris" and r["seed"] == 1)):
            r.update(acc=None, failure="timeout" if r["task"] == "wine" else "memory",
                     info="exceeded the wall-clock limit of 32 s" if r["task"] == "wine" else "exceeded 4096 MB")
    planned = {"frameworks": list(FRAMEWORKS), "tasks": list(TASKS), "folds": [0], "seeds": [0, 1, 2]}
    run = make_run(run_dir, out, planned=planned)
    for seed in (0, 1, 2):   # the records autodl writes (autodl/search.py, autodl/ensemble.py)
        write_trajectory(run, "autodl", "iris", seed, [
            {"time": 1.0 + seed, "config_id": [0, 0, 0], "budget": 12.5, "loss": 0.3, "val_accuracy": 0.7},
            {"time": 6.0, "config_id": [0, 0, 1], "budget": 25.0, "loss": 0.1, "val_accuracy": 0.9,
             "test_accuracy": 0.88}], subdir="autodl")
        write_trajectory(run, "autodl", "iris", seed, [
            {"time": 7.0, "val_loss": 0.07, "val_accuracy": 0.93, "val_cross_entropy": 0.2,
             "members": [["0_0_1_b25", 0.6], ["0_0_0_b12.5", 0.4]]}], name="ensemble_trajectory.jsonl", subdir="autodl")
    return run
