"""Where jobs run: one interface, in submitit's shape, for this machine and for SLURM.

An executor is made for one run folder and one invocation:
- ``recover()``: before planning, deal with what an earlier invocation left (local: end orphaned
  job processes of a runner that was killed; SLURM: record rows of array tasks that died without
  one) and return the keys of jobs still running elsewhere, which are not submitted again (both:
  jobs an earlier ``--executor slurm`` invocation left queued or running on SLURM);
- ``submit(jobs)``: start them (the executor decides how many at a time);
- ``wait(on_row)``: block until every submitted job has its row (``on_row`` after each), or until
  ``cancel``;
- ``cancel()``: stop scheduling; running jobs end and stay pending. Safe to call from a signal handler.

The SLURM executor lives in ``slurm/executor.py`` (``SlurmExecutor``).
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from benchmark.execute import Limits, execute_job
from benchmark.jobs import Job
from benchmark.runfolder import reap_orphans


class Executor(Protocol):
    local: bool       # jobs run on this machine: cores and GPUs are checked against it

    def recover(self) -> set[str]: ...
    def submit(self, jobs: list[Job]) -> None: ...
    def wait(self, on_row: Callable[[dict], None] | None = None) -> None: ...
    def cancel(self) -> None: ...


@dataclass(frozen=True)
class LocalOptions:
    parallel: int = 1                     # jobs side by side (jobs x cores <= machine cores)
    limits: Limits = field(default_factory=Limits)


class LocalExecutor:
    """Jobs as processes of this machine, ``options.parallel`` at a time."""

    local = True
    mode = "local"

    def __init__(self, run_dir: Path, options: LocalOptions = LocalOptions(), log=print):
        self.run_dir = Path(run_dir)
        self.options = options
        self.log = log
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=options.parallel, thread_name_prefix="job")
        self._futures = []

    def recover(self) -> set[str]:
        from slurm.ledger import LEDGER, held_by_slurm   # noqa: PLC0415 - only folders that were run on SLURM have a ledger

        reap_orphans(self.run_dir, self.options.limits.kill_grace_s)
        held, problem = held_by_slurm(self.run_dir)
        if held and problem:            # said only while it leaves jobs out
            self.log(f"this run folder submitted jobs to SLURM, which cannot be asked here ({problem}); those "
                     f"without a row are left out of this local run: resume it with --executor slurm where SLURM "
                     f"answers, or delete {self.run_dir / LEDGER} to run them here")
        return held

    def submit(self, jobs: list[Job]) -> None:
        self._futures += [self._pool.submit(self._execute, job) for job in jobs]

    def _execute(self, job: Job) -> dict | None:
        if self._stop.is_set():
            return None
        return execute_job(self.run_dir, job, self.options.limits, self.mode, self._stop)

    def wait(self, on_row: Callable[[dict], None] | None = None) -> None:
        try:
            for fut in as_completed(self._futures):
                row = fut.result()
                if row is not None and on_row:
                    on_row(row)
        finally:
            self._stop.set()              # also when on_row raised: no job outlives wait()
            self._pool.shutdown(wait=True)

    def cancel(self) -> None:
        self._stop.set()                  # only an Event: safe inside a signal handler
