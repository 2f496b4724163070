"""autodl, our Auto-PyTorch-style AutoDL system, as a harness framework (runs in the project's venv).

Resources: one worker process per core (one torch thread each); autodl never runs more
evaluations (networks and traditional learners together) than cores at a time, so each may use
``memory_mb / (workers + 1)`` MB (one share left for the master, the idle workers and the data).
``autodl.AutoDLClassifier`` fits until ``constraint.fit_deadline`` (the budget less the predict
margin, ``frameworks.base``). Registry variants pass AutoDLClassifier arguments as parameters
(e.g. ``min_budget``). When the job runs as the master of a distributed search, its environment
carries autodl's contract (``AUTODL_RUN_DIR``, ``AUTODL_HOST``, see ``autodl.distributed``), read
here with ``autodl.distributed.search_options``; where the job runs is not this adapter's business.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from frameworks.base import Constraint, Framework, FrameworkResult


class AutoDL(Framework):
    name = "autodl"

    def version(self) -> str:
        from autodl.version import __version__  # not autodl.__version__: see the note in autodl/version.py

        return __version__

    def run(self, train: pd.DataFrame, test_X: pd.DataFrame, target: str, constraint: Constraint, seed: int,
            workdir: Path) -> FrameworkResult:
        fit_deadline = constraint.fit_deadline(time.time())
        from autodl.distributed import search_options
        from autodl.estimator import AutoDLClassifier  # imports torch: seconds, and they count

        X, y = train.drop(columns=[target]), train[target].astype(str)
        workers = max(1, int(constraint.cores))
        options = {"time_limit": fit_deadline - time.time(), "n_workers": workers,
                   "threads_per_worker": 1, "memory_limit": max(256, constraint.memory_mb // (workers + 1)),
                   "seed": seed, "device": "cuda" if constraint.gpus else "cpu",
                   "run_dir": str(Path(workdir) / "autodl")}
        options.update(self.params)
        options.update(search_options(os.environ))
        model = AutoDLClassifier(**options)
        started = time.perf_counter()
        model.fit(X, y)
        fitted = time.perf_counter()
        proba = model.predict_proba(test_X)
        done = time.perf_counter()
        # incumbent_ is None when only traditional learners finished. Its budget is in epochs (BOHB's),
        # named so in the row: the harness's "budget" is seconds.
        incumbent = model.incumbent_ or {"epochs": None, "loss": None, "config_id": ()}
        return FrameworkResult(pd.DataFrame(proba, columns=[str(c) for c in model.classes_], index=test_X.index),
                               models_count=model.n_evaluations_, training_duration=fitted - started,
                               predict_duration=done - fitted, version=self.version(),
                               info={"incumbent_epochs": incumbent["epochs"], "incumbent_loss": incumbent["loss"],
                                     "incumbent_config_id": list(incumbent["config_id"]),
                                     "evaluations": len(model.evaluations_)})
