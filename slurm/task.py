"""What one SLURM array task runs: one benchmark job through ``benchmark.execute.execute_job``.

Submitit pickles an ``ArrayTask`` per array task; it holds the run folder and the job as a
small dict (data is read by the job process from its source path or the OpenML cache, never
pickled). The row is appended to the run folder's ``results.csv`` by ``execute_job`` itself,
under its lock, as soon as the job ends: the submitting process does not need to be alive.

Signals: SLURM sends USR2 ``signal_delay_s`` before the time limit, and on preemption; submitit
then calls ``checkpoint``. We stop the job's process tree and hand back the same task, which
submitit requeues on preemption (the job then starts again from scratch). On a timeout the
executor allows no requeue (``max_num_timeout=0``): submitit raises ``UncompletedJobError``
inside the task, which becomes a ``timeout`` row here, unless the signal came too early to be
SLURM's time-limit warning (``preemption_before_s``): then it is a preemption and we requeue.
"""
from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from submitit import JobEnvironment
from submitit.core.utils import UncompletedJobError
from submitit.helpers import DelayedSubmission

from benchmark.execute import Limits, execute_job, record_failure
from benchmark.jobs import Job

MODE = "slurm"


@dataclass
class ArrayTask:
    run_dir: str
    job: dict                              # Job.to_dict(): small JSON-able, no data
    limits: dict = field(default_factory=dict)
    role: str = "job"                      # job | master | worker (distributed autodl search)
    search: dict = field(default_factory=dict)   # master/worker: {"workers": N, "index": i, "dir": ...}
    # A warning signal before this many seconds is a preemption, whatever submitit guesses (0: trust it)
    preemption_before_s: float = 0.0

    def __call__(self) -> dict | None:
        run_dir, job, limits = Path(self.run_dir), Job.from_dict(self.job), Limits(**self.limits)
        if self.role == "worker":
            from slurm.autodl_distributed import run_worker  # noqa: PLC0415 - only for autodl searches
            run_worker(Path(self.search["dir"]), int(self.search["index"]), limits.wall_s(job.constraint.budget_s))
            return None
        if self.role == "master":
            from slurm.autodl_distributed import master_environment  # noqa: PLC0415
            os.environ.update(master_environment(Path(self.search["dir"])))
        started = time.monotonic()
        try:
            row = execute_job(run_dir, job, limits, mode=MODE)
        except UncompletedJobError:
            if time.monotonic() - started < self.preemption_before_s:
                # submitit reads every signal after min(80%, limit - 10 min) of the time limit as a
                # timeout (any signal when the limit is under 10 min); this one came too early for
                # SLURM's warning: a preemption. checkpoint() has saved the task, so requeue it.
                job_id = JobEnvironment().job_id
                subprocess.check_call(["scontrol", "requeue", job_id], timeout=60)
                print(f"signal after {time.monotonic() - started:.0f} s: a preemption; requeued {job_id}", flush=True)
                raise SystemExit(-1) from None
            # SLURM's warning signal before its time limit came before the harness's own limit
            # (a profile time_limit_min below the budget, or a harness that hung): a timeout row.
            row = record_failure(run_dir, job, "timeout", "SLURM time limit reached before the harness's own limit "
                                 "(the array task got SLURM's warning signal; see profile time_limit_min)",
                                 mode=MODE, duration=time.monotonic() - started)
            job.folder(run_dir).clear()
        # (a preempted task leaves by SystemExit before this: its workers keep waiting for the requeue)
        if self.role == "master":
            from slurm.autodl_distributed import mark_finished  # noqa: PLC0415
            mark_finished(Path(self.search["dir"]))
        return row

    def checkpoint(self) -> DelayedSubmission:
        """Preempted (or timed out): stop the job's processes; submitit requeues this same task."""
        if self.role != "worker":
            limits = Limits(**self.limits)
            Job.from_dict(self.job).folder(Path(self.run_dir)).stop(limits.kill_grace_s)
        return DelayedSubmission(self)

