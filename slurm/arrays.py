"""From benchmark jobs to array tasks and job arrays (no SLURM needed: pure planning).

One benchmark job is one array task, except an autodl search spread over N array tasks
(``--autodl-workers N``): one ``master`` task (the job itself: it runs the harness and the
search's nameserver and BOHB master) and N-1 ``worker`` tasks. The tasks of one search stay
adjacent in the same array so the throttle lets them start together.

Arrays are split to respect the cluster's MaxArraySize, in balanced chunks: 1440 jobs with
a maximum of 1000 become two arrays of 720, i.e. two sbatch calls.
"""
from __future__ import annotations

import math
from pathlib import Path

from benchmark.execute import Limits
from benchmark.jobs import Job
from slurm.task import ArrayTask

SEARCH_DIR = "hpbandster"       # per-job folder shared by a search's master and workers


def is_autodl(framework: str) -> bool:
    """autodl and its variants (also test adapters such as ``tests.slurm_adapters:AutoDLDistributed``)."""
    return "autodl" in framework.lower()


def array_tasks(run_dir: Path, jobs: list[Job], limits: Limits = Limits(), autodl_workers: int = 1,
                preemption_before_s: float = 0.0) -> list[list[ArrayTask]]:
    """Groups of array tasks, one group per job (several tasks for a distributed autodl search)."""
    limit_args = {"startup_s": limits.startup_s, "kill_grace_s": limits.kill_grace_s}
    groups = []
    for job in jobs:
        spec = job.to_dict()
        if autodl_workers > 1 and is_autodl(job.framework):
            search = {"workers": autodl_workers, "dir": str(job.folder(run_dir).path / SEARCH_DIR)}
            group = [ArrayTask(str(run_dir), spec, limit_args, "master", {**search, "index": 0}, preemption_before_s)]
            group += [ArrayTask(str(run_dir), spec, limit_args, "worker", {**search, "index": i}, preemption_before_s)
                      for i in range(1, autodl_workers)]
        else:
            group = [ArrayTask(str(run_dir), spec, limit_args, preemption_before_s=preemption_before_s)]
        groups.append(group)
    return groups


def split_arrays(groups: list[list[ArrayTask]], max_size: int) -> list[list[ArrayTask]]:
    """Balanced arrays of at most ``max_size`` tasks; a group never spans two arrays."""
    total = sum(len(g) for g in groups)
    if total == 0:
        return []
    biggest = max(len(g) for g in groups)
    if biggest > max_size:
        raise ValueError(f"an autodl search over {biggest} array tasks does not fit the cluster's MaxArraySize "
                         f"{max_size}; lower --autodl-workers")
    n_arrays = math.ceil(total / max_size)
    while True:
        target = math.ceil(total / n_arrays)
        arrays, current = [], []
        for group in groups:
            if current and len(current) + len(group) > target:
                arrays.append(current)
                current = []
            current.extend(group)
        arrays.append(current)
        if all(len(a) <= max_size for a in arrays):
            return arrays
        n_arrays += 1
