"""The loop: nameserver, worker processes, the BOHB master, and the run directory's records.

Run directory layout::

    configs.json, results.json     hpbandster's json_result_logger
    configspace.json, search.json  the search space (ConfigSpace JSON) and the search's settings, run id and
                                   space version
    brackets.jsonl                 one line per bracket: its ladder (rungs, budgets, sizes) and the seconds per
                                   epoch and per evaluation it was planned with, and whether it completed
    evaluations.jsonl              one line per finished evaluation (status, loss, val metrics, times)
    trajectory.jsonl               the incumbent over wall-clock time (seconds since fit started): time, kind,
                                   config_id, budget, loss, val_accuracy
    curves/<tag>.json              per-epoch learning curves (LCBench's tags) of each evaluation
    val_predictions/<tag>.npy      validation class probabilities of each evaluation (rows = all training rows,
                                   NaN where a row was not in a validation split)
    models/<tag>.pkl               fitted pipelines of the ``keep_models`` best evaluations (others are pruned)
    logs/worker_<i>.log            worker output

``<tag>`` is ``<iteration>_<bracket>_<index>_b<budget>``.

Local workers are forked from the calling process (``LocalWorkers``), which should have torch
imported already (``autodl.estimator`` does): a worker then needs no import of its own before it
registers. ``AutoDLClassifier`` forks them at the start of ``fit``, before it encodes the data,
and hands them the search's spec once the nameserver is up.
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autodl.bohb import DeadlineBOHB, PortfolioFirst
from autodl.budgets import BudgetPlanner
from autodl.hpb import NameServer, json_result_logger
from autodl.search_data import read_search_data, write_search_data
from autodl.settings import SearchSettings
from autodl.space import SPACE_VERSION
from autodl.worker import MIN_EVAL_SECONDS, SPEC_FILE, WORST_LOSS, WorkerSpec, eval_tag, freeze_heap_before_fork

__all__ = ["Evaluation", "LocalWorkers", "RunRecorder", "SearchOutcome", "SearchSettings", "read_search_data",
           "run_search", "write_search_data"]

log = logging.getLogger("autodl.search")


@dataclass
class Evaluation:
    config_id: tuple
    budget: float                        # epochs (BOHB's budget)
    loss: float
    status: str                          # ok | crash | timeout | memout | skipped
    config: dict
    info: dict = field(default_factory=dict)
    model_path: str | None = None
    val_predictions_path: str | None = None
    model_based: bool = False            # proposed by BOHB's KDE model (not random, not the portfolio)

    @property
    def tag(self) -> str:
        return eval_tag(self.config_id, self.budget)

    def rank_key(self):
        """Lower is better: loss, then validation cross-entropy, then the larger budget."""
        return (self.loss, self.info.get("val_cross_entropy", float("inf")), -self.budget)


class RunRecorder:
    """hpbandster result logger that also keeps our records, the trajectory and prunes models."""

    def __init__(self, run_dir: Path, started: float, keep_models: int, on_evaluation=None):
        self.run_dir = Path(run_dir)
        self.on_evaluation = on_evaluation   # called with each successful Evaluation, after pruning
        self.json_logger = json_result_logger(str(run_dir), overwrite=True)
        self.started = started
        self.keep_models = keep_models
        self.evaluations: list[Evaluation] = []
        self.incumbent: Evaluation | None = None
        self.config_info: dict[tuple, dict] = {}

    def new_config(self, config_id, config, config_info):
        self.json_logger.new_config(config_id, config, config_info)
        self.config_info[tuple(int(i) for i in config_id)] = dict(config_info or {})

    def __call__(self, job):
        self.json_logger(job)
        result = job.result or {}
        info = dict(result.get("info") or {})
        status = info.get("status", "crash") if job.exception is None else "crash"
        if job.exception is not None:
            info["error"] = str(job.exception)[-2000:]
        config_id = tuple(int(i) for i in job.id)
        evaluation = Evaluation(config_id, float(job.kwargs["budget"]), float(result.get("loss", WORST_LOSS)), status,
                                dict(job.kwargs["config"]), info,
                                model_based=bool(self.config_info.get(config_id, {}).get("model_based_pick")))
        if status == "ok":
            evaluation.model_path = info.get("model_path")
            evaluation.val_predictions_path = str(self.run_dir / "val_predictions" / f"{evaluation.tag}.npy")
        self.evaluations.append(evaluation)
        self._append("evaluations.jsonl", {"config_id": list(evaluation.config_id), "budget": evaluation.budget,
                                           "loss": evaluation.loss, "status": status, "info": info})
        if status == "ok" and (self.incumbent is None or evaluation.rank_key() < self.incumbent.rank_key()):
            self.incumbent = evaluation
            self._append("trajectory.jsonl", {"time": time.time() - self.started, "kind": "incumbent",
                                              "config_id": list(evaluation.config_id), "budget": evaluation.budget,
                                              "loss": evaluation.loss,
                                              "val_accuracy": info.get("val_accuracy")})
        self._prune()
        if status == "ok" and self.on_evaluation is not None:
            try:
                self.on_evaluation(evaluation)
            except Exception:  # noqa: BLE001 - a failing callback must not stop the search
                log.exception("on_evaluation callback failed for %s", evaluation.tag)

    def _append(self, name, record):
        with open(self.run_dir / name, "a") as fh:
            fh.write(json.dumps(record) + "\n")

    def _prune(self):
        kept = sorted((e for e in self.evaluations if e.model_path), key=Evaluation.rank_key)
        for evaluation in kept[self.keep_models:]:
            Path(evaluation.model_path).unlink(missing_ok=True)
            evaluation.model_path = None


@dataclass
class SearchOutcome:
    evaluations: list[Evaluation]
    incumbent: Evaluation | None
    brackets: int                  # started
    completed_brackets: int = 0


def _worker_main(conn, index: int, log_path: str) -> None:
    """A forked worker: its own session (killed as a group), output to its log, then wait for the spec."""
    os.setsid()
    out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(out, 1)
    os.dup2(out, 2)
    try:
        spec_path = conn.recv()
    except EOFError:
        spec_path = None
    conn.close()
    if spec_path is None:
        os._exit(0)
    from autodl.worker import serve

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s", force=True)
    serve(WorkerSpec.load(spec_path), str(index))
    os._exit(0)


class LocalWorkers:
    """``n`` worker processes forked now (from this process, with what it has imported), serving a search
    once ``serve(spec_path)`` tells them which; ``stop()`` ends them with everything they started."""

    def __init__(self, n: int, run_dir: Path):
        (Path(run_dir) / "logs").mkdir(parents=True, exist_ok=True)
        context = multiprocessing.get_context("fork")
        freeze_heap_before_fork(collect=True)
        self.processes, self._pipes = [], []
        for i in range(int(n)):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_worker_main, name=f"autodl-worker-{i}",
                                      args=(receive, i, str(Path(run_dir) / "logs" / f"worker_{i}.log")))
            process.start()
            receive.close()
            self.processes.append(process)
            self._pipes.append(send)

    def serve(self, spec_path: Path) -> None:
        for pipe in self._pipes:
            pipe.send(str(spec_path))
            pipe.close()
        self._pipes = []

    def all_exited(self) -> bool:
        return all(not p.is_alive() for p in self.processes)

    def stop(self, wait: float = 5.0) -> None:
        for pipe in self._pipes:   # never served: they exit on the closed pipe
            pipe.close()
        self._pipes = []
        until = time.time() + wait
        for process in self.processes:
            process.join(max(0.0, until - time.time()))
            try:  # also reaps any evaluation left in the worker's process group
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            process.join()


@contextmanager
def seeded_numpy(seed: int):
    """hpbandster's BOHB samples with numpy's global generator: seed it for the search, restore it after."""
    state = np.random.get_state()
    np.random.seed(int(seed))
    try:
        yield
    finally:
        np.random.set_state(state)


def run_search(space, data_path: Path, run_dir: Path, deadline: float, settings: SearchSettings,
               initial_configs=(), started: float | None = None, on_evaluation=None, slots=None,
               workers: LocalWorkers | None = None) -> SearchOutcome:
    """BOHB over ``space`` until ``deadline`` (time.time()), with ``settings.n_workers`` local workers.

    ``on_evaluation(evaluation)`` is called for every successful evaluation as it arrives (inside the
    evaluation's core slot when ``slots``, an ``autodl.slots.CoreSlots``, is given). ``workers``: local
    workers forked earlier (``LocalWorkers``; stopped here); None forks them now. BOHB's
    sampling is seeded with ``settings.evaluation.seed`` (with one worker a search is reproducible,
    model-based proposals included; ``space`` carries its own seed for random configurations).
    """
    with seeded_numpy(settings.evaluation.seed):
        return _run_search(space, data_path, run_dir, deadline, settings, initial_configs, started, on_evaluation,
                           slots, workers)


def _run_search(space, data_path, run_dir, deadline, settings, initial_configs, started, on_evaluation, slots,
                workers):
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if workers is None:   # forked before this process starts any thread of the nameserver's or the master's
        workers = LocalWorkers(settings.n_workers, run_dir)
    _clear_records(run_dir)
    initial_configs = [dict(c) for c in initial_configs]
    run_id = uuid.uuid4().hex[:12]
    space.to_json(run_dir / "configspace.json", indent=1)
    (run_dir / "search.json").write_text(json.dumps(
        {"run_id": run_id, "space_version": SPACE_VERSION, "settings": asdict(settings),
         "initial_configs": len(initial_configs), "deadline": deadline}, indent=1, default=str))
    quiet = logging.getLogger("autodl.hpbandster")
    quiet.setLevel(logging.WARNING)
    host = None if settings.nic_name else settings.host  # an interface name wins over the default address
    nameserver, master = None, None
    try:
        nameserver = NameServer(run_id=run_id, host=host, port=0, nic_name=settings.nic_name)
        ns_host, ns_port = nameserver.start()
        recorder = RunRecorder(run_dir, started or time.time(), settings.keep_models, on_evaluation)
        generator = PortfolioFirst(space, initial_configs, logger=quiet, **settings.bohb_options())
        planner = None
        if settings.planned_budgets:
            planner = BudgetPlanner(deadline, settings.n_workers, min_budget=settings.auto_min_budget,
                                    eta=settings.eta, max_rungs=settings.max_rungs, cycles=settings.cycles)
        master = DeadlineBOHB(generator, settings.min_budget, settings.max_budget, settings.eta, planner=planner,
                              slots=slots, run_id=run_id, nameserver=ns_host, nameserver_port=ns_port, host=ns_host,
                              result_logger=recorder, working_directory=str(run_dir / "hpbandster"), logger=quiet,
                              ping_interval=10)
        spec = WorkerSpec(run_id=run_id, run_dir=str(run_dir), data_path=str(data_path), nameserver=ns_host,
                          nameserver_port=ns_port, deadline=deadline, host=ns_host, parent_pid=os.getpid(),
                          evaluation=settings.evaluation)
        spec.save(run_dir / SPEC_FILE)   # also what workers on other machines join with (autodl.distributed)
        workers.serve(run_dir / SPEC_FILE)
        registration_deadline = min(deadline, time.time() + settings.worker_start_timeout)
        _wait_for_workers(master, settings.n_workers, registration_deadline, workers, run_dir)
        # nothing new is submitted once an evaluation could not start any more (workers would skip it)
        brackets = master.run_until(deadline - MIN_EVAL_SECONDS, min_n_workers=1,
                                    max_iterations=settings.max_iterations)
        _write_brackets(run_dir, master)
        return SearchOutcome(recorder.evaluations, recorder.incumbent, brackets, master.completed_brackets)
    finally:
        if master is not None:
            master.shutdown(shutdown_workers=True)
        workers.stop()
        if nameserver is not None:
            nameserver.shutdown()


def _write_brackets(run_dir: Path, master: DeadlineBOHB) -> None:
    with open(run_dir / "brackets.jsonl", "w") as fh:
        for plan, iteration in zip(master.brackets, master.iterations):
            fh.write(json.dumps({**plan, "completed": bool(iteration.is_finished)}, default=float) + "\n")


def _clear_records(run_dir: Path) -> None:
    """A reused run directory starts empty of an earlier search's records (they would mix)."""
    for name in ("evaluations.jsonl", "trajectory.jsonl", "brackets.jsonl"):
        (run_dir / name).unlink(missing_ok=True)
    for folder in ("models", "curves", "val_predictions"):
        for path in (run_dir / folder).glob("*"):
            path.unlink()


def _wait_for_workers(master, n, until, workers: LocalWorkers, run_dir) -> None:
    """Wait for all ``n`` workers (or at least one by ``until``); fail fast if they all died.

    hpbandster's dispatcher looks for workers after 1, 2, 4, ... s (up to ``ping_interval``); a worker that
    registers before the dispatcher is listed cannot wake it, so we ask it to look every few tenths of a second.
    """
    looked = 0.0
    while master.dispatcher.number_of_workers() < n and time.time() < until:
        if time.time() - looked > 0.2:
            master.dispatcher.trigger_discover_worker()
            looked = time.time()
        if workers.all_exited():
            tail = (run_dir / "logs" / "worker_0.log").read_text()[-1500:]
            raise RuntimeError(f"all autodl workers exited before registering; worker_0.log ends with:\n{tail}")
        time.sleep(0.05)
    if master.dispatcher.number_of_workers() == 0:
        raise TimeoutError("no autodl worker registered in time; increase time_limit (workers need a few seconds "
                           "to start) or check logs/worker_*.log in the run directory")


