"""Cluster profiles: what a SLURM cluster needs to know besides the run's constraint.

A profile is a small YAML file (examples in ``slurm/profiles/``). Every key is optional and
unknown keys are rejected, so a typo never silently falls back to a default. The job's
resources come from the run's constraint (``--cores``, ``--memory``, ``--gpus``); the
profile adds where to run (partition, account, qos), how much the node offers, and how
the time limit is derived from the budget.

Time limit (``time_limit_min``, unless the profile fixes it)::

    harness wall limit   = budget * 1.15 + startup allowance      (benchmark.execute.Limits)
    SLURM time limit     = ceil((harness wall limit + kill grace + signal_delay_s) / 60) + time_margin_min

so the harness always ends a slow job itself first (a ``timeout`` row with its details) and
SLURM only ends an array task that hangs past that (recorded as ``timeout`` from sacct).
With the paper's 1 h budget and the defaults this is 76 minutes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from benchmark.execute import Limits
from frameworks.base import Constraint

DEFAULT_MAX_ARRAY_SIZE = 1000     # SLURM's default MaxArraySize is 1001 (indices 0..1000)


class ProfileError(ValueError):
    """A profile file that cannot be used; the message names the key and the fix."""


@dataclass(frozen=True)
class ClusterProfile:
    name: str = "default"
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    gpus_per_node: int = 0              # what a node of the partition offers (upper bound for --gpus)
    cpus_per_task: int | None = None    # default: the run's --cores
    memory_margin_mb: int = 1024        # on top of --memory: the array task's own Python and the harness
    time_margin_min: int = 5            # see the module docstring
    time_limit_min: int | None = None   # fixed time limit (overrides the derivation; tests, short queues)
    signal_delay_s: int = 90            # submitit's USR2 warning before the time limit (checkpoint/requeue)
    array_parallelism: int = 100        # array tasks running at once per array (the %N throttle)
    max_array_size: int | None = None   # default: MaxArraySize from `scontrol show config`, else 1000
    setup: list[str] = field(default_factory=list)        # shell lines before the task (module load ...)
    sbatch: dict = field(default_factory=dict)             # extra #SBATCH parameters, e.g. {constraint: a100}

    def time_limit(self, budget_s: float, limits: Limits = Limits()) -> int:
        """Minutes SLURM gives one array task for a job of ``budget_s`` seconds."""
        if self.time_limit_min is not None:
            return self.time_limit_min
        seconds = limits.wall_s(budget_s) + limits.kill_grace_s + self.signal_delay_s
        return math.ceil(seconds / 60) + self.time_margin_min

    def preemption_before_s(self, budget_s: float, limits: Limits = Limits()) -> float:
        """Seconds into a task before which a warning signal cannot be SLURM's time-limit warning
        (it comes ``signal_delay_s`` before the limit; SLURM checks every 30 s or so, hence 60 s slack)."""
        return max(0.0, self.time_limit(budget_s, limits) * 60 - self.signal_delay_s - 60)

    def check_constraint(self, constraint: Constraint) -> None:
        if constraint.gpus > self.gpus_per_node:
            where = f"partition {self.partition}" if self.partition else "the default partition"
            raise ProfileError(f"--gpus {constraint.gpus} but profile {self.name!r} says nodes of {where} have "
                               f"{self.gpus_per_node} GPU(s); use --gpus {self.gpus_per_node} or less, or a GPU profile")
        if self.cpus_per_task is not None and self.cpus_per_task < constraint.cores:
            raise ProfileError(f"profile {self.name!r} sets cpus_per_task {self.cpus_per_task} below --cores "
                               f"{constraint.cores}; raise cpus_per_task or lower --cores")

    def executor_parameters(self, constraint: Constraint, limits: Limits = Limits(),
                            job_name: str = "automl-bench", time_min: int | None = None) -> dict:
        """Parameters for ``submitit.SlurmExecutor.update_parameters`` (SLURM's own names). ``time_min``
        replaces the limit derived from the budget (work that is not a benchmark job, e.g. LCBench sampling)."""
        params = {
            "job_name": job_name,
            "time": time_min or self.time_limit(constraint.budget_s, limits),
            "nodes": 1,
            "ntasks_per_node": 1,
            "cpus_per_task": self.cpus_per_task or constraint.cores,
            "mem": f"{constraint.memory_mb + self.memory_margin_mb}M",
            "signal_delay_s": self.signal_delay_s,
            "array_parallelism": self.array_parallelism,
            "stderr_to_stdout": True,
        }
        if constraint.gpus:
            params["gpus_per_node"] = constraint.gpus
        for key in ("partition", "account", "qos"):
            if getattr(self, key):
                params[key] = getattr(self, key)
        if self.setup:
            params["setup"] = list(self.setup)
        if self.sbatch:
            params["additional_parameters"] = dict(self.sbatch)
        return params


_TYPES = {"name": str, "partition": str, "account": str, "qos": str, "gpus_per_node": int, "cpus_per_task": int,
          "memory_margin_mb": int, "time_margin_min": int, "time_limit_min": int, "signal_delay_s": int,
          "array_parallelism": int, "max_array_size": int, "setup": list, "sbatch": dict}


def parse_profile(doc: dict, source: str = "profile") -> ClusterProfile:
    known = [f.name for f in fields(ClusterProfile)]
    if not isinstance(doc, dict):
        raise ProfileError(f"{source}: a profile must be a YAML mapping of {', '.join(known)}")
    unknown = sorted(set(doc) - set(known))
    if unknown:
        raise ProfileError(f"{source}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(known)}")
    values = {}
    for key, value in doc.items():
        if value is None:
            continue
        want = _TYPES[key]
        if want is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise ProfileError(f"{source}: {key} must be an integer, got {value!r}")
        if want is not int and not isinstance(value, want):
            raise ProfileError(f"{source}: {key} must be a {want.__name__}, got {value!r}")
        if want is int and value < 0:
            raise ProfileError(f"{source}: {key} must not be negative, got {value}")
        values[key] = value
    if "setup" in values and not all(isinstance(line, str) for line in values["setup"]):
        raise ProfileError(f"{source}: setup must be a list of shell lines (strings)")
    for key in ("array_parallelism", "max_array_size", "time_limit_min", "cpus_per_task"):
        if values.get(key) == 0:
            raise ProfileError(f"{source}: {key} must be at least 1")
    return ClusterProfile(**values)


def load_profile(path: str | Path | None) -> ClusterProfile:
    """Read a profile YAML; ``None`` gives the defaults (the cluster's default partition)."""
    if path is None:
        return ClusterProfile()
    path = Path(path)
    if not path.exists():
        shipped = sorted(p.name for p in (Path(__file__).parent / "profiles").glob("*.yaml"))
        raise ProfileError(f"profile {path} does not exist; write one (examples in slurm/profiles/: "
                           f"{', '.join(shipped)})")
    try:
        doc = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ProfileError(f"profile {path} is not valid YAML: {err}".splitlines()[0]) from None
    doc.setdefault("name", path.stem)
    return parse_profile(doc, str(path))
