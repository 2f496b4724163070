"""``python -m benchmark run --executor slurm``: submit the run's jobs as submitit job arrays.

Flow of one invocation (``SlurmExecutor`` behind ``benchmark.runner.run``, the same flow as local runs):
1. read the profile and check it against the constraint; without ``--dry-run`` SLURM must answer;
2. validate the plan, warm the OpenML cache, hold the run folder (one runner per folder), open it;
3. ``recover``: turn array tasks that ended without writing a row (SLURM timeout, node failure,
   cancel) into failure rows, and note jobs still queued or running (``slurm/submitted.jsonl``);
4. ``submit`` the jobs with no row that are not queued or running, as arrays no larger than
   MaxArraySize, throttled to ``array_parallelism``, recording each array task's SLURM id;
5. unless ``--no-wait``, ``wait``: follow the run until nothing is queued or running, then print the
   table. SIGINT/SIGTERM detach (``cancel``): the array tasks are supervised on their nodes.

Rows are appended by the array tasks themselves, so ``status``, ``table`` and a resuming ``run``
work while jobs run and after this process is gone.
"""
from __future__ import annotations

import datetime as dt
import os
import shlex
import shutil
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.execute import record_failure
from benchmark.jobs import Job
from benchmark.results import read_results
from benchmark.runfolder import RUN_FILE, pending_jobs
from benchmark.progress import Progress, outcome
from benchmark.checks import RunError, validate
from benchmark.runner import RunPlan, run
from slurm import ledger, queue
from slurm.arrays import array_tasks, split_arrays
from slurm.profile import DEFAULT_MAX_ARRAY_SIZE, ClusterProfile, load_profile
from slurm.task import MODE

POLL_S = float(os.environ.get("AUTOML_BENCH_SLURM_POLL_S", "5"))
LOGS = Path("slurm") / "logs" / "%j"
DRY_RUN_DIR = Path("slurm") / "dry-run"


@dataclass(frozen=True)
class SlurmOptions:
    profile: ClusterProfile
    autodl_workers: int = 1       # array tasks per autodl search (1: the search runs inside its job)
    wait: bool = True             # follow the run until nothing is queued or running

    @classmethod
    def load(cls, profile_path, autodl_workers: int | None = None, wait: bool = True) -> "SlurmOptions":
        """Options from the CLI's values: the profile file read and checked, the worker count checked."""
        workers = 1 if autodl_workers is None else int(autodl_workers)
        if workers < 1:
            raise RunError(f"--autodl-workers must be at least 1, got {workers}")
        return cls(load_profile(profile_path), workers, wait)


def run_slurm(plan: RunPlan, options: SlurmOptions, plan_only: bool = False, log=print) -> int:
    """Run ``plan`` on SLURM, or only show its submission (``plan_only``: the CLI's --dry-run); returns the
    process's exit code."""
    options.profile.check_constraint(plan.constraint)
    if plan_only:
        dry_run(plan, options.profile, options.autodl_workers, log=log)
        return 0
    problem = queue.slurm_available()
    if problem:
        raise RunError(f"--executor slurm: {problem}. Plan without a cluster with --dry-run; "
                       "for the project's test cluster run slurm/cluster/start.sh and export SLURM_CONF")
    executor = SlurmExecutor(plan, options, log)
    with Progress() as progress:   # a bar on a terminal, else a line per job with time and ETA (as local runs)
        # the jobs followed: those submitted now and those still queued or running from an earlier invocation
        start = (lambda jobs: progress.start(sorted(executor.keys | {j.key for j in jobs}))) if options.wait else None
        outcome = run(plan, executor, on_row=progress.row, on_start=start, log=log)
    if outcome.interrupt.signum:
        log(f"detached by {outcome.interrupt.name}: jobs submitted to SLURM keep running, supervised on their nodes "
            f"(scancel them to stop); python -m benchmark status {plan.out} to follow, the same run command to resume")
        return outcome.interrupt.exit_code
    if options.wait:
        _print_table(plan.out)
    return 0


class SlurmExecutor:
    """Jobs as SLURM array tasks (each runs ``execute_job`` on its node and appends its own row)."""

    local = False
    mode = MODE

    def __init__(self, plan: RunPlan, options: SlurmOptions, log=print):
        self.plan, self.options, self.log = plan, options, log
        self.since = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
        self.keys: set[str] = set()
        self._stop = threading.Event()

    def recover(self) -> set[str]:
        active = reconcile(self.plan.out, self.log)
        self.keys |= active
        return active

    def submit(self, jobs: list[Job]) -> None:
        if not jobs:
            self.log("nothing to submit")
            return
        submitted = submit(self.plan, self.options.profile, jobs, self.options.autodl_workers, self.log)
        self.keys |= {s.job for s in submitted}

    def wait(self, on_row=None) -> None:
        if not self.options.wait:
            self.log(f"follow with: python -m benchmark status {self.plan.out}; run the same command again to resume")
            return
        follow(self.plan.out, self.keys, self.since, self.log, stop=self._stop, on_row=on_row)

    def cancel(self) -> None:
        """Stop following (the array tasks are supervised on their nodes and keep running)."""
        self._stop.set()


# --- planning ---------------------------------------------------------------------------------

def array_size_limit(profile: ClusterProfile) -> int:
    """The profile's max_array_size, else the cluster's MaxArraySize (asked briefly), else 1000."""
    if profile.max_array_size:
        return profile.max_array_size
    if shutil.which("scontrol"):
        return queue.max_array_size(DEFAULT_MAX_ARRAY_SIZE)
    return DEFAULT_MAX_ARRAY_SIZE


def sbatch_text(params: dict, folder: Path, n_tasks: int, python: str | None = None) -> str:
    """The sbatch script submitit writes for an array of ``n_tasks`` (or a single job)."""
    from submitit.slurm.slurm import _make_sbatch_string  # submitit is pinned: its own renderer

    python = python or shlex.quote(sys.executable)
    command = f"{python} -u -m submitit.core._submit {shlex.quote(str(folder))}"
    return _make_sbatch_string(command=command, folder=folder, map_count=n_tasks if n_tasks > 1 else None, **params)


def dry_run(plan: RunPlan, profile: ClusterProfile, workers: int, log=print, python: str | None = None) -> dict:
    """Plan without submitting: count arrays and sbatch calls, write the scripts into the run folder."""
    t0 = time.perf_counter()
    validate(plan, local=False, check_cache=False)
    jobs = plan.jobs()
    out = Path(plan.out)
    if (out / RUN_FILE).exists():
        jobs = pending_jobs(out, jobs, plan.rerun_failed)
        if ledger.read(out) and queue.slurm_available() is None:
            active = reconcile(out, log, record=False)
            jobs = [j for j in jobs if j.key not in active]
    max_size = array_size_limit(profile)
    arrays = split_arrays(array_tasks(out, jobs, plan.limits, workers), max_size)
    params = profile.executor_parameters(plan.constraint, plan.limits)
    folder = out.resolve() / LOGS
    scripts = out / DRY_RUN_DIR
    scripts.mkdir(parents=True, exist_ok=True)
    for old in scripts.glob("array_*.sbatch"):
        old.unlink()
    for i, tasks in enumerate(arrays):
        text = sbatch_text(params, folder, len(tasks), python)
        listing = "".join(f"# task {k}: {t.role} {Job.from_dict(t.job).key}\n" for k, t in enumerate(tasks))
        (scripts / f"array_{i:03d}.sbatch").write_text(text + "\n# array tasks (what submitit pickles, one per task)\n" + listing)
    elapsed = time.perf_counter() - t0
    summary = {"jobs": len(jobs), "array_tasks": sum(map(len, arrays)), "arrays": len(arrays),
               "sbatch_calls": len(arrays), "max_array_size": max_size, "time_limit_min": params["time"],
               "seconds": elapsed, "scripts": str(scripts)}
    log(f"dry run: {summary['jobs']} jobs -> {summary['array_tasks']} array tasks in {summary['arrays']} array(s) "
        f"= {summary['sbatch_calls']} sbatch call(s) (MaxArraySize {max_size}, %{profile.array_parallelism} at a time, "
        f"time limit {params['time']} min per task); scripts in {scripts}; planned in {elapsed:.2f} s")
    return summary


# --- submission -------------------------------------------------------------------------------

def submit(plan: RunPlan, profile: ClusterProfile, jobs: list[Job], workers: int, log=print) -> list[ledger.Submission]:
    import submitit

    out = Path(plan.out).resolve()
    preemption_before_s = profile.preemption_before_s(plan.constraint.budget_s, plan.limits)
    arrays = split_arrays(array_tasks(out, jobs, plan.limits, workers, preemption_before_s), array_size_limit(profile))
    executor = submitit.SlurmExecutor(folder=out / LOGS, max_num_timeout=0)   # a timeout is a result, not retried
    executor.update_parameters(**profile.executor_parameters(plan.constraint, plan.limits,
                                                             job_name=f"bench-{out.name}"[:60]))
    submitted = []
    for tasks in arrays:
        utc = ledger.now_utc()
        try:
            handles = executor.submit_array(tasks)
        except submitit.core.utils.FailedJobError as err:
            message = " ".join(str(err).split())[:400]
            raise RunError(f"sbatch refused the array ({message}); check profile {profile.name!r}: partition, "
                           f"account, qos, time limit {executor.parameters['time']} min, resources") from None
        subs = [ledger.Submission(Job.from_dict(t.job).key, h.job_id, t.role, utc, t.job) for t, h in zip(tasks, handles)]
        ledger.record(out, subs)
        submitted += subs
        log(f"submitted SLURM job {handles[0].job_id.split('_')[0]}: {len(tasks)} array task(s)")
    log(f"{len(jobs)} job(s) submitted as {len(arrays)} array(s) into {plan.out}")
    return submitted


# --- following and reconciling ------------------------------------------------------------------

def reconcile(run_dir: Path, log=print, record: bool = True) -> set[str]:
    """Record a failure row for each submitted job whose array task ended without writing one;
    return the keys of jobs still queued or running."""
    latest = ledger.latest(run_dir)
    if not latest:
        return set()
    mains = {key: ledger.main_task(subs) for key, subs in latest.items()}
    states = queue.job_states([s.slurm_id for subs in latest.values() for s in subs])
    # workers of a distributed search whose master is gone would only wait for credentials: end them
    orphans = [s.slurm_id for key, subs in latest.items() for s in subs if s.role == "worker"
               and queue.is_active(states.get(s.slurm_id, "UNKNOWN"))
               and states.get(mains[key].slurm_id) in queue.TERMINAL_STATES]
    if orphans and record:
        queue.cancel(orphans)
    last_row = ledger.row_times(run_dir)
    now = dt.datetime.now(dt.timezone.utc)
    active = set()
    for key, sub in mains.items():
        state = states.get(sub.slurm_id, "UNKNOWN")
        if ledger.is_held(sub, state, now):
            active.add(key)
            continue
        if ledger.wrote_row(sub, last_row.get(key)):
            continue      # the array task wrote its row
        if not record or not sub.spec:
            continue
        kind, reason = queue.FAILURE_OF_STATE.get(state, queue.NO_OUTPUT)
        job = Job.from_dict(sub.spec)
        record_failure(run_dir, job, kind, f"{reason.format(state=state)} (SLURM job {sub.slurm_id})", mode=MODE)
        job.folder(run_dir).clear()
        log(f"{key}: {kind} (SLURM {state})")
    return active


def follow(run_dir: Path, keys: set[str], since: dt.datetime, log=print, poll_s: float = POLL_S,
           stop: threading.Event | None = None, on_row=None) -> None:
    """Wait until none of ``keys`` is queued or running, or ``stop`` is set; report rows (written after
    ``since``) as they arrive."""
    stop = stop or threading.Event()
    seen: set[str] = set()
    while keys and not stop.is_set():
        active = reconcile(run_dir, log) & keys
        rows = read_results(run_dir)
        if not rows.empty:
            rows = rows[rows["job"].isin(keys - seen)]
            rows = rows[pd.to_datetime(rows["utc"], utc=True, errors="coerce") >= since]
        for row in rows.to_dict("records"):
            seen.add(row["job"])
            row["failure"] = row["failure"] if isinstance(row["failure"], str) else ""
            if on_row:
                on_row(row)
            else:
                log(f"[{len(seen)}/{len(keys)}] {row['job']}: {outcome(row)}")
        if not active:
            return
        stop.wait(poll_s)


def _print_table(run_dir: Path) -> None:
    from benchmark.table import comparison_table

    rows = read_results(run_dir)
    if not rows.empty:
        print(comparison_table(rows, "md"))
