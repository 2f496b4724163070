"""``python -m benchmark lcbench``: autodl's LCBench sampler over any harness suite, here or as a SLURM array.

  python -m benchmark lcbench --suite SUITE --configs N --epochs 50 --out DIR [--workers W] [--datasets a,b]
      [--seed S] [--cache-dir DIR] [--executor slurm --profile slurm/profiles/NAME.yaml
      [--unit-minutes M] [--memory MB] [--no-wait]]

The harness resolves the suite (demo, openml-cc18, amlb-classification, openml/t/<id> or a file
suite) and decides where units run; autodl samples, trains and writes the records
(``autodl.lcbench.sample.run_sample``). A harness task's test rows are its fold 0; a file suite's
datasets are read exactly as ``python -m autodl.lcbench sample`` reads them (same records).
Export with ``python -m autodl.lcbench export DIR ...``.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from benchmark.tasks import TaskSpec


@dataclass(frozen=True)
class TaskDataset:
    """A harness task as the sampler's dataset (picklable: the task spec, never its data)."""

    task: TaskSpec

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def openml_task_id(self) -> int | None:
        return int(self.task.ref) if self.task.source == "openml" else None

    def load(self):
        return self.task.load_fold(0)


def suite_datasets(suite: str, cache_dir: Path | None) -> list:
    """The sampler's datasets of a harness suite; OpenML tasks must be in (or reach) the cache."""
    from autodl.lcbench.datasets import FileDataset
    from benchmark.suites import ensure_cached, resolve_suite

    resolved = resolve_suite(suite, cache_dir)
    ensure_cached(resolved)
    return [FileDataset(t.name, t.ref, t.target, t.test_path) if t.source == "file" else TaskDataset(t)
            for t in resolved.tasks]


def add_parser(sub) -> None:
    from autodl.lcbench.cli import add_sample_arguments

    p = sub.add_parser("lcbench", help="LCBench-style learning curves of autodl on a suite (here or on SLURM)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", required=True, help="demo, openml-cc18, amlb-classification, openml/t/<id> or a suite YAML")
    add_sample_arguments(p)
    p.add_argument("--cache-dir", type=Path, default=None, help="OpenML cache root")
    p.add_argument("--executor", choices=["local", "slurm"], default="local")
    p.add_argument("--profile", help="SLURM cluster profile YAML (slurm/profiles/); default: the default partition")
    p.add_argument("--unit-minutes", type=int, default=60, help="SLURM time limit of one evaluation (minutes)")
    p.add_argument("--memory", type=int, default=4096, help="SLURM memory of one evaluation (MB)")
    p.add_argument("--no-wait", action="store_true", help="SLURM: return once the array is submitted")


def cmd_lcbench(args) -> int:
    import sys

    from autodl.lcbench.cli import check_counts, sample_with
    from autodl.lcbench.sample import local_submit

    problem = check_counts(args)
    for name, value, low in (("--unit-minutes", args.unit_minutes, 1), ("--memory", args.memory, 64)):
        if problem is None and value < low:
            problem = f"{name} must be at least {low}, got {value}"
    if problem is None and args.executor != "slurm" and (args.profile or args.no_wait):
        problem = "--profile and --no-wait go with --executor slurm"
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if args.executor == "slurm":
        from slurm.lcbench import slurm_submit

        submit = slurm_submit(args.out, args.profile, minutes=args.unit_minutes, memory_mb=args.memory,
                              wait=not args.no_wait)
        where = "as a SLURM array"
    else:
        submit, where = local_submit(args.workers), f"with {args.workers} worker(s)"
    return sample_with(lambda: suite_datasets(args.suite, args.cache_dir), args, submit, where)
