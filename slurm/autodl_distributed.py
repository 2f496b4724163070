"""One autodl search over several SLURM array tasks (``--autodl-workers N``), as Auto-PyTorch did.

The ``master`` array task runs the benchmark job as usual (``execute_job`` -> job process ->
autodl adapter) with the environment of ``master_environment``, which the job process inherits:
autodl's documented contract (``autodl.distributed``: ``AUTODL_RUN_DIR``, ``AUTODL_HOST``) puts
the search's run directory in the shared run folder and binds the hpbandster nameserver and
master to this node's address (``$AUTOML_BENCH_NIC`` names an interface, e.g. ib0). The adapter
reads it with ``autodl.distributed.search_options``; it never imports this module.

Each ``worker`` array task calls ``run_worker``: autodl's public ``autodl.distributed.join``
waits for the search's worker spec in that directory and serves evaluations from this node
until the search ends. The master task writes the finished marker when its job is over, which
ends workers that never got to register.
"""
from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

from autodl import distributed

NIC_ENV = "AUTOML_BENCH_NIC"

log = logging.getLogger("slurm.autodl")


def node_address() -> str:
    """The address other nodes reach this one at: the interface named by $AUTOML_BENCH_NIC, else the
    address the host name resolves to."""
    nic = os.environ.get(NIC_ENV)
    if nic:
        from autodl.hpb import nic_name_to_host  # noqa: PLC0415 - hpbandster only in autodl tasks

        return nic_name_to_host(nic)
    return socket.gethostbyname(socket.gethostname())


def master_environment(search_dir: Path) -> dict[str, str]:
    """Prepare the shared search directory for a (new) attempt and return the job process's env
    (workers join as they start: their number is not part of the contract)."""
    distributed.prepare_run_dir(search_dir)
    return distributed.environment(search_dir, node_address())


def mark_finished(search_dir: Path) -> None:
    distributed.mark_finished(search_dir)


def run_worker(search_dir: Path, index: int, give_up_s: float = 3600.0) -> int:
    """Serve evaluations to the master's search until it ends. Returns the number of evaluations."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    record = Path(search_dir) / f"remote_worker_{index}.jsonl"
    host = socket.gethostname()

    def keep(config_id, config, budget, result):
        with open(record, "a") as fh:
            fh.write(json.dumps({"config_id": list(config_id), "budget": budget, "loss": result["loss"],
                                 "host": host}) + "\n")

    count = distributed.join(search_dir, f"remote{index}", host=node_address(), give_up_s=give_up_s, on_result=keep)
    log.info("worker %s evaluated %d configuration(s)", index, count)
    return count
