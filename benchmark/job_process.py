"""Inside one job's own process: load the fold, run the adapter, check and score its predictions.

Run as ``python -m benchmark.job_process JOB_DIR``; reads ``JOB_DIR/job.json`` and always tries to
leave ``JOB_DIR/result.json`` (written atomically) with either scores or a failure kind and
reason. Limits are enforced from outside by ``benchmark.execute``; this process just does the work.

A failure of the framework is ``exception`` (``memory``, ``setup``); a failure of the harness's
own part (loading the fold, checking or scoring the predictions) is ``harness``, never charged to
the framework. A watchdog thread ends the job (its processes, its scratch, its running marker)
within a second when its supervising process is gone, e.g. a runner killed with SIGKILL.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.jobfolder import JobFolder, write_json_atomic
from benchmark.processes import process_tree, terminate

WATCHDOG_POLL_S = 0.5
ORPHAN_GRACE_S = 2.0


class InvalidPredictions(ValueError):
    pass


def watch_supervisor(folder: JobFolder, supervisor: int) -> None:
    """End this job when its supervisor (the process that started it) is gone."""
    def watch():
        while os.getppid() == supervisor:
            time.sleep(WATCHDOG_POLL_S)
        print(f"[harness] supervisor {supervisor} is gone: ending this job", flush=True)
        terminate(process_tree(os.getpid())[1:], None, ORPHAN_GRACE_S)
        folder.clear()
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="supervisor-watchdog", daemon=True).start()


def check_predictions(proba: pd.DataFrame, labels: np.ndarray, n_rows: int, classes: list[str]) -> pd.DataFrame:
    """Return probabilities with one column per training class, or raise InvalidPredictions."""
    if not isinstance(proba, pd.DataFrame):
        raise InvalidPredictions(f"probabilities must be a DataFrame with class columns, got {type(proba).__name__}")
    if len(proba) != n_rows or len(labels) != n_rows:
        raise InvalidPredictions(f"expected {n_rows} test rows, got {len(proba)} probabilities and {len(labels)} labels")
    proba = proba.rename(columns=str)
    unknown = set(proba.columns) - set(classes)
    if unknown:
        raise InvalidPredictions(f"probability columns {sorted(unknown)} are not training classes {classes}")
    proba = proba.reindex(columns=classes, fill_value=0.0).astype(float)
    values = proba.to_numpy()
    if not np.isfinite(values).all() or (values < -1e-6).any() or (values > 1 + 1e-6).any():
        raise InvalidPredictions("probabilities must be finite and within [0, 1]")
    if not np.allclose(values.sum(axis=1), 1.0, atol=1e-3):
        raise InvalidPredictions("probabilities of a row must sum to 1")
    bad_labels = set(map(str, labels)) - set(classes)
    if bad_labels:
        raise InvalidPredictions(f"predicted labels {sorted(bad_labels)[:5]} are not training classes")
    return proba


def score(truth: np.ndarray, labels: np.ndarray, proba: pd.DataFrame) -> dict:
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, roc_auc_score

    classes = list(proba.columns)
    values = np.clip(proba.to_numpy(), 1e-15, 1)
    values = values / values.sum(axis=1, keepdims=True)
    metrics = {"acc": accuracy_score(truth, labels), "balacc": balanced_accuracy_score(truth, labels),
               "logloss": log_loss(truth, values, labels=classes)}
    try:
        if len(classes) == 2:
            metrics["auc"] = roc_auc_score(truth == classes[1], values[:, 1])
        else:
            present = [c for c in classes if c in set(truth)]
            idx = [classes.index(c) for c in present]
            sub = values[:, idx] / values[:, idx].sum(axis=1, keepdims=True)
            metrics["auc"] = roc_auc_score(truth, sub, multi_class="ovr", labels=present)
    except ValueError:           # a test fold with a single class has no AUC
        metrics["auc"] = None
    return metrics


def run(folder: JobFolder) -> int:
    from benchmark.jobs import Job
    from frameworks.registry import get_framework

    job = Job.from_dict(json.loads(folder.spec.read_text()))
    result: dict = {"failure": "", "info": ""}
    stage = "harness"            # whose code runs: a failure is charged to the framework only in its own code
    try:
        train, test, target = job.task.load_fold(job.fold)
        classes = sorted(train[target].astype(str).unique())
        truth = test[target].astype(str).to_numpy()
        stage = "framework"
        framework = get_framework(job.framework)
        result["version"] = framework.version()
        result["type"] = "binary" if len(classes) == 2 else "multiclass"
        t0 = time.perf_counter()
        out = framework.run(train, test.drop(columns=[target]), target, job.constraint, job.seed, folder.path)
        result["framework_duration"] = time.perf_counter() - t0
        result.update(version=out.version or result["version"], models_count=out.models_count,
                      training_duration=out.training_duration, predict_duration=out.predict_duration,
                      params=out.info.get("params", ""))
        labels = out.predicted_labels()
        try:
            proba = check_predictions(out.probabilities, labels, len(test), classes)
        except InvalidPredictions as err:
            result.update(failure="invalid_predictions", info=str(err))
            return 1
        stage = "harness"
        predictions = proba.copy()
        predictions["predictions"], predictions["truth"] = labels, truth
        predictions.to_csv(folder.predictions, index=False)
        result.update(score(truth, labels, proba))
        return 0
    except BaseException as err:  # noqa: BLE001 - every failure becomes a row
        traceback.print_exc()
        from frameworks.base import SetupError

        kind = ("harness" if stage == "harness" else "setup" if isinstance(err, SetupError)
                else "memory" if isinstance(err, MemoryError) else "exception")
        reason = f"{type(err).__name__}: {err}".strip().splitlines()
        result.update(failure=kind, info=(reason[0] if reason else type(err).__name__)[:500])
        return 1
    finally:
        write_json_atomic(folder.result, result)


if __name__ == "__main__":
    job_folder = JobFolder(Path(sys.argv[1]))
    watch_supervisor(job_folder, int(os.environ.get("BENCHMARK_SUPERVISOR_PID", os.getppid())))
    sys.exit(run(job_folder))
