"""A job: one framework on one fold of one task with one seed, under the run's constraint."""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from benchmark.jobfolder import JobFolder
from benchmark.tasks import TaskSpec
from frameworks.base import Constraint


@dataclass(frozen=True)
class Job:
    framework: str
    task: TaskSpec
    fold: int
    seed: int
    constraint: Constraint

    @property
    def key(self) -> str:
        """Stable identity of the job: the ``job`` column and its folder under ``jobs/``."""
        return f"{self.framework}/{self.task.name}/fold{self.fold}_seed{self.seed}"

    def folder(self, run_dir: Path) -> JobFolder:
        return JobFolder.of(run_dir, self.key)

    def to_dict(self) -> dict:
        c = self.constraint
        return {"framework": self.framework, "task": self.task.to_dict(), "fold": self.fold, "seed": self.seed,
                "constraint": {"budget_s": c.budget_s, "cores": c.cores, "memory_mb": c.memory_mb, "gpus": c.gpus}}

    @classmethod
    def from_dict(cls, d: dict) -> "Job":
        return cls(d["framework"], TaskSpec.from_dict(d["task"]), int(d["fold"]), int(d["seed"]),
                   Constraint(**d["constraint"]))


def plan_jobs(frameworks: list[str], tasks: list[TaskSpec], folds: list[int], seeds: list[int],
              constraint: Constraint) -> list[Job]:
    """Every (framework, task, fold, seed), task-major so early results cover all frameworks."""
    return [Job(fw, task, fold, seed, constraint)
            for task, fold, seed, fw in itertools.product(tasks, folds, seeds, frameworks)]
