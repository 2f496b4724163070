"""Planning the full openml-cc18 run for SLURM (dry run): arrays, sbatch calls and planning time.

72 tasks x 5 seeds x 4 frameworks (autodl, autogluon, autosklearn, h2o) = 1440 jobs, 1 h budget,
on the GPU example profile with SLURM's default MaxArraySize (1000). Needs no cluster and no
OpenML data. Target: under 10 s and at most a handful of sbatch calls.

    python bench/bench_slurm_plan.py
"""
from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmark.execute import Limits  # noqa: E402
from benchmark.runner import RunPlan  # noqa: E402
from benchmark.suites import resolve_suite  # noqa: E402
from frameworks.base import Constraint  # noqa: E402
from frameworks.registry import FRAMEWORKS, register  # noqa: E402
from slurm.executor import dry_run, submit  # noqa: E402
from slurm.profile import ClusterProfile, load_profile  # noqa: E402
from slurm.queue import slurm_available  # noqa: E402

FRAMEWORKS_4 = ["autodl", "autogluon", "autosklearn", "h2o"]
TARGET_S = 10.0


def main() -> None:
    for name in FRAMEWORKS_4:      # planning never imports adapters: a placeholder entry is enough
        if name not in FRAMEWORKS:
            register(name, f"frameworks.{name}:Placeholder")
    profile = load_profile(REPO / "slurm" / "profiles" / "gpu-example.yaml")
    profile = profile.__class__(**{**profile.__dict__, "max_array_size": 1000})
    with tempfile.TemporaryDirectory() as tmp:
        suite = resolve_suite("openml-cc18", Path(tmp) / "empty-cache")
        for workers in (1, 4):
            times, summary = [], {}
            for _ in range(5):
                plan = RunPlan(suite, FRAMEWORKS_4, Constraint(3600, 8, 32000, 1), [0], list(range(5)),
                               Path(tmp) / f"run{workers}", limits=Limits())
                t0 = time.perf_counter()
                summary = dry_run(plan, profile, workers, log=lambda *_: None)
                times.append(time.perf_counter() - t0)
            median = statistics.median(times)
            print(f"autodl workers {workers}: {summary['jobs']} jobs -> {summary['array_tasks']} array tasks, "
                  f"{summary['arrays']} arrays = {summary['sbatch_calls']} sbatch calls, time limit "
                  f"{summary['time_limit_min']} min; planning median {median:.3f} s over 5 "
                  f"(target {TARGET_S:.0f} s: {median / TARGET_S:.3f} of it)")
        # the whole command, as a user types it (interpreter start and imports included)
        cmd = [sys.executable, "-m", "benchmark", "run", "--suite", "openml-cc18", "--framework",
               ",".join(FRAMEWORKS_4), "--seeds", "5", "--budget", "3600",
               "--gpus", "1", "--cores", "8", "--memory", "32000", "--cache-dir", str(Path(tmp) / "empty-cache"),
               "--executor", "slurm", "--profile", str(REPO / "slurm/profiles/gpu-example.yaml"), "--dry-run",
               "--out", str(Path(tmp) / "cli")]
        t0 = time.perf_counter()
        out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, check=True).stdout.strip()
        print(f"CLI end to end {time.perf_counter() - t0:.2f} s: {out}")
        if slurm_available() is None:
            submit_held(suite, Path(tmp) / "held")


def submit_held(suite, out: Path) -> None:
    """Real submission of the 1440 jobs to the test cluster, held (--hold) and then cancelled."""
    plan = RunPlan(suite, FRAMEWORKS_4, Constraint(3600, 1, 1000, 0), [0], list(range(5)), out, limits=Limits())
    profile = ClusterProfile(name="held", sbatch={"hold": True}, max_array_size=1000)
    t0 = time.perf_counter()
    subs = submit(plan, profile, plan.jobs(), 1, log=lambda *_: None)
    elapsed = time.perf_counter() - t0
    arrays = sorted({s.slurm_id.split("_")[0] for s in subs})
    subprocess.run(["scancel", *arrays], check=True)
    print(f"real submission (held, then cancelled): {len(subs)} array tasks in {len(arrays)} sbatch calls, "
          f"{elapsed:.2f} s ({1000 * elapsed / len(subs):.2f} ms per task, pickles and ledger included)")


if __name__ == "__main__":
    main()
