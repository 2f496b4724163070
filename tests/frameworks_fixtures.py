"""Helpers for the competitor-framework tests: demo tasks, venv checks, the process table."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import psutil
import pytest

from benchmark.execute import SUPERVISOR_ENV, Limits, execute_job
from benchmark.jobs import Job
from benchmark.suites import resolve_suite
from frameworks.base import Constraint
from frameworks.registry import get_framework
from frameworks.environments import venvs_root


def demo_task(name: str = "iris"):
    return next(t for t in resolve_suite("demo").tasks if t.name == name)


def require_venv(framework: str):
    """The adapter, or a skip naming the command that builds its venv."""
    adapter = get_framework(framework)
    if not adapter.is_setup():
        pytest.skip(f"{framework}'s venv is not built in {venvs_root()}; run `python -m benchmark setup {framework}`")
    return adapter


def job(framework: str, budget: int, seed: int = 0, task: str = "iris", cores: int = 1) -> Job:
    return Job(framework, demo_task(task), 0, seed, Constraint(budget, cores, 4096))


def helper_processes(since: float) -> list[psutil.Process]:
    """Processes started after ``since`` that belong to a framework (venv pythons, JVMs, Ray) of a job
    this test process supervises (their environment names it: other runs on the machine do not count)."""
    root = str(venvs_root())
    me = str(os.getpid())
    found = []
    for p in psutil.process_iter(["name", "cmdline", "create_time"]):
        try:
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["create_time"] < since - 1 or p.environ().get(SUPERVISOR_ENV) != me:
                continue
            if root in cmd or "ray::" in cmd or p.info["name"] in ("raylet", "gcs_server", "java") \
                    or "/ray/" in cmd or "h2o.jar" in cmd:
                found.append(p)
        except psutil.Error:
            pass
    return found


def run_watched(run_dir: Path, job_: Job, limits: Limits = Limits()) -> tuple[dict, set[str]]:
    """Run the job through the harness while watching the process table; returns the row and the
    kinds of helper process (java, ray, venv python) seen while it ran."""
    since = time.time()
    box = {}
    worker = threading.Thread(target=lambda: box.update(row=execute_job(run_dir, job_, limits)))
    worker.start()
    seen: set[str] = set()
    while worker.is_alive():
        for p in helper_processes(since):
            try:
                cmd = " ".join(p.cmdline())
            except psutil.Error:
                continue
            seen.add("java" if "h2o.jar" in cmd else "ray" if ("ray" in p.name() or "ray::" in cmd or "/ray/" in cmd)
                     else "python")
        time.sleep(0.5)
    worker.join()
    return box["row"], seen


def leftovers(since: float, wait_s: float = 3.0) -> list[str]:
    """Helper processes still alive ``wait_s`` after a job (a moment for exits to finish)."""
    deadline = time.time() + wait_s
    while True:
        alive = []
        for p in helper_processes(since):
            try:
                if p.status() != psutil.STATUS_ZOMBIE:
                    alive.append(f"{p.pid} {' '.join(p.cmdline())[:150]}")
            except psutil.Error:
                pass
        if not alive or time.time() > deadline:
            return alive
        time.sleep(0.3)


from frameworks.flaml import FLAML  # noqa: E402


class BrokenFLAML(FLAML):
    """Real FLAML asked for a learner it does not have: the framework itself fails inside its venv."""

    def __init__(self, **params):
        super().__init__(estimator_list=["no_such_learner"])

    def venv_name(self) -> str:
        return "flaml"


from frameworks.autosklearn import AutoSklearn  # noqa: E402


class BrokenAutoSklearn(AutoSklearn):
    """Real auto-sklearn 1.0 asked for 1000-fold cross-validation on a small task: its dummy model
    crashes, which it logs as an error in its own log before it raises."""

    def __init__(self, **params):
        super().__init__(resampling_strategy="cv", resampling_strategy_arguments={"folds": 1000})

    def venv_name(self) -> str:
        return "autosklearn"


class SVCOnlyAutoSklearn(AutoSklearn):
    """Real auto-sklearn 1.0 searching libsvm_svc only: on unscaled features a polynomial-kernel fit runs
    for minutes, so the job keeps its budget only if pynisher can stop each run at its limit. Also used
    by bench/bench_overrun.py --svc-only."""

    def __init__(self, **params):
        super().__init__(include={"classifier": ["libsvm_svc"]})

    def venv_name(self) -> str:
        return "autosklearn"


from frameworks.h2o import H2OAutoML  # noqa: E402


class NoCVH2O(H2OAutoML):
    """Real H2O AutoML without cross-validation (``nfolds=0``): it scores its models on a validation
    frame it splits off, as it does by itself on larger data ("Blending will be used")."""

    def __init__(self, **params):
        super().__init__(nfolds=0)


def small_unscaled_binary_task(folder: Path):
    """A small binary task of our own, shaped like the data auto-sklearn overran on: 768 rows, 8 numeric
    features on their raw, very different scales (a polynomial-kernel SVM on them runs for minutes)."""
    import numpy as np
    import pandas as pd
    from sklearn.datasets import make_classification

    X, y = make_classification(n_samples=768, n_features=8, n_informative=5, flip_y=0.1, random_state=0)
    X = X * np.array([3, 30, 20, 15, 100, 8, 0.3, 12]) + np.array([4, 120, 70, 20, 80, 32, 0.5, 33])
    frame = pd.DataFrame(X.round(3), columns=[f"x{i}" for i in range(8)]).assign(outcome=np.where(y, "yes", "no"))
    folder.mkdir(parents=True, exist_ok=True)
    frame.to_csv(folder / "unscaled.csv", index=False)
    (folder / "suite.yaml").write_text("name: small\ndatasets:\n  - {name: unscaled, path: unscaled.csv, target: outcome}\n")
    return resolve_suite(str(folder / "suite.yaml")).tasks[0]
