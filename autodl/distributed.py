"""One search, workers on several machines: the contract between whoever starts them and autodl.

A distributed search needs a folder every machine sees (the search's run directory) and an
address the other machines reach the master at. Whoever places the processes (for example the
harness's SLURM executor) writes the environment of the master's process::

    AUTODL_RUN_DIR   the shared run directory of the search
    AUTODL_HOST      the address of the master's machine that workers can reach (nameserver + master bind to it)

``search_options(os.environ)`` turns that environment into ``AutoDLClassifier`` keyword
arguments (empty when the variables are absent: an ordinary local search); the caller passes
them on explicitly. The search writes ``SPEC_FILE`` (nameserver address and port, run id, data
path, deadline) into its run directory; ``join(run_dir, worker_id, host=...)`` on another machine
waits for it and serves evaluations (``autodl.worker.serve``) until the search ends. Whoever ends
the search's process writes ``FINISHED_FILE`` (``mark_finished``) so that workers still waiting
to join give up.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from autodl.worker import SPEC_FILE, WorkerSpec, serve

RUN_DIR_ENV = "AUTODL_RUN_DIR"
HOST_ENV = "AUTODL_HOST"
FINISHED_FILE = "finished"
WAIT_POLL_S = 0.5

__all__ = ["FINISHED_FILE", "HOST_ENV", "RUN_DIR_ENV", "SPEC_FILE", "environment", "join", "mark_finished",
           "prepare_run_dir", "search_options"]

log = logging.getLogger("autodl.distributed")


def environment(run_dir: Path, host: str) -> dict[str, str]:
    """The variables that make the master's ``AutoDLClassifier`` run a search other machines can join."""
    return {RUN_DIR_ENV: str(run_dir), HOST_ENV: str(host)}


def search_options(environ: Mapping[str, str] = os.environ) -> dict:
    """``AutoDLClassifier`` keyword arguments (``run_dir``, ``host``) from that environment; {} without it."""
    if RUN_DIR_ENV not in environ:
        return {}
    return {"run_dir": environ[RUN_DIR_ENV], "host": environ.get(HOST_ENV, "127.0.0.1")}


def prepare_run_dir(run_dir: Path) -> None:
    """Make the shared run directory ready for a (new) attempt: no spec or finished marker of an earlier one."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in (SPEC_FILE, FINISHED_FILE):
        (run_dir / stale).unlink(missing_ok=True)


def mark_finished(run_dir: Path) -> None:
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / FINISHED_FILE).write_text(str(time.time()))


def wait_for_spec(run_dir: Path, give_up: float) -> WorkerSpec | None:
    """The search's worker spec once it is written; None when the search finished first or at ``give_up``."""
    run_dir = Path(run_dir)
    while time.time() < give_up:
        if (run_dir / FINISHED_FILE).exists():
            return None
        if (run_dir / SPEC_FILE).exists():
            return WorkerSpec.load(run_dir / SPEC_FILE)
        time.sleep(WAIT_POLL_S)
    return None


def join(run_dir: Path, worker_id: str, *, host: str | None, give_up_s: float = 3600.0, on_result=None) -> int:
    """Serve evaluations to the search whose run directory is ``run_dir`` from this machine (reached at
    ``host``) until it ends. Returns the number of evaluations (0 when the search ended before we joined)."""
    spec = wait_for_spec(run_dir, time.time() + give_up_s)
    if spec is None:
        log.info("the search ended (or never started) before worker %s could join", worker_id)
        return 0
    # the spec names the master's interface and process: here, our own interface and no parent to watch
    return serve(replace(spec, host=host, parent_pid=None), worker_id, on_result=on_result)
