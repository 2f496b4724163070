"""One runner per run folder.

``run`` holds an exclusive lock on ``<run>/.runner.lock`` for as long as it plans, runs and records
jobs; a second ``run`` on the same folder exits at once, naming the holder from ``runner.json``.
The lock is a kernel file lock (flock), so it dies with its holder: a runner killed with SIGKILL
leaves no stale lock. ``status``, ``table`` and ``report`` only read and take no lock; SLURM array
tasks append their rows under the results file's own lock, not this one.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_FILE = ".runner.lock"
HOLDER_FILE = "runner.json"


class RunFolderInUse(RuntimeError):
    """Another runner holds the run folder."""


@contextmanager
def hold_run_folder(run_dir: Path, record: bool = True):
    """Hold ``run_dir`` (created if missing) for this process; raise RunFolderInUse when another runner
    holds it. ``record`` writes this runner into ``runner.json`` for the error message of others."""
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(run_dir / LOCK_FILE), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise RunFolderInUse(f"results folder {run_dir} is in use by another runner ({_holder(run_dir)}); wait for "
                             "it to finish, stop it, or use another --out") from None
    try:
        if record:
            holder = {"pid": os.getpid(), "host": socket.gethostname(), "argv": sys.argv,
                      "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            (run_dir / HOLDER_FILE).write_text(json.dumps(holder, indent=1))
        yield
    finally:
        lock.release()


def ensure_not_in_use(run_dir: Path) -> None:
    """Raise RunFolderInUse now when another runner holds ``run_dir`` (creates nothing)."""
    if Path(run_dir).is_dir():
        with hold_run_folder(run_dir, record=False):
            pass


def _holder(run_dir: Path) -> str:
    try:
        h = json.loads((run_dir / HOLDER_FILE).read_text())
        return f"pid {h['pid']} on host {h['host']}, started {h['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
