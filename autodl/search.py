"""The loop: nameserver, worker processes, the BOHB master, and the run directory's records.

Run directory layout::

    configs.json, results.json     hpbandster's json_result_logger
    configspace.json, search.json  the search space (ConfigSpace JSON) and the search's settings, run id and
                                   space version
    evaluations.jsonl              one line per finished evaluation (status, loss, val metrics, times)
    trajectory.jsonl               the incumbent over wall-clock time (seconds since fit started): time, kind,
                                   config_id, budget, loss, val_accuracy
    curves/<tag>.json              per-epoch learning curves (LCBench's tags) of each evaluation
    val_predictions/<tag>.npy      validation class probabilities of each evaluation (rows = all training rows,
                                   NaN where a row was not in a validation split)
    models/<tag>.pkl               fitted pipelines of the ``keep_models`` best evaluations (others are pruned)
    logs/worker_<i>.log            worker output

``<tag>`` is ``<iteration>_<bracket>_<index>_b<budget>``.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from autodl.bohb import DeadlineBOHB, PortfolioFirst
from autodl.hpb import NameServer, json_result_logger
from autodl.settings import SearchSettings
from autodl.space import SPACE_VERSION
from autodl.worker import MIN_EVAL_SECONDS, SPEC_FILE, WORST_LOSS, WorkerSpec, eval_tag

__all__ = ["Evaluation", "RunRecorder", "SearchOutcome", "SearchSettings", "run_search", "write_search_data"]

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
    brackets: int


def write_search_data(path: Path, X, y, y_codes, classes, encoder, splits) -> None:
    """The data every evaluation loads: encoded features, labels and the validation splits."""
    with open(path, "wb") as fh:
        pickle.dump({"X": X, "y": y, "y_codes": y_codes, "classes": classes, "encoder": encoder,
                     "splits": splits}, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _start_workers(spec_path: Path, n: int, run_dir: Path) -> list[subprocess.Popen]:
    (run_dir / "logs").mkdir(exist_ok=True)
    procs = []
    for i in range(n):
        with open(run_dir / "logs" / f"worker_{i}.log", "ab") as out:
            procs.append(subprocess.Popen([sys.executable, "-m", "autodl.worker", "--spec", str(spec_path),
                                           "--index", str(i)], stdout=out, stderr=subprocess.STDOUT,
                                          start_new_session=True))  # own group: killed as a whole
    return procs


def _stop_workers(procs: list[subprocess.Popen], wait: float = 5.0) -> None:
    until = time.time() + wait
    for proc in procs:
        try:
            proc.wait(max(0.0, until - time.time()))
        except subprocess.TimeoutExpired:
            pass
        try:  # also reaps the forkserver and any evaluation left in the worker's process group
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        proc.wait()


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
               initial_configs=(), started: float | None = None, on_evaluation=None) -> SearchOutcome:
    """BOHB over ``space`` until ``deadline`` (time.time()), with ``settings.n_workers`` local workers.

    ``on_evaluation(evaluation)`` is called for every successful evaluation as it arrives. BOHB's
    sampling is seeded with ``settings.evaluation.seed`` (with one worker a search is reproducible,
    model-based proposals included; ``space`` carries its own seed for random configurations).
    """
    with seeded_numpy(settings.evaluation.seed):
        return _run_search(space, data_path, run_dir, deadline, settings, initial_configs, started, on_evaluation)


def _run_search(space, data_path, run_dir, deadline, settings, initial_configs, started, on_evaluation):
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
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
    nameserver = NameServer(run_id=run_id, host=host, port=0, nic_name=settings.nic_name)
    ns_host, ns_port = nameserver.start()
    master, procs = None, []
    try:
        recorder = RunRecorder(run_dir, started or time.time(), settings.keep_models, on_evaluation)
        generator = PortfolioFirst(space, initial_configs, logger=quiet, **settings.bohb_options())
        master = DeadlineBOHB(generator, settings.min_budget, settings.max_budget, settings.eta, run_id=run_id,
                              nameserver=ns_host, nameserver_port=ns_port, host=ns_host, result_logger=recorder,
                              working_directory=str(run_dir / "hpbandster"), logger=quiet, ping_interval=10)
        spec = WorkerSpec(run_id=run_id, run_dir=str(run_dir), data_path=str(data_path), nameserver=ns_host,
                          nameserver_port=ns_port, deadline=deadline, host=ns_host, parent_pid=os.getpid(),
                          evaluation=settings.evaluation)
        spec.save(run_dir / SPEC_FILE)   # also what workers on other machines join with (autodl.distributed)
        procs = _start_workers(run_dir / SPEC_FILE, settings.n_workers, run_dir)
        registration_deadline = min(deadline, time.time() + settings.worker_start_timeout)
        _wait_for_workers(master, settings.n_workers, registration_deadline, procs, run_dir)
        # nothing new is submitted once an evaluation could not start any more (workers would skip it)
        brackets = master.run_until(deadline - MIN_EVAL_SECONDS, min_n_workers=1,
                                    max_iterations=settings.max_iterations)
        return SearchOutcome(recorder.evaluations, recorder.incumbent, brackets)
    finally:
        if master is not None:
            master.shutdown(shutdown_workers=True)
        _stop_workers(procs)
        nameserver.shutdown()


def _clear_records(run_dir: Path) -> None:
    """A reused run directory starts empty of an earlier search's records (they would mix)."""
    for name in ("evaluations.jsonl", "trajectory.jsonl"):
        (run_dir / name).unlink(missing_ok=True)
    for folder in ("models", "curves", "val_predictions"):
        for path in (run_dir / folder).glob("*"):
            path.unlink()


def _wait_for_workers(master, n, until, procs, run_dir) -> None:
    """Wait for all ``n`` workers (or at least one by ``until``); fail fast if they all died."""
    while master.dispatcher.number_of_workers() < n and time.time() < until:
        if all(p.poll() is not None for p in procs):
            tail = (run_dir / "logs" / "worker_0.log").read_text()[-1500:]
            raise RuntimeError(f"all autodl workers exited before registering; worker_0.log ends with:\n{tail}")
        time.sleep(0.05)
    if master.dispatcher.number_of_workers() == 0:
        raise TimeoutError("no autodl worker registered in time; increase time_limit (workers need a few seconds "
                           "to start) or check logs/worker_*.log in the run directory")


