"""Plan a run, check everything that can be checked before compute, hold the run folder, then hand
the pending jobs to an executor (``benchmark.executors``) and stop cleanly on SIGINT/SIGTERM."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from benchmark.checks import validate
from benchmark.execute import Limits, record_failure
from benchmark.executors import Executor, LocalExecutor, LocalOptions
from benchmark.interrupts import Interrupt, stop_on_signals
from benchmark.jobs import Job, plan_jobs
from benchmark.runfolder import open_run, pending_jobs
from benchmark.runlock import ensure_not_in_use, hold_run_folder
from benchmark.suites import Suite
from frameworks.base import Constraint, SetupError
from frameworks.registry import get_framework


@dataclass
class RunPlan:
    suite: Suite
    frameworks: list[str]
    constraint: Constraint
    folds: list[int]
    seeds: list[int]
    out: Path
    parallel: int = 1
    rerun_failed: bool = False
    limits: Limits = field(default_factory=Limits)

    def jobs(self) -> list[Job]:
        return plan_jobs(self.frameworks, self.suite.tasks, self.folds, self.seeds, self.constraint)

    def identity(self) -> dict:
        c = self.constraint
        return {"suite": self.suite.name, "budget": c.budget_s, "cores": c.cores, "memory_mb": c.memory_mb,
                "gpus": c.gpus}

    def invocation(self) -> dict:
        return {"frameworks": self.frameworks, "tasks": [t.name for t in self.suite.tasks],
                "folds": self.folds, "seeds": self.seeds, "parallel": self.parallel}


def prepare_frameworks(names: list[str], log=print) -> dict[str, str]:
    """Set up frameworks that are not ready (first use builds their venv). Returns name -> setup error."""
    errors = {}
    for name in names:
        adapter = get_framework(name)
        if adapter.is_setup():
            continue
        log(f"setting up {name} (first use) ...")
        try:
            adapter.setup()
        except (SetupError, OSError) as err:
            errors[name] = str(err).splitlines()[0] if str(err) else type(err).__name__
            log(f"setup of {name} failed: {errors[name]}")
    return errors


def prepare(plan: RunPlan, executor: Executor, log=print, interrupt: Interrupt | None = None) -> list[Job]:
    """With the folder held: open it, recover what an earlier invocation left, set frameworks up;
    return the jobs still to run. Jobs of frameworks whose setup failed get ``setup`` rows here,
    unless the set-up was interrupted (SIGINT reaches its installers too): then nothing is run."""
    open_run(plan.out, plan.identity(), plan.invocation())
    elsewhere = executor.recover()
    pending = pending_jobs(plan.out, plan.jobs(), plan.rerun_failed)
    todo = [j for j in pending if j.key not in elsewhere]
    if len(todo) < len(pending):
        log(f"{len(pending) - len(todo)} job(s) still queued or running elsewhere are not submitted again")
    interrupt = interrupt or Interrupt()
    if interrupt.signum:
        return []
    interrupt.forward = True          # an installer gets the signal too (a `kill` reaches only this process)
    try:
        errors = prepare_frameworks(sorted({j.framework for j in todo}), log)
    finally:
        interrupt.forward = False
    if interrupt.signum:
        return []
    for job in [j for j in todo if j.framework in errors]:
        record_failure(plan.out, job, "setup", errors[job.framework])
    return [j for j in todo if j.framework not in errors]


@dataclass
class Outcome:
    jobs: list[Job]                    # what this invocation set out to run
    interrupt: Interrupt


def run(plan: RunPlan, executor: Executor, on_row=None, on_start=None, log=print) -> Outcome:
    """Check everything, hold the run folder, run what is pending on ``executor`` until done or until
    SIGINT/SIGTERM (then running jobs are ended and stay pending). ``on_start(jobs)`` before the first
    job, ``on_row(row)`` after each."""
    ensure_not_in_use(plan.out)      # a folder in use is refused at once, before the (possibly long) checks
    validate(plan, local=executor.local, log=log)
    with hold_run_folder(plan.out), stop_on_signals(executor.cancel) as interrupt:
        jobs = prepare(plan, executor, log, interrupt)
        if not interrupt.signum:
            if on_start:
                on_start(jobs)
            executor.submit(jobs)
            executor.wait(on_row)
    return Outcome(jobs, interrupt)


def run_local(plan: RunPlan, on_row=None, on_start=None, log=print) -> Outcome:
    """``run`` on this machine, ``plan.parallel`` jobs at a time."""
    return run(plan, LocalExecutor(plan.out, LocalOptions(plan.parallel, plan.limits), log), on_row, on_start, log)
