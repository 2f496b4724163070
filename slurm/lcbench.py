"""LCBench sampling as a SLURM job array (submitit), with the harness's cluster profiles.

``slurm_submit(...)`` is a ``submit`` callable for ``autodl.lcbench.sample.run_sample``: each
(dataset, configuration) unit becomes one array task running autodl's ``evaluate_catching``; it
writes its own result file, so a rerun (local or SLURM) skips what any earlier run finished. The
profile (slurm/profiles/*.yaml) gives partition, account, qos, setup lines, extra #SBATCH entries
and the array throttle; each task asks for one CPU, ``memory_mb`` and ``minutes``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from autodl.lcbench.sample import SampleUnit, Submit, evaluate_catching
from frameworks.base import Constraint

LOGS = Path("slurm") / "%j"


def slurm_parameters(profile, *, minutes: int, memory_mb: int, job_name: str) -> dict:
    """submitit.SlurmExecutor parameters (SLURM's names) for one-core sampling tasks, from a harness profile."""
    return profile.executor_parameters(Constraint(budget_s=minutes * 60, cores=1, memory_mb=memory_mb),
                                       job_name=job_name, time_min=profile.time_limit_min or minutes)


def slurm_submit(out: Path, profile_path: str | None, *, minutes: int, memory_mb: int, wait: bool = True,
                 log=print) -> Submit:
    """Submit the units as one array (one task per unit); with ``wait``, yield each unit as its task ends
    (a task SLURM ended, by time limit, memory or cancel, is a failure); without, yield nothing."""
    def submit(units: list[SampleUnit]) -> Iterator[tuple[SampleUnit, str | None]]:
        jobs = submit_units(units, out, profile_path, minutes=minutes, memory_mb=memory_mb, log=log)
        if not wait:
            log("not waiting: rerun the same command later to see what is missing (finished files are kept)")
            return
        for job, unit in zip(jobs, units):
            try:
                error = job.result()
            except Exception as err:  # noqa: BLE001 - submitit raises when SLURM ended the task
                error = f"SLURM task {job.job_id} ended without a result: {str(err).splitlines()[0]}"
            yield unit, error
    return submit


def submit_units(units: list[SampleUnit], out: Path, profile_path: str | None, *, minutes: int, memory_mb: int,
                 log=print) -> list:
    """Submit one array task per unit; returns submitit jobs in the order of ``units``."""
    import submitit

    from slurm.profile import load_profile
    from slurm.queue import slurm_available

    profile = load_profile(profile_path)
    problem = slurm_available()
    if problem:
        raise ValueError(f"--executor slurm: {problem}; start a cluster (slurm/cluster/start.sh) or use --executor local")
    _put_repo_on_pythonpath()
    executor = submitit.SlurmExecutor(folder=out.resolve() / LOGS, max_num_timeout=0)
    executor.update_parameters(**slurm_parameters(profile, minutes=minutes, memory_mb=memory_mb,
                                                  job_name=f"lcbench-{out.name}"[:60]))
    jobs = executor.map_array(evaluate_catching, units)
    if jobs:
        log(f"submitted SLURM array {jobs[0].job_id.split('_')[0]}: {len(jobs)} task(s); logs in {out / 'slurm'}")
    return jobs


def _put_repo_on_pythonpath() -> None:
    """Array tasks unpickle autodl's and the harness's classes (units, datasets): make this checkout importable."""
    repo = str(Path(__file__).resolve().parents[1])
    paths = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    if repo not in paths:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [repo, *paths]))
