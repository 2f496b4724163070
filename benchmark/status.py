"""``python -m benchmark status RUN``: how many jobs are done, failed, running and pending."""
from __future__ import annotations

import itertools
from pathlib import Path

from benchmark.results import read_results
from benchmark.runfolder import read_identity, read_run_file, running_jobs
from benchmark.table import framework_summary


STATES = ("done", "failed", "queued", "running", "pending")


def planned_keys(run_dir: Path) -> set[str]:
    """Every job key that some invocation of this folder asked for."""
    doc = read_run_file(run_dir)
    keys = set()
    for inv in doc.get("invocations", []):
        for fw, task, fold, seed in itertools.product(inv.get("frameworks", []), inv.get("tasks", []),
                                                      inv.get("folds", []), inv.get("seeds", [])):
            keys.add(f"{fw}/{task}/fold{fold}_seed{seed}")
    return keys


def queued_on_slurm(run_dir: Path) -> set[str]:
    """Keys of jobs submitted to SLURM and still queued or running there (empty where SLURM cannot be asked)."""
    from slurm.ledger import held_by_slurm   # noqa: PLC0415 - only folders that were run on SLURM have a ledger

    held, problem = held_by_slurm(run_dir)
    return set() if problem else held


def job_states(run_dir: Path) -> dict[str, str]:
    """job key -> done | failed | queued | running | pending (``queued``: submitted to SLURM, not started)."""
    results = read_results(run_dir)
    states = {k: "pending" for k in planned_keys(run_dir)}
    for key in queued_on_slurm(run_dir):
        states[key] = "queued"
    for key in running_jobs(run_dir):
        states[key] = "running"
    for key, failure in zip(results.get("job", []), results.get("failure", [])):
        if states.get(key) not in ("running", "queued"):
            states[key] = "failed" if isinstance(failure, str) and failure else "done"
    return states


def print_status(run_dir: Path) -> int:
    read_identity(run_dir)
    states = job_states(run_dir)
    counts = {s: sum(v == s for v in states.values()) for s in STATES}
    print(f"{run_dir}: " + ", ".join(f"{n} {s}" for s, n in counts.items()) + f" (of {len(states)})")
    summary = framework_summary(read_results(run_dir))
    if not summary.empty:
        print(summary.to_string())
    return 0
