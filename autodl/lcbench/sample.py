"""Evaluate random LCBench configurations on every dataset of a suite for the full number of epochs.

One JSON file per (dataset, configuration), written atomically (temporary file + rename), so an
interrupted sample keeps every finished evaluation and a rerun skips them. The unit of work,
`evaluate_unit(SampleUnit)`, is a plain function of a picklable argument: local worker
processes run it here, and a SLURM executor can dispatch the same units.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autodl.lcbench.datasets import VAL_FRACTION, load_splits
from autodl.lcbench.space import sample_configs, to_trainer_config

MANIFEST = "sample.json"
SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SampleUnit:
    dataset: str
    task: object  # picklable, with .load_fold(fold), .source and .ref (benchmark TaskSpec or FileDataset)
    config_id: int
    config: dict  # LCBench's names (autodl.lcbench.space)
    epochs: int
    seed: int
    path: str  # the result file to write

    @property
    def done(self) -> bool:
        return Path(self.path).exists()


def result_path(out: Path, dataset: str, config_id: int) -> Path:
    return out / "runs" / dataset / f"config_{config_id}.json"


def write_json_atomically(path: Path, payload: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(payload, fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def evaluate_unit(unit: SampleUnit) -> str:
    """Train one configuration on one dataset; write its LCBench record {config, log, results}."""
    from autodl.trainer import train_pipeline

    splits = load_splits(unit.task)
    classes = np.unique(np.concatenate([splits.y_train, splits.y_val, splits.y_test]))
    result = train_pipeline(to_trainer_config(unit.config), splits.X_train, splits.y_train, splits.X_val, splits.y_val,
                            unit.epochs, X_test=splits.X_test, y_test=splits.y_test, threads=1, seed=unit.seed,
                            record_gradients=True, classes=classes)
    tags = list(dict.fromkeys(tag for record in result.curve for tag in record))
    log = {tag: [record.get(tag) for record in result.curve] for tag in tags}
    results = dict(result.final)
    results.update({
        "model_parameters": int(sum(p.numel() for m in result.pipeline.models for p in m.parameters())),
        "OpenML_task_id": int(unit.task.ref) if getattr(unit.task, "source", None) == "openml" else None,
        "test_split": round(len(splits.y_test) / splits.instances, 4),
        "budget": unit.epochs, "seed": unit.seed,
        "instances": splits.instances, "classes": splits.classes, "features": splits.features,
    })
    write_json_atomically(Path(unit.path), {"dataset": unit.dataset, "config_id": unit.config_id,
                                            "config": unit.config, "log": log, "results": results})
    return unit.path


def plan(tasks: list, n_configs: int, epochs: int, seed: int, out: Path) -> list[SampleUnit]:
    """The same n_configs configurations (sampled with `seed`) for every dataset."""
    configs = sample_configs(n_configs, seed=seed, epochs=epochs)
    return [SampleUnit(task.name, task, i, config, epochs, seed, str(result_path(out.resolve(), task.name, i)))
            for task in tasks for i, config in enumerate(configs)]


def check_manifest(out: Path, settings: dict) -> None:
    """A folder holds one sample: refuse to mix settings that would make its files incomparable."""
    path = out / MANIFEST
    if path.exists():
        before = json.loads(path.read_text())
        changed = {k: (before.get(k), v) for k, v in settings.items() if k != "datasets" and before.get(k) != v}
        if changed:
            what = ", ".join(f"{k} was {old}, now {new}" for k, (old, new) in changed.items())
            raise ValueError(f"{out} holds a sample with other settings ({what}); "
                             "rerun with the same settings to resume, or pass another --out")
        settings = {**settings, "datasets": sorted(set(before.get("datasets", [])) | set(settings["datasets"]))}
    write_json_atomically(path, settings)


def run_sample(tasks: list, n_configs: int, epochs: int, out: Path, *, seed: int = 0, workers: int = 1,
               slurm: dict | None = None, log=print) -> tuple[int, int, list[str]]:
    """Evaluate every missing unit; returns (evaluated, skipped, failures).

    slurm: None to run here with `workers` processes, else the keyword arguments of
    autodl.lcbench.slurm.submit_units (profile_path, minutes, memory_mb) plus `wait`.
    """
    check_manifest(out, {"schema": SCHEMA_VERSION, "configs": n_configs, "epochs": epochs, "seed": seed,
                         "val_fraction": VAL_FRACTION, "datasets": [t.name for t in tasks]})
    units = plan(tasks, n_configs, epochs, seed, out)
    todo = [u for u in units if not u.done]
    skipped = len(units) - len(todo)
    where = "as a SLURM array" if slurm is not None else f"with {workers} worker(s)"
    log(f"{len(units)} evaluations ({len(tasks)} datasets x {n_configs} configurations, {epochs} epochs): "
        f"{skipped} already done, {len(todo)} to run {where}")
    failures, started = [], time.perf_counter()

    def report(unit, error):
        if error:
            failures.append(f"{unit.dataset} config {unit.config_id}: {error}")
            log(f"FAILED {unit.dataset} config {unit.config_id}: {error}")
        else:
            log(f"done {unit.dataset} config {unit.config_id} ({time.perf_counter() - started:.0f} s)")

    if slurm is not None:
        from autodl.lcbench.slurm import submit_units, wait_for

        options = dict(slurm)
        wait = options.pop("wait", True)
        jobs = submit_units(todo, out, log=log, **options) if todo else []
        if not wait:
            log("not waiting: rerun the same command later to see what is missing (finished files are kept)")
            return 0, skipped, []
        wait_for(jobs, todo, report)
    elif workers <= 1:
        for unit in todo:
            report(unit, _run_catching(unit))
    else:
        # spawn: torch and forked worker threads do not mix
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(_run_catching, unit): unit for unit in todo}
            for future in as_completed(futures):
                report(futures[future], future.result())
    return len(todo) - len(failures), skipped, failures


def _run_catching(unit: SampleUnit) -> str | None:
    """None on success, else the last line of the error: one failed evaluation must not stop the rest."""
    try:
        evaluate_unit(unit)
        return None
    except Exception as err:  # noqa: BLE001 - reported per unit, the files of the others stay usable
        traceback.print_exc(file=sys.stderr)
        return f"{type(err).__name__}: {err}"

