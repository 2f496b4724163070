"""Plan a run, check everything that can be checked before compute, then hand jobs to an executor."""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.execute import Limits, execute_job, record_failure
from benchmark.jobs import Job, plan_jobs
from benchmark.runfolder import open_run, pending_jobs, reap_orphans
from benchmark.suites import Suite, ensure_cached
from frameworks.base import Constraint, SetupError
from frameworks.registry import check_frameworks, get_framework


class RunError(ValueError):
    """A run cannot start as asked; the message says how to fix it."""


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


def validate(plan: RunPlan, local: bool = True, check_cache: bool = True) -> None:
    """Every check that needs no compute, with a message naming the fix. ``local=False`` (a cluster
    executor) leaves cores to the cluster; ``check_cache=False`` (a dry run) needs no OpenML data."""
    check_frameworks(plan.frameworks)
    c = plan.constraint
    if c.budget_s <= 0:
        raise RunError(f"--budget must be a positive number of seconds, got {c.budget_s}")
    if c.memory_mb <= 0:
        raise RunError(f"--memory must be positive (MB), got {c.memory_mb}")
    cpus = (os.cpu_count() or 1) if local else max(c.cores, 1)
    if c.cores < 1 or c.cores > cpus:
        raise RunError(f"--cores {c.cores} is not possible on this machine with {cpus} cores; use 1..{cpus}")
    if local and (plan.parallel < 1 or plan.parallel * c.cores > cpus):
        raise RunError(f"--jobs {plan.parallel} x --cores {c.cores} would oversubscribe the {cpus} cores of this "
                       f"machine; use --jobs {max(1, cpus // c.cores)} or fewer")
    bad_folds = [f for f in plan.folds for t in plan.suite.tasks if not 0 <= f < t.n_folds]
    if bad_folds:
        raise RunError(f"--folds {sorted(set(bad_folds))} out of range: tasks have folds 0..{plan.suite.tasks[0].n_folds - 1}")
    if not plan.seeds:
        raise RunError("--seeds must be at least 1")
    if check_cache:
        ensure_cached(plan.suite)


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


def start(plan: RunPlan, log=print, local: bool = True) -> list[Job]:
    """Validate, open the run folder, set frameworks up; return the jobs still to run.
    Jobs of frameworks whose setup failed are recorded as ``setup`` failures here."""
    validate(plan, local=local)
    open_run(plan.out, plan.identity(), plan.invocation())
    todo = pending_jobs(plan.out, plan.jobs(), plan.rerun_failed)
    errors = prepare_frameworks(sorted({j.framework for j in todo}), log)
    for job in [j for j in todo if j.framework in errors]:
        record_failure(plan.out, job, "setup", errors[job.framework])
    return [j for j in todo if j.framework not in errors]


def run_local(plan: RunPlan, jobs: list[Job], progress=None) -> list[dict]:
    """Run jobs on this machine, ``plan.parallel`` at a time; ``progress(row)`` after each."""
    reap_orphans(plan.out)
    rows = []
    with ThreadPoolExecutor(max_workers=plan.parallel) as pool:
        futures = [pool.submit(execute_job, plan.out, job, plan.limits) for job in jobs]
        for fut in as_completed(futures):
            row = fut.result()
            rows.append(row)
            if progress:
                progress(row)
    return rows
