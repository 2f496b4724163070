"""A job's folder, ``<run>/jobs/<framework>/<task>/fold<k>_seed<s>/``: the names of its files, its
running marker, and the one function that stops a recorded job process.

Files: ``job.json`` (the job), ``job.log`` (everything the job process and the framework printed),
``result.json`` (scores or a failure, written by the job process), ``predictions.csv`` and, while
the job runs, ``running.json``: the job process (pid, host, start), its scratch folder and the
process supervising it (the local runner or a SLURM array task). A marker whose supervisor is gone
belongs to an orphan: ``stop`` ends it and removes its scratch.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
from dataclasses import dataclass
from pathlib import Path

import psutil

from benchmark.processes import is_alive, process_tree, terminate

JOBS_DIR = "jobs"
JOB_PROCESS_MODULE = "benchmark.job_process"
RUNNING_FILE = "running.json"


def write_json_atomic(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, default=str))
    os.replace(tmp, path)


@dataclass(frozen=True)
class JobFolder:
    path: Path

    @classmethod
    def of(cls, run_dir: Path, key: str) -> "JobFolder":
        return cls(Path(run_dir) / JOBS_DIR / key)

    @property
    def spec(self) -> Path:
        return self.path / "job.json"

    @property
    def result(self) -> Path:
        return self.path / "result.json"

    @property
    def predictions(self) -> Path:
        return self.path / "predictions.csv"

    @property
    def log(self) -> Path:
        return self.path / "job.log"

    @property
    def running(self) -> Path:
        return self.path / RUNNING_FILE

    def prepare(self, spec: dict) -> None:
        """Create the folder for a (new) attempt: stale outputs of an earlier one are removed."""
        self.path.mkdir(parents=True, exist_ok=True)
        for stale in (self.result, self.predictions):
            stale.unlink(missing_ok=True)
        write_json_atomic(self.spec, spec)

    # --- the running marker -------------------------------------------------------------------

    def mark_running(self, pid: int | None, scratch: Path) -> None:
        """Record the job process and its scratch folder; called with ``pid=None`` before the process is
        started, so that a runner killed in between leaves a scratch folder that the orphan clean-up finds."""
        me = psutil.Process()
        write_json_atomic(self.running, {
            "pid": pid, "host": socket.gethostname(), "scratch": str(scratch),
            "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "supervisor": me.pid, "supervisor_started": me.create_time()})

    def marker(self) -> dict | None:
        try:
            return json.loads(self.running.read_text())
        except (OSError, ValueError):
            return None

    def is_running(self) -> bool:
        """True while the recorded job process lives. On another host (SLURM) the marker is trusted."""
        marker = self.marker()
        if marker is None:
            return False
        if marker.get("host") != socket.gethostname():
            return True
        return self._job_process(marker) is not None

    def is_orphan(self) -> bool:
        """A marker on this host whose supervising process is gone (its runner was killed)."""
        marker = self.marker()
        if marker is None or marker.get("host") != socket.gethostname():
            return False
        return not is_alive(int(marker.get("supervisor", 0)), marker.get("supervisor_started"))

    def _job_process(self, marker: dict) -> psutil.Process | None:
        """The recorded job process, if it still runs and is really this job's (pids get reused)."""
        if marker.get("pid") is None:   # marked before its start
            return None
        try:
            proc = psutil.Process(int(marker["pid"]))
            cmd = proc.cmdline()
            # the job process was started with the resolved folder; this one may be relative (``status run``)
            if proc.status() != psutil.STATUS_ZOMBIE and JOB_PROCESS_MODULE in cmd and str(self.path.resolve()) in cmd:
                return proc
        except (psutil.Error, ValueError):
            pass
        return None

    def stop(self, grace_s: float, extra: list[psutil.Process] = ()) -> None:
        """End the recorded job process and everything below it (``extra``: descendants seen earlier
        that may have left its tree), then remove its scratch folder and the marker."""
        marker = self.marker() or {}
        proc = self._job_process(marker) if marker.get("host") == socket.gethostname() else None
        if proc is not None or extra:
            procs = process_tree(proc.pid) if proc else []
            terminate(procs + [p for p in extra if p not in procs], proc.pid if proc else None, grace_s)
        self.clear(marker)

    def clear(self, marker: dict | None = None) -> None:
        marker = marker if marker is not None else (self.marker() or {})
        if marker.get("scratch") and marker.get("host") == socket.gethostname():
            shutil.rmtree(marker["scratch"], ignore_errors=True)
        self.running.unlink(missing_ok=True)
