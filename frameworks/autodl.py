"""autodl, our Auto-PyTorch-style AutoDL system, as a harness framework (runs in the project's venv).

Resources: one worker process per core (one torch thread each); each evaluation may use
``memory_mb / (workers + 2)`` MB (one share for the traditional learner evaluated beside the
network workers, one left for the master, workers and forkservers).
``autodl.AutoDLClassifier`` gets the budget minus a margin for predicting the test rows.
Registry variants pass AutoDLClassifier arguments as parameters (e.g. ``min_budget``).
A distributed search (SLURM ``--autodl-workers``) adds its run directory and host through
``slurm.autodl_distributed.search_options``.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from frameworks.base import Constraint, Framework, FrameworkResult


def predict_margin(budget_s: float) -> float:
    """Seconds of the budget kept for predicting the test rows after fit."""
    return max(3.0, 0.05 * budget_s)


class AutoDL(Framework):
    name = "autodl"

    def version(self) -> str:
        from autodl.version import __version__  # not autodl.__version__: see the note in autodl/version.py

        return __version__

    def run(self, train: pd.DataFrame, test_X: pd.DataFrame, target: str, constraint: Constraint, seed: int,
            workdir: Path) -> FrameworkResult:
        entered = time.perf_counter()
        from autodl.estimator import AutoDLClassifier  # imports torch: seconds, and they count
        from slurm.autodl_distributed import search_options

        X, y = train.drop(columns=[target]), train[target].astype(str)
        workers = max(1, int(constraint.cores))
        spent = time.perf_counter() - entered
        options = {"time_limit": constraint.budget_s - predict_margin(constraint.budget_s) - spent,
                   "n_workers": workers,
                   "threads_per_worker": 1, "memory_limit": max(256, constraint.memory_mb // (workers + 2)),
                   "seed": seed, "device": "cuda" if constraint.gpus else "cpu",
                   "run_dir": str(Path(workdir) / "autodl")}
        options.update(self.params)
        options.update(search_options())
        model = AutoDLClassifier(**options)
        started = time.perf_counter()
        model.fit(X, y)
        fitted = time.perf_counter()
        proba = model.predict_proba(test_X)
        done = time.perf_counter()
        # incumbent_ is None when only traditional learners finished
        incumbent = model.incumbent_ or {"budget": None, "loss": None, "config_id": ()}
        return FrameworkResult(pd.DataFrame(proba, columns=[str(c) for c in model.classes_], index=test_X.index),
                               models_count=model.n_evaluations_, training_duration=fitted - started,
                               predict_duration=done - fitted, version=self.version(),
                               info={"incumbent_budget": incumbent["budget"], "incumbent_loss": incumbent["loss"],
                                     "incumbent_config_id": list(incumbent["config_id"]),
                                     "evaluations": len(model.evaluations_)})
