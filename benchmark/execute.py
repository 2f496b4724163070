"""Run one job in its own process session under the run's limits and record its row.

This is the one place where a job is executed: local runs call it from a thread pool, and each
SLURM array task calls it on its node, so limits, containment and rows are identical.

The job process is started in a new session (its own process group). The parent polls it:
past the wall-clock limit (budget + 15% + a start-up allowance) or over the memory limit
(resident memory of the whole process tree), the group and every descendant seen are sent
SIGTERM, then SIGKILL after a grace period. Whatever happened, one complete row is appended.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmark.jobfolder import JobFolder
from benchmark.jobs import Job
from benchmark.processes import ProcessTreeWatch
from benchmark.results import append_row
from frameworks.base import wall_limit_s
from frameworks.logs import cap_file, cap_logs, last_error_line

STARTUP_ALLOWANCE_S = 20.0    # interpreter start, imports and data loading, outside the framework's budget
KILL_GRACE_S = 5.0
POLL_S = 0.1
SUPERVISOR_ENV = "BENCHMARK_SUPERVISOR_PID"   # the job process ends itself when this process is gone


@dataclass(frozen=True)
class Limits:
    startup_s: float = STARTUP_ALLOWANCE_S
    kill_grace_s: float = KILL_GRACE_S

    def wall_s(self, budget_s: float) -> float:
        return wall_limit_s(budget_s, self.startup_s)


def app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("automl-bench")
    except PackageNotFoundError:
        return "dev"


def _job_env(job: Job, scratch: Path) -> dict:
    env = dict(os.environ)
    env["TMPDIR"] = str(scratch)   # the job's own temporary folder, removed by the harness whatever happens
    env[SUPERVISOR_ENV] = str(os.getpid())
    threads = str(job.constraint.cores)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = threads
    if job.constraint.gpus == 0:
        env.setdefault("CUDA_VISIBLE_DEVICES", "")
    env["PYTHONUNBUFFERED"] = "1"
    # Jobs run in their job folder; keep that folder off sys.path of every Python below the job, or a
    # framework's output folder (e.g. ``autodl/``) would shadow the package of the same name.
    env["PYTHONSAFEPATH"] = "1"
    return env


def execute_job(run_dir: Path, job: Job, limits: Limits = Limits(), mode: str = "local",
                stop: threading.Event | None = None) -> dict | None:
    """Run ``job``, append its row to ``run_dir/results.csv`` and return the row. ``mode`` names the
    executor (AMLB's ``mode`` column: local, slurm). When ``stop`` is set while the job runs, its
    processes are ended, its scratch removed, no row is written (the job stays pending) and None
    is returned."""
    run_dir = Path(run_dir).resolve()   # the job process works in its own folder: relative paths would break
    folder = job.folder(run_dir)
    folder.prepare(job.to_dict())
    started = dt.datetime.now(dt.timezone.utc)
    t0 = time.monotonic()
    wall_limit = limits.wall_s(job.constraint.budget_s)
    failure, reason, interrupted = "", "", False
    scratch = _new_scratch(folder)
    with open(folder.log, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "benchmark.job_process", str(folder.path)],
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True, env=_job_env(job, scratch), cwd=folder.path)
        folder.mark_running(proc.pid, scratch)
        watch = ProcessTreeWatch(proc.pid)
        while proc.poll() is None:
            if stop is not None and stop.is_set():
                interrupted = True
            elif watch.rss_mb() > job.constraint.memory_mb:
                failure, reason = "memory", f"exceeded the memory limit of {job.constraint.memory_mb} MB"
            elif time.monotonic() - t0 > wall_limit:
                failure, reason = "timeout", (f"exceeded the wall-clock limit of {wall_limit:.0f} s "
                                              f"(budget {job.constraint.budget_s} s)")
            if failure or interrupted:
                break
            time.sleep(POLL_S)
        # Stop the whole group even after a normal exit: helpers (JVMs, Ray) must not outlive a job.
        watch.stop_all(limits.kill_grace_s)
        proc.wait()
    shutil.rmtree(scratch, ignore_errors=True)
    cap_logs(folder.path)         # the framework's own logs stay in the job folder, size-capped, even after a kill
    cap_file(folder.log)          # job.log holds the framework's console too (a copy of its capped console.log)
    if interrupted:
        with open(folder.log, "a") as log:
            log.write(f"\n[harness] interrupted after {time.monotonic() - t0:.1f} s: the job stays pending\n")
        folder.clear()
        return None
    duration = time.monotonic() - t0
    row = _row(job, folder, started, duration, watch.peak_mb, proc.returncode, failure, reason, mode)
    append_row(run_dir, row)
    folder.clear()
    return row


def _new_scratch(folder: JobFolder) -> Path:
    """A fresh scratch folder for the job, recorded in its marker before it exists (a runner killed at any
    moment leaves no scratch the clean-up cannot find) and removed even when the job had to be SIGKILLed.
    Its name is as short as mkdtemp's: Ray's sockets live below it, and a socket path over 107 bytes
    makes Ray refuse to start."""
    root = Path(os.environ.get("TMPDIR") or tempfile.gettempdir()).absolute()
    while True:
        scratch = root / f"ab-{secrets.token_hex(4)}"
        folder.mark_running(None, scratch)
        try:
            scratch.mkdir(mode=0o700)
            return scratch
        except FileExistsError:    # another job's: draw again
            continue


def record_failure(run_dir: Path, job: Job, kind: str, reason: str, mode: str = "local", duration: float = 0.0) -> dict:
    """Append a failure row for a job that never ran or whose process vanished (setup, node failure)."""
    row = _row(job, job.folder(run_dir), dt.datetime.now(dt.timezone.utc), duration, 0.0, None, kind, reason, mode)
    append_row(run_dir, row)
    return row


def _row(job: Job, folder: JobFolder, started, duration, peak_mb, returncode, failure, reason, mode) -> dict:
    try:
        result = json.loads(folder.result.read_text())
    except (OSError, ValueError):
        result = {}
    if not failure:
        failure, reason = result.get("failure", ""), result.get("info", "")
    if not failure and not result:
        if returncode is not None and returncode < 0:
            sig = signal.Signals(-returncode).name
            failure = "killed" if sig in ("SIGKILL", "SIGTERM") else "exception"
            reason = f"job process died from {sig}"
        else:
            failure, reason = "exception", f"job process exited with code {returncode} without a result"
    if failure and failure != "harness":
        said = last_error_line(folder.path)         # the framework's own last error line, where it logged one
        if said and said not in reason:
            reason = f"{reason}; the framework's log says: {said}" if reason else said
    c = job.constraint
    framework_s = result.get("framework_duration")
    return {
        "id": job.task.id, "task": job.task.name, "framework": job.framework, "constraint": c.name,
        "fold": job.fold, "type": result.get("type"), "result": None if failure else result.get("acc"),
        "metric": "acc", "mode": mode, "version": result.get("version"), "params": result.get("params"),
        "app_version": app_version(), "utc": started.isoformat(timespec="seconds"),
        "duration": round(duration, 3), "training_duration": result.get("training_duration"),
        "predict_duration": result.get("predict_duration"), "models_count": result.get("models_count"),
        "seed": job.seed, "info": reason,
        **{m: None if failure else result.get(m) for m in ("acc", "auc", "balacc", "logloss")},
        "budget": c.budget_s, "cores": c.cores, "memory_mb": c.memory_mb, "gpus": c.gpus,
        "failure": failure, "peak_memory_mb": round(peak_mb, 1),
        "overrun": round(framework_s / c.budget_s - 1, 4) if framework_s else None, "job": job.key,
    }
