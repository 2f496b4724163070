"""Evaluate random LCBench configurations on every dataset for the full number of epochs.

One JSON file per (dataset, configuration), written atomically (temporary file + rename), so an
interrupted sample keeps every finished evaluation and a rerun skips them. The unit of work,
``evaluate_unit(SampleUnit)``, is a plain function of a picklable argument; *where* units run is
the caller's choice: ``run_sample`` hands the missing units to a ``submit`` callable
(``local_submit(workers)`` here; the harness has a SLURM one, ``slurm.lcbench``) that runs
``evaluate_catching`` on each and yields ``(unit, error or None)`` as units end.

Run files (``runs/<dataset>/config_<id>.json``) keep the trainer's scale (accuracies as
fractions); ``autodl.lcbench.export`` writes LCBench's layout and scale.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autodl.lcbench.datasets import VAL_FRACTION, load_splits
from autodl.lcbench.space import sample_configs, to_trainer_config

MANIFEST = "sample.json"
SCHEMA_VERSION = 2   # 2: configurations name the loss really used (cross_entropy, unweighted)


@dataclass(frozen=True)
class SampleUnit:
    dataset: str
    data: object  # picklable: .name, .openml_task_id, .load() (autodl.lcbench.datasets)
    config_id: int
    config: dict  # LCBench's names (autodl.lcbench.space)
    epochs: int
    seed: int
    path: str  # the result file to write

    @property
    def done(self) -> bool:
        return Path(self.path).exists()


# submit(units) runs evaluate_catching on each unit and yields (unit, error or None) as each ends
Submit = Callable[[list[SampleUnit]], Iterable[tuple[SampleUnit, "str | None"]]]


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

    splits = load_splits(unit.data)
    classes = np.unique(np.concatenate([splits.y_train, splits.y_val, splits.y_test]))
    result = train_pipeline(to_trainer_config(unit.config), splits.X_train, splits.y_train, splits.X_val, splits.y_val,
                            unit.epochs, X_test=splits.X_test, y_test=splits.y_test, threads=1, seed=unit.seed,
                            record_gradients=True, classes=classes)
    tags = list(dict.fromkeys(tag for record in result.curve for tag in record))
    log = {tag: [record.get(tag) for record in result.curve] for tag in tags}
    results = dict(result.final)
    results.update({
        "model_parameters": int(sum(p.numel() for m in result.pipeline.models for p in m.parameters())),
        "OpenML_task_id": unit.data.openml_task_id,
        "test_split": round(len(splits.y_test) / splits.instances, 4),
        "budget": unit.epochs, "seed": unit.seed,
        "instances": splits.instances, "classes": splits.classes, "features": splits.features,
    })
    write_json_atomically(Path(unit.path), {"dataset": unit.dataset, "config_id": unit.config_id,
                                            "config": unit.config, "log": log, "results": results})
    return unit.path


def evaluate_catching(unit: SampleUnit) -> str | None:
    """None on success, else the last line of the error: one failed evaluation must not stop the rest."""
    try:
        evaluate_unit(unit)
        return None
    except Exception as err:  # noqa: BLE001 - reported per unit, the files of the others stay usable
        traceback.print_exc(file=sys.stderr)
        return f"{type(err).__name__}: {err}"


def local_submit(workers: int = 1) -> Submit:
    """Run units on this machine: in this process (``workers`` <= 1) or in ``workers`` spawned processes."""
    def submit(units: list[SampleUnit]) -> Iterator[tuple[SampleUnit, str | None]]:
        if workers <= 1:
            for unit in units:
                yield unit, evaluate_catching(unit)
            return
        # spawn: torch and forked worker threads do not mix
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            futures = {pool.submit(evaluate_catching, unit): unit for unit in units}
            for future in as_completed(futures):
                yield futures[future], future.result()
    return submit


def plan(datasets: list, n_configs: int, epochs: int, seed: int, out: Path) -> list[SampleUnit]:
    """The same n_configs configurations (sampled with `seed`) for every dataset."""
    configs = sample_configs(n_configs, seed=seed, epochs=epochs)
    return [SampleUnit(data.name, data, i, config, epochs, seed, str(result_path(out.resolve(), data.name, i)))
            for data in datasets for i, config in enumerate(configs)]


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


def run_sample(datasets: list, n_configs: int, epochs: int, out: Path, *, seed: int = 0,
               submit: Submit | None = None, where: str = "here", log=print) -> tuple[int, int, list[str]]:
    """Evaluate every missing unit with ``submit`` (default: here, one process); returns
    (evaluated, skipped, failures). Units ``submit`` does not report on (e.g. submitted to a queue
    without waiting) count as neither evaluated nor failed: a rerun picks up what is still missing."""
    check_manifest(out, {"schema": SCHEMA_VERSION, "configs": n_configs, "epochs": epochs, "seed": seed,
                         "val_fraction": VAL_FRACTION, "datasets": [d.name for d in datasets]})
    units = plan(datasets, n_configs, epochs, seed, out)
    todo = [u for u in units if not u.done]
    skipped = len(units) - len(todo)
    log(f"{len(units)} evaluations ({len(datasets)} datasets x {n_configs} configurations, {epochs} epochs): "
        f"{skipped} already done, {len(todo)} to run {where}")
    failures, evaluated, started = [], 0, time.perf_counter()
    for unit, error in (submit or local_submit(1))(todo) if todo else []:
        if error:
            failures.append(f"{unit.dataset} config {unit.config_id}: {error}")
            log(f"FAILED {unit.dataset} config {unit.config_id}: {error}")
        else:
            evaluated += 1
            log(f"done {unit.dataset} config {unit.config_id} ({time.perf_counter() - started:.0f} s)")
    return evaluated, skipped, failures
