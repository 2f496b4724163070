"""Every check that needs no compute: command-line values (as argparse types), a run plan's options
and run folder, then each task's data (``benchmark.data_checks``). A refusal is one line naming the
option or file (and line or column) and the fix; nothing here starts a job.

Importing this module is cheap (the CLI's parser uses its types): suites, frameworks and data
are imported by the checks that need them.
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
from pathlib import Path

MIN_MEMORY_MB = 256      # the job process itself (Python, pandas, the adapter) needs about this much


class RunError(ValueError):
    """A run cannot start as asked; the message says how to fix it."""


# --- command-line values (argparse types: argparse turns ArgumentTypeError into a usage error) ------

class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line on stderr (exit 2), like every other refusal."""

    def error(self, message: str):
        self.exit(2, f"error: {' '.join(message.split())} (see {self.prog} --help)\n")


def parse_folds(text: str) -> list[int]:
    """``0``, ``0-9``, ``0,3,5-7``: distinct fold numbers in the order given."""
    if not text.strip():
        raise argparse.ArgumentTypeError("no folds given; write e.g. 0, 0-9 or 0,3")
    folds: list[int] = []
    for part in text.split(","):
        part = part.strip()
        lo, dash, hi = part.partition("-")
        if not part or not lo.isdigit() or (dash and not hi.isdigit()):
            where = "" if part == text.strip() else f" in {text!r}"
            raise argparse.ArgumentTypeError(f"{part!r}{where} is not a fold number or range; "
                                             "write e.g. 0, 0-9 or 0,3 (folds count from 0)")
        if dash and int(hi) < int(lo):
            raise argparse.ArgumentTypeError(f"empty range {part}; write {hi}-{lo}")
        for fold in range(int(lo), int(hi) + 1) if dash else [int(lo)]:
            if fold in folds:
                raise argparse.ArgumentTypeError(f"fold {fold} is named twice in {text!r}; name each fold once")
            folds.append(fold)
    return folds


def finite_positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; write e.g. 60") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a finite positive number of seconds; write e.g. 60")
    return value


def positive_int(text: str) -> int:
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not a whole number of at least 1")
    return value


def non_negative_int(text: str) -> int:
    value = _int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative; write 0 or more")
    return value


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


# --- the plan --------------------------------------------------------------------------------------

def validate(plan, local: bool = True, check_cache: bool = True, log=print) -> None:
    """Every check that needs no compute. ``local=False`` (a cluster executor) leaves cores and
    GPUs to the cluster; ``check_cache=False`` (a dry run) needs no OpenML data. OpenML tasks that
    had to be fetched are then named by their dataset (``plan.suite`` is replaced)."""
    from benchmark.data_checks import check_data
    from benchmark.suites import ensure_cached, name_openml_tasks

    check_options(plan, local)
    check_out(Path(plan.out))
    if check_cache and ensure_cached(plan.suite):
        plan.suite = name_openml_tasks(plan.suite)
        check_folds(plan.folds, plan.suite)
    check_data(plan.suite, plan.folds, log)


def check_options(plan, local: bool = True) -> None:
    check_framework_names(plan.frameworks)
    c = plan.constraint
    if not isinstance(c.budget_s, (int, float)) or not math.isfinite(c.budget_s) or c.budget_s <= 0:
        raise RunError(f"--budget must be a positive number of seconds, got {c.budget_s}")
    if c.memory_mb < MIN_MEMORY_MB:
        raise RunError(f"--memory {c.memory_mb} MB is below the {MIN_MEMORY_MB} MB a job process needs for itself; "
                       f"use --memory {MIN_MEMORY_MB} or more")
    if c.gpus < 0:
        raise RunError(f"--gpus must be 0 or more, got {c.gpus}")
    if local and c.gpus > (have := gpu_count()):
        raise RunError(f"--gpus {c.gpus} is more than the {have} GPU(s) of this machine; use --gpus {have} "
                       "or a cluster executor (--executor slurm)")
    cpus = (os.cpu_count() or 1) if local else max(c.cores, 1)
    if c.cores < 1 or c.cores > cpus:
        raise RunError(f"--cores {c.cores} is not possible on this machine with {cpus} cores; use 1..{cpus}")
    if local and (plan.parallel < 1 or plan.parallel * c.cores > cpus):
        raise RunError(f"--jobs {plan.parallel} x --cores {c.cores} would oversubscribe the {cpus} cores of this "
                       f"machine; use --jobs {max(1, cpus // c.cores)} or fewer")
    if not plan.seeds:
        raise RunError("--seeds must be at least 1")
    if len(set(plan.seeds)) != len(plan.seeds) or min(plan.seeds) < 0:
        raise RunError(f"seeds {plan.seeds} must be distinct and 0 or more")
    if not plan.suite.tasks:
        raise RunError(f"suite {plan.suite.name} has no tasks; name some with --task or use another --suite")
    names = [t.name for t in plan.suite.tasks]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise RunError(f"task name(s) {', '.join(twice)} appear twice in suite {plan.suite.name}; name each task once")
    check_folds(plan.folds, plan.suite)


def check_framework_names(frameworks: list[str]) -> None:
    from frameworks.registry import check_frameworks

    if not frameworks:
        raise RunError("--framework names no framework; use e.g. --framework constantpredictor,lightgbm")
    twice = sorted({f for f in frameworks if frameworks.count(f) > 1})
    if twice:
        raise RunError(f"--framework names {', '.join(twice)} twice; name each framework once")
    check_frameworks(frameworks)


def check_folds(folds: list[int], suite) -> None:
    if not folds:
        raise RunError("--folds names no fold; write e.g. --folds 0 or --folds 0-9")
    twice = sorted({f for f in folds if folds.count(f) > 1})
    if twice:
        raise RunError(f"--folds names fold(s) {', '.join(map(str, twice))} twice; name each fold once")
    for task in suite.tasks:
        bad = [f for f in folds if not 0 <= f < task.n_folds]
        if bad:
            has = "fold 0 only (it has a test file)" if task.test_path else f"folds 0..{task.n_folds - 1}"
            raise RunError(f"--folds {','.join(map(str, bad))} out of range for task {task.name}, which has {has}; "
                           f"use --folds 0-{min(t.n_folds for t in suite.tasks) - 1} or fewer")


def check_out(out: Path) -> None:
    """The run folder can be made (or is a folder) and written by this user."""
    if out.exists() and not out.is_dir():
        raise RunError(f"--out {out} is a file, not a folder; choose a folder path for --out")
    existing = next(p for p in [out, *out.parents] if p.exists())
    if not existing.is_dir():
        raise RunError(f"--out {out}: {existing} is a file, so no folder can be made inside it; choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RunError(f"--out {out}: {existing} is not writable by this user; choose a writable folder for --out")


def gpu_count() -> int:
    """GPUs on this machine (``nvidia-smi -L``, limited by CUDA_VISIBLE_DEVICES), 0 without nvidia-smi."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return 0
    try:
        listed = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    count = sum(line.startswith("GPU ") for line in listed.splitlines())
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = [v for v in visible.split(",") if v.strip() and not v.strip().startswith("-")]
        count = min(count, len(ids))
    return count
