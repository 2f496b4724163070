"""Test-only adapters for SLURM tests; array tasks import them as ``tests.slurm_adapters:Name``
(the repository root is on their PYTHONPATH)."""
from __future__ import annotations

import time

import pandas as pd

from frameworks.base import Framework, FrameworkResult


class AutoDLDistributed(Framework):
    """A tiny autodl search that joins the SLURM-distributed search when run as its master."""

    def version(self) -> str:
        return "test"

    def run(self, train, test_X, target, constraint, seed, workdir):
        import os

        from autodl.distributed import search_options
        from autodl.estimator import AutoDLClassifier

        options = {"run_dir": str(workdir / "search"), **search_options(os.environ)}
        clf = AutoDLClassifier(time_limit=constraint.budget_s, n_workers=1, seed=seed, device="auto", min_budget=1,
                               max_budget=2, eta=2, keep_models=2, record_gradients=False, **options)
        t0 = time.perf_counter()
        clf.fit(train.drop(columns=[target]), train[target].astype(str))
        fitted = time.perf_counter() - t0
        proba = pd.DataFrame(clf.predict_proba(test_X), columns=[str(c) for c in clf.classes_])
        return FrameworkResult(proba, models_count=clf.n_evaluations_, training_duration=fitted,
                               info={"params": f"run_dir={options['run_dir']}"})
