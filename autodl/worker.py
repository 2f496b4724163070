"""The evaluator side: one hpbandster worker process evaluating one configuration at a time.

Each evaluation runs in a child process under its own wall-clock and memory limit. On the
CPU the child is forked from the worker itself, which has the trainer (torch) imported already
(a local worker is itself forked from the process that runs ``fit``, so nothing imports torch
again and an evaluation starts in milliseconds); with a CUDA device it is forked from a clean
forkserver with the trainer preloaded (CUDA cannot be used in a child forked after it was
initialised). The child uses ``threads`` threads (torch's and the BLAS/OpenMP pools alike) and
reads the search's data memory-mapped (``autodl.search_data``). Memory is the child's unique
set size (USS): what the evaluation itself holds, not the ~300 MB of torch and friends it
shares copy-on-write with its parent. A crash, an overrun,
or running out of memory is recorded with the worst loss and the worker carries on.
The child writes its artifacts to the run directory; only a small summary travels back.

Public entry point: ``serve(spec, worker_id)`` runs one worker until the search ends. The
search forks its local workers (``autodl.search.LocalWorkers``), which call it; workers on other
machines join through ``autodl.distributed.join``, which calls it too, and so does
``python -m autodl.worker --spec RUN_DIR/worker_spec.json --index i`` (a worker started by hand).
"""
from __future__ import annotations

import argparse
import gc
import importlib
import json
import logging
import math
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import psutil

from autodl.metrics import classification_metrics
from autodl.search_data import read_search_data
from autodl.settings import EvaluationSettings

WORST_LOSS = 1.0          # loss = 1 - validation accuracy, so 1.0 is the worst possible
MIN_EVAL_SECONDS = 1.0    # don't start an evaluation that has less time than this left
MEMORY_POLL_SECONDS = 0.25   # how often an evaluation's memory is read (the worker sleeps in between)
SPEC_FILE = "worker_spec.json"   # written by the search into its run directory

log = logging.getLogger("autodl.worker")


@dataclass
class WorkerSpec:
    """Everything a worker process needs; written as JSON by the search (``SPEC_FILE``)."""

    run_id: str
    run_dir: str
    data_path: str
    nameserver: str
    nameserver_port: int
    deadline: float                      # absolute time.time() after which nothing runs
    host: str | None = None              # this worker's interface (multi-node); None = Pyro's default
    parent_pid: int | None = None        # exit when this process is gone (orphaned workers)
    evaluation: EvaluationSettings = field(default_factory=EvaluationSettings)   # the search's, unchanged

    def __post_init__(self):
        if isinstance(self.evaluation, dict):   # read back from JSON
            self.evaluation = EvaluationSettings(**self.evaluation)

    def save(self, path: Path) -> None:
        tmp = Path(path).with_name(f".{Path(path).name}.tmp")   # readers on other nodes never see half a file
        tmp.write_text(json.dumps(asdict(self), indent=1))
        tmp.replace(path)

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


def _train_and_save(run_dir: str, data_path: str, settings: EvaluationSettings, config: dict, epochs: int,
                    tag: str) -> dict:
    """Runs inside the child: train on every split, save artifacts, return a summary."""
    data = read_search_data(data_path)
    train_fn = _import(settings.train_fn)
    X, y = data["X"], data["y"]
    val_proba = np.full((len(y), len(data["classes"])), np.nan)
    pipelines, curves, finals = [], [], []
    for train_index, val_index in data["splits"]:
        result = train_fn(config, X.take(train_index), y[train_index], X.take(val_index), y[val_index], epochs,
                          device=settings.device, threads=settings.threads, seed=settings.seed,
                          record_gradients=settings.record_gradients, patience=settings.patience,
                          encoder=data["encoder"], classes=data["classes"])
        val_proba[val_index] = result.val_proba
        pipelines.append(result.pipeline)
        curves.append(result.curve)
        finals.append(result.final)
    evaluated = np.concatenate([v for _, v in data["splits"]])
    proba = val_proba[evaluated]
    labels = np.asarray(data["y_codes"])[evaluated]
    accuracy, _, cross_entropy = classification_metrics(proba, labels)
    run_dir = Path(run_dir)
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


def freeze_heap_before_fork(collect: bool = False) -> None:
    """Move the objects the cyclic garbage collector tracks to its permanent generation, which it never
    scans: a forked child's collections then leave the parent's pages unwritten, so they stay shared
    instead of being copied into every child (with torch imported, ~100 MB per process). Call right
    before forking; ``collect`` first frees what is garbage already."""
    if collect:
        gc.collect()
    gc.freeze()


def refuse_while_bootstrapping() -> None:
    """Raise if this process is a child of autodl's forkserver still importing the user's script.

    A forkserver's (or spawn's) child re-imports the main script before it runs its task, as Python
    does for every such child; a script that calls ``fit`` at its top level, not under
    ``if __name__ == "__main__":``, would then start a whole search inside every learner's process,
    and its forked workers would outlive that process. multiprocessing marks the child while it
    imports (``_inheriting``): refuse there, with the fix, as Python's own spawn start does."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise RuntimeError("autodl: fit was called while one of autodl's child processes was importing your script: "
                           "put the code that calls fit under `if __name__ == \"__main__\":` (Python's rule for "
                           "scripts whose libraries start processes with forkserver or spawn)")


def start_forkserver(preload) -> None:
    """Start this process's forkserver now (a no-op once it runs), ``preload`` imported in it before its
    first child: its imports then run beside what this process does next."""
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(list(preload))
    forkserver.ensure_running()


def _child_main(conn, run_dir: str, data_path: str, settings: EvaluationSettings, config: dict, epochs: int,
                tag: str) -> None:
    try:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(limits=max(1, settings.threads)):   # BLAS/OpenMP pools: the threads it was given
            summary = _train_and_save(run_dir, data_path, settings, config, epochs, tag)
        conn.send(("ok", summary))
    except BaseException:  # noqa: BLE001 - everything goes back to the worker as a crash record
        conn.send(("crash", traceback.format_exc(limit=5)[-2000:]))
    finally:
        conn.close()


class Evaluator:
    """Runs evaluations in limited child processes; usable without hpbandster (tests, tools)."""

    def __init__(self, spec: WorkerSpec, preload=("autodl.trainer",), start_method: str | None = None):
        """``start_method``: "fork" (children forked from this process) or "forkserver"; None: fork on the
        CPU, forkserver with a CUDA device. ``preload``: modules imported before the first child (with the
        train function's)."""
        self.spec = spec
        self.preload = [*preload, spec.evaluation.train_fn.partition(":")[0]]
        if start_method is None:
            start_method = "forkserver" if str(spec.evaluation.device).startswith("cuda") else "fork"
        self.forked = start_method == "fork"
        self.context = multiprocessing.get_context(start_method)
        if not self.forked:
            self.context.set_forkserver_preload(self.preload)
        self.current = None

    def start(self) -> None:
        """Import the trainer here (CPU: children are forked from this process) or start the forkserver
        (CUDA), rather than at the first evaluation."""
        if self.forked:
            for module in self.preload:
                importlib.import_module(module)
        else:
            start_forkserver(self.preload)

    def evaluate(self, config_id, config: dict, budget: float) -> dict:
        began = time.time()
        epochs = budget_to_epochs(budget)
        tag = eval_tag(config_id, budget)
        info = {"status": "ok", "epochs": epochs, "tag": tag, "t_start": began, "worker_pid": os.getpid()}
        limit = self.spec.deadline - began
        if self.spec.evaluation.eval_time_limit is not None:
            limit = min(limit, self.spec.evaluation.eval_time_limit)
        if limit < MIN_EVAL_SECONDS:
            info.update(status="skipped", error="no time left before the search deadline")
        else:
            info.update(self._run_child(config, epochs, tag, limit))
        info["t_end"] = time.time()
        loss = 1.0 - info["val_accuracy"] if info["status"] == "ok" else WORST_LOSS
        return {"loss": float(loss), "info": info}

    def _run_child(self, config, epochs, tag, limit) -> dict:
        receive, send = self.context.Pipe(duplex=False)
        child = self.context.Process(target=_child_main, daemon=True,
                                     args=(send, self.spec.run_dir, self.spec.data_path, self.spec.evaluation,
                                           dict(config), epochs, tag))
        if self.forked:
            freeze_heap_before_fork()
        child.start()
        send.close()
        self.current = child
        ends = time.time() + limit
        outcome, memory_checked = None, 0.0
        memory_mb = self.spec.evaluation.eval_memory_mb
        try:
            try:
                handle = psutil.Process(child.pid)
            except psutil.Error:  # already gone: the loop below reports how it ended
                handle = None
            while outcome is None:
                # sleep until the child reports or ends (no busy polling), waking for the time and memory checks
                wake = ends - time.time() if memory_mb is None else MEMORY_POLL_SECONDS
                multiprocessing.connection.wait([receive, child.sentinel], max(0.0, min(wake, ends - time.time())))
                if receive.poll(0):
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
                elif memory_mb is not None and time.time() - memory_checked > MEMORY_POLL_SECONDS:
                    memory_checked = time.time()
                    if _memory_mb(handle) > memory_mb:
                        outcome = {"status": "memout", "error": f"evaluation exceeded {memory_mb} MB"}
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


def serve(spec: WorkerSpec, worker_id: str = "0", *, on_result=None) -> int:
    """Be one of the search's workers until it ends; returns the number of evaluations.

    Registers with the search's nameserver (``spec.nameserver``/``nameserver_port``, run ``spec.run_id``)
    from interface ``spec.host``, evaluates what the master sends (each in a limited child process), and
    returns when the master shuts its workers down or goes away. A watchdog ends the process once the
    search's process (``spec.parent_pid``) is gone or the deadline is long past. ``worker_id`` must be
    unique within the search; ``on_result(config_id, config, budget, result)`` is called after each
    evaluation (e.g. to keep a per-worker record).
    """
    evaluator = Evaluator(spec)
    evaluator.start()  # a no-op in a worker forked from fit's process: torch is imported already
    from autodl.hpb import Worker  # the serializer fix comes with it

    count = 0

    class EvaluationWorker(Worker):
        def compute(self, config_id, config, budget, working_directory):
            nonlocal count
            result = evaluator.evaluate(config_id, config, budget)
            count += 1
            if on_result is not None:
                on_result(config_id, config, budget, result)
            return result

    threading.Thread(target=_watchdog, args=(spec, evaluator), daemon=True).start()
    worker = EvaluationWorker(run_id=spec.run_id, nameserver=spec.nameserver, nameserver_port=spec.nameserver_port,
                              host=spec.host, id=worker_id, logger=log)
    try:
        worker.run(background=False)
    except Exception as err:  # noqa: BLE001 - the master went away: its search is over
        log.warning("worker %s stopped: %s", worker_id, err)
    return count


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="autodl BOHB worker")
    parser.add_argument("--spec", required=True, help="worker spec JSON written by the search")
    parser.add_argument("--index", default="0", help="distinguishes several workers started from one spec")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    serve(WorkerSpec.load(args.spec), args.index)


if __name__ == "__main__":
    main()
