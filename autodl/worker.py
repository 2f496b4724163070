"""The evaluator side: one hpbandster worker process evaluating one configuration at a time.

Each evaluation runs in a child process (forked from a clean forkserver that has the
trainer preloaded) under its own wall-clock and memory limit. Memory is the child's unique
set size (USS): what the evaluation itself holds, not the ~300 MB of torch and friends it
shares copy-on-write with the forkserver. A crash, an overrun,
or running out of memory is recorded with the worst loss and the worker carries on.
The child writes its artifacts to the run directory; only a small summary travels back.

Start a worker (the search does this for local workers; on other nodes run it yourself
with the spec file the search wrote)::

    python -m autodl.worker --spec RUN_DIR/worker_spec.json [--index 3]
"""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import math
import multiprocessing
import os
import pickle
import threading
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import psutil

WORST_LOSS = 1.0          # loss = 1 - validation accuracy, so 1.0 is the worst possible
MIN_EVAL_SECONDS = 1.0    # don't start an evaluation that has less time than this left
POLL_SECONDS = 0.05
MEMORY_POLL_SECONDS = 0.25


@dataclass
class WorkerSpec:
    """Everything a worker process needs; written as JSON by the search."""

    run_id: str
    run_dir: str
    data_path: str
    nameserver: str
    nameserver_port: int
    deadline: float                      # absolute time.time() after which nothing runs
    host: str | None = None              # this worker's interface (multi-node); None = Pyro's default
    eval_time_limit: float | None = None
    eval_memory_mb: int | None = None
    threads: int = 1
    device: str = "cpu"
    seed: int = 0
    patience: int | None = None
    record_gradients: bool = True
    train_fn: str = "autodl.trainer:train_pipeline"
    parent_pid: int | None = None        # exit when this process is gone (orphaned workers)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=1))

    @classmethod
    def load(cls, path: Path) -> "WorkerSpec":
        return cls(**json.loads(Path(path).read_text()))


def eval_tag(config_id, budget) -> str:
    return "_".join(str(int(i)) for i in config_id) + f"_b{float(budget):g}"


def budget_to_epochs(budget: float) -> int:
    """Budgets are epochs; fractional budgets (12.5) round up."""
    return max(1, int(math.ceil(float(budget) - 1e-9)))


def _import(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _train_and_save(spec: dict, config: dict, epochs: int, tag: str) -> dict:
    """Runs inside the child: train on every split, save artifacts, return a summary."""
    with open(spec["data_path"], "rb") as fh:
        data = pickle.load(fh)
    train_fn = _import(spec["train_fn"])
    X, y = data["X"], data["y"]
    val_proba = np.full((len(y), len(data["classes"])), np.nan)
    pipelines, curves, finals = [], [], []
    for train_index, val_index in data["splits"]:
        result = train_fn(config, X.take(train_index), y[train_index], X.take(val_index), y[val_index], epochs,
                          device=spec["device"], threads=spec["threads"], seed=spec["seed"],
                          record_gradients=spec["record_gradients"], patience=spec["patience"],
                          encoder=data["encoder"], classes=data["classes"])
        val_proba[val_index] = result.val_proba
        pipelines.append(result.pipeline)
        curves.append(result.curve)
        finals.append(result.final)
    evaluated = np.concatenate([v for _, v in data["splits"]])
    proba = val_proba[evaluated]
    labels = np.asarray(data["y_codes"])[evaluated]
    accuracy = float((proba.argmax(axis=1) == labels).mean())
    cross_entropy = float(-np.log(np.clip(proba[np.arange(len(labels)), labels], 1e-12, 1)).mean())
    run_dir = Path(spec["run_dir"])
    (run_dir / "models").mkdir(exist_ok=True)
    (run_dir / "curves").mkdir(exist_ok=True)
    (run_dir / "val_predictions").mkdir(exist_ok=True)
    model_path = run_dir / "models" / f"{tag}.pkl"
    with open(model_path, "wb") as fh:
        pickle.dump(pipelines, fh)
    np.save(run_dir / "val_predictions" / f"{tag}.npy", val_proba)
    (run_dir / "curves" / f"{tag}.json").write_text(json.dumps(
        {"config": config, "epochs": epochs, "curves": curves, "results": finals}))
    return {"val_accuracy": accuracy, "val_cross_entropy": cross_entropy,
            "epochs_run": max(len(c) for c in curves), "model_path": str(model_path)}


def _child_main(conn, spec: dict, config: dict, epochs: int, tag: str) -> None:
    try:
        conn.send(("ok", _train_and_save(spec, config, epochs, tag)))
    except BaseException:  # noqa: BLE001 - everything goes back to the worker as a crash record
        conn.send(("crash", traceback.format_exc(limit=5)[-2000:]))
    finally:
        conn.close()


class Evaluator:
    """Runs evaluations in limited child processes; usable without hpbandster (tests, tools)."""

    def __init__(self, spec: WorkerSpec):
        self.spec = spec
        self.context = multiprocessing.get_context("forkserver")
        # the forkserver imports the trainer once; each evaluation then forks in milliseconds
        self.context.set_forkserver_preload(["autodl.trainer", spec.train_fn.partition(":")[0]])
        self.current = None

    def start(self) -> None:
        """Start the forkserver now (it imports torch) rather than at the first evaluation."""
        from multiprocessing import forkserver

        forkserver.ensure_running()

    def evaluate(self, config_id, config: dict, budget: float) -> dict:
        began = time.time()
        epochs = budget_to_epochs(budget)
        tag = eval_tag(config_id, budget)
        info = {"status": "ok", "epochs": epochs, "tag": tag, "t_start": began, "worker_pid": os.getpid()}
        limit = self.spec.deadline - began
        if self.spec.eval_time_limit is not None:
            limit = min(limit, self.spec.eval_time_limit)
        if limit < MIN_EVAL_SECONDS:
            info.update(status="skipped", error="no time left before the search deadline")
        else:
            info.update(self._run_child(config, epochs, tag, limit))
        info["t_end"] = time.time()
        loss = 1.0 - info["val_accuracy"] if info["status"] == "ok" else WORST_LOSS
        return {"loss": float(loss), "info": info}

    def _run_child(self, config, epochs, tag, limit) -> dict:
        receive, send = self.context.Pipe(duplex=False)
        child = self.context.Process(target=_child_main, args=(send, asdict(self.spec), dict(config), epochs, tag),
                                     daemon=True)
        child.start()
        send.close()
        self.current = child
        ends = time.time() + limit
        outcome, memory_checked = None, 0.0
        try:
            try:
                handle = psutil.Process(child.pid)
            except psutil.Error:  # already gone: the loop below reports how it ended
                handle = None
            while outcome is None:
                if receive.poll(POLL_SECONDS):
                    try:
                        status, payload = receive.recv()
                    except EOFError:
                        outcome = {"status": "crash", "error": f"evaluation process died (exit code {child.exitcode})"}
                        break
                    outcome = {"status": "ok", **payload} if status == "ok" else {"status": "crash", "error": payload}
                elif not child.is_alive() and not receive.poll(0):
                    outcome = {"status": "crash", "error": f"evaluation process died (exit code {child.exitcode})"}
                elif time.time() > ends:
                    outcome = {"status": "timeout", "error": f"evaluation exceeded its {limit:.1f} s limit"}
                elif self.spec.eval_memory_mb is not None and time.time() - memory_checked > MEMORY_POLL_SECONDS:
                    memory_checked = time.time()
                    if _memory_mb(handle) > self.spec.eval_memory_mb:
                        outcome = {"status": "memout", "error": f"evaluation exceeded {self.spec.eval_memory_mb} MB"}
        finally:
            if child.is_alive():
                child.kill()
            child.join(5)
            receive.close()
            self.current = None
        return outcome

    def kill_current(self) -> None:
        child = self.current
        if child is not None and child.is_alive():
            child.kill()


def _memory_mb(handle: psutil.Process | None) -> float:
    """Unique set size in MB (RSS where USS is unavailable)."""
    if handle is None:
        return 0.0
    try:
        try:
            return handle.memory_full_info().uss / 2**20
        except psutil.AccessDenied:
            return handle.memory_info().rss / 2**20
    except psutil.Error:
        return 0.0


def _watchdog(spec: WorkerSpec, evaluator: Evaluator, grace: float = 30.0) -> None:
    """Exit when the search process is gone or long past the deadline: no orphaned workers."""
    while True:
        time.sleep(0.5)
        orphaned = spec.parent_pid is not None and not psutil.pid_exists(spec.parent_pid)
        if orphaned or time.time() > spec.deadline + grace:
            evaluator.kill_current()
            os._exit(0)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="autodl BOHB worker")
    parser.add_argument("--spec", required=True, help="worker spec JSON written by the search")
    parser.add_argument("--index", default="0", help="distinguishes several workers started from one spec")
    args = parser.parse_args(argv)
    spec = WorkerSpec.load(args.spec)
    evaluator = Evaluator(spec)
    evaluator.start()  # imports torch in the forkserver while this process imports hpbandster
    from autodl.hpb import Worker  # the serializer fix comes with it

    class EvaluationWorker(Worker):
        def compute(self, config_id, config, budget, working_directory):
            return evaluator.evaluate(config_id, config, budget)

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    threading.Thread(target=_watchdog, args=(spec, evaluator), daemon=True).start()
    worker = EvaluationWorker(run_id=spec.run_id, nameserver=spec.nameserver, nameserver_port=spec.nameserver_port,
                              host=spec.host, id=args.index, logger=logging.getLogger("autodl.worker"))
    worker.run(background=False)


if __name__ == "__main__":
    main()
