"""One autodl search over several SLURM array tasks (``--autodl-workers N``), as Auto-PyTorch did.

The ``master`` array task runs the benchmark job as usual (``execute_job`` -> job process ->
autodl adapter). Through two environment variables, which the job process inherits, the
adapter puts the search's run directory in the shared run folder and binds the hpbandster
nameserver and master to an address the other nodes can reach:

    AUTODL_RUN_DIR   the shared search directory (``jobs/<key>/hpbandster``)
    AUTODL_HOST      this node's address (``$AUTOML_BENCH_NIC`` names an interface, e.g. ib0)

``autodl.search.run_search`` then writes ``worker_spec.json`` (nameserver host and port, run
id, data path, deadline) into that directory: these are the credentials. Each ``worker``
array task waits for them and runs an autodl evaluator (``autodl.worker.Evaluator``) behind
an hpbandster ``Worker`` on its own node; the master's dispatcher picks it up when it
registers, and shuts it down when the search ends. A ``finished`` marker written by the
master task ends workers that never got to register.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import replace
from pathlib import Path

SPEC_FILE = "worker_spec.json"
FINISHED_FILE = "finished"
RUN_DIR_ENV = "AUTODL_RUN_DIR"
HOST_ENV = "AUTODL_HOST"
NIC_ENV = "AUTOML_BENCH_NIC"
WAIT_POLL_S = 0.5

log = logging.getLogger("slurm.autodl")


def node_address() -> str:
    """The address other nodes reach this one at: the interface named by $AUTOML_BENCH_NIC, else the
    address the host name resolves to."""
    nic = os.environ.get(NIC_ENV)
    if nic:
        from autodl.hpb import nic_name_to_host  # noqa: PLC0415 - hpbandster only in autodl tasks

        return nic_name_to_host(nic)
    return socket.gethostbyname(socket.gethostname())


def master_environment(search_dir: Path, workers: int) -> dict[str, str]:
    """Prepare the shared search directory for a (new) attempt and return the job process's env."""
    search_dir.mkdir(parents=True, exist_ok=True)
    for stale in (SPEC_FILE, FINISHED_FILE):     # from an earlier attempt (requeue, resume)
        (search_dir / stale).unlink(missing_ok=True)
    return {RUN_DIR_ENV: str(search_dir), HOST_ENV: node_address(), "AUTODL_REMOTE_WORKERS": str(workers - 1)}


def mark_finished(search_dir: Path) -> None:
    search_dir.mkdir(parents=True, exist_ok=True)
    (search_dir / FINISHED_FILE).write_text(str(time.time()))


def search_options() -> dict:
    """Keyword arguments for ``AutoDLClassifier`` when running as the master of a distributed search
    (empty otherwise): adapters pass them through."""
    if RUN_DIR_ENV not in os.environ:
        return {}
    return {"run_dir": os.environ[RUN_DIR_ENV], "host": os.environ.get(HOST_ENV, "127.0.0.1")}


def _wait_for_spec(search_dir: Path, give_up: float) -> Path | None:
    spec = search_dir / SPEC_FILE
    while time.time() < give_up:
        if (search_dir / FINISHED_FILE).exists():
            return None
        if spec.exists():
            return spec
        time.sleep(WAIT_POLL_S)
    return None


def run_worker(search_dir: Path, index: int, give_up_s: float = 3600.0) -> int:
    """Serve evaluations to the master's search until it ends. Returns the number of evaluations."""
    from autodl.hpb import Worker  # noqa: PLC0415 - importing hpb installs the numpy serializer fix
    from autodl.worker import Evaluator, WorkerSpec, _watchdog

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    spec_path = _wait_for_spec(search_dir, time.time() + give_up_s)
    if spec_path is None:
        log.info("the search ended (or never started) before this worker could join")
        return 0
    # the master's spec names the master's interface and process: on this node, use our own
    spec = replace(WorkerSpec.load(spec_path), host=node_address(), parent_pid=None)
    evaluator = Evaluator(spec)
    record = search_dir / f"remote_worker_{index}.jsonl"
    count = 0

    class RemoteWorker(Worker):
        def compute(self, config_id, config, budget, working_directory):
            nonlocal count
            result = evaluator.evaluate(config_id, config, budget)
            count += 1
            with open(record, "a") as fh:
                fh.write(json.dumps({"config_id": list(config_id), "budget": budget, "loss": result["loss"],
                                     "host": socket.gethostname()}) + "\n")
            return result

    threading.Thread(target=_watchdog, args=(spec, evaluator), daemon=True).start()   # ends us at the deadline
    worker = RemoteWorker(run_id=spec.run_id, nameserver=spec.nameserver, nameserver_port=spec.nameserver_port,
                          host=spec.host, id=f"remote{index}", logger=logging.getLogger("slurm.autodl.worker"))
    try:
        worker.run(background=False)
    except Exception as err:  # noqa: BLE001 - the master went away: its search is over
        log.info("worker %s stopped: %s", index, err)
    log.info("worker %s evaluated %d configuration(s)", index, count)
    return count
