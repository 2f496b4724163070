"""The runner end to end with real job processes: successes, every failure kind, resume."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.execute import Limits, execute_job
from benchmark.jobs import Job
from benchmark.results import COLUMNS, read_results
from benchmark.executors import LocalExecutor
from benchmark.runner import RunPlan, prepare, run_local
from benchmark.suites import resolve_suite
from frameworks.base import Constraint
from frameworks.logs import MAX_BYTES, logs_dir
from tests.harness_fixtures import job_processes

FAST = Limits(startup_s=8, kill_grace_s=2)


def _job(framework: str, task: str = "iris", budget: int = 5, memory_mb: int = 2048, seed: int = 0) -> Job:
    return Job(framework, resolve_suite("demo").select([task]).tasks[0], 0, seed, Constraint(budget, 1, memory_mb))


def test_demo_run_end_to_end(tmp_path):
    suite = resolve_suite("demo")
    plan = RunPlan(suite, ["constantpredictor", "randomforest"], Constraint(10, 1, 2048), [0], [0, 1], tmp_path, 2)
    outcome = run_local(plan)
    assert len(outcome.jobs) == 3 * 2 * 2 and outcome.interrupt.signum is None
    df = read_results(tmp_path)
    assert list(df.columns) == COLUMNS
    assert len(df) == 12 and (df["failure"].isna() | (df["failure"] == "")).all()
    rf = df[(df.framework == "randomforest") & (df.task == "iris")]
    assert (rf["acc"] > 0.8).all()
    const = df[(df.framework == "constantpredictor") & (df.task == "iris")]
    assert const["acc"].iloc[0] == pytest.approx(1 / 3, abs=0.01)
    job_dir = tmp_path / "jobs" / "randomforest" / "iris" / "fold0_seed1"
    predictions = (job_dir / "predictions.csv").read_text().splitlines()
    assert predictions[0] == "setosa,versicolor,virginica,predictions,truth" and len(predictions) == 16
    assert (job_dir / "job.log").exists() and not (job_dir / "running.json").exists()
    assert (tmp_path / "run.yaml").exists()


@pytest.mark.parametrize("adapter, kind, reason", [
    ("Crash", "exception", "boom: this adapter always crashes"),
    ("Segfault", "exception", "SIGSEGV"),
    ("WrongRows", "invalid_predictions", "expected 15 test rows"),
    ("BadProbabilities", "invalid_predictions", "must sum to 1"),
])
def test_failures_become_rows(tmp_path, job_env, adapter, kind, reason):
    row = execute_job(tmp_path, _job(f"tests.adapters:{adapter}"), FAST)
    assert row["failure"] == kind and reason in row["info"]
    assert row["result"] is None and row["acc"] is None
    stored = read_results(tmp_path)
    assert len(stored) == 1 and stored["failure"].iloc[0] == kind


def test_hang_is_killed_as_timeout(tmp_path, job_env):
    t0 = time.monotonic()
    row = execute_job(tmp_path, _job("tests.adapters:Hang", budget=1), Limits(startup_s=4, kill_grace_s=1))
    assert row["failure"] == "timeout" and "wall-clock limit" in row["info"]
    assert time.monotonic() - t0 < 30
    assert not job_processes(tmp_path)
    scratch = Path((tmp_path / "jobs/tests.adapters:Hang/iris/fold0_seed0/scratch.txt").read_text())
    assert scratch.name and not scratch.exists() and not scratch.parent.exists()


def test_a_killed_job_row_carries_the_frameworks_last_error_line_and_its_logs_are_capped(tmp_path, job_env):
    row = execute_job(tmp_path, _job("tests.adapters:LogsErrorThenHangs", budget=1), Limits(startup_s=4, kill_grace_s=1))
    assert row["failure"] == "timeout" and "wall-clock limit" in row["info"]
    assert "the framework's log says: ERROR solver diverged at iteration 7" in row["info"]
    job_dir = tmp_path / "jobs" / row["job"]
    for log in (logs_dir(job_dir) / "solver.log", job_dir / "job.log"):   # both got over 3 MiB before the kill
        text = log.read_text()
        assert len(text.encode()) <= MAX_BYTES + 100 and "bytes cut by automl-bench" in text.splitlines()[0], log
    assert "ERROR solver diverged at iteration 7" in (logs_dir(job_dir) / "solver.log").read_text()


def test_memory_limit(tmp_path, job_env):
    row = execute_job(tmp_path, _job("tests.adapters:MemoryHog", budget=30, memory_mb=600), FAST)
    assert row["failure"] == "memory" and "600 MB" in row["info"]
    assert row["peak_memory_mb"] > 600
    assert not job_processes(tmp_path)


def test_one_crash_does_not_stop_the_others(tmp_path, job_env):
    plan = RunPlan(resolve_suite("demo").select(["iris"]), ["tests.adapters:Crash", "constantpredictor"],
                   Constraint(5, 1, 2048), [0], [0, 1], tmp_path, 2, limits=FAST)
    run_local(plan)
    df = read_results(tmp_path)
    assert sorted(df.groupby("framework")["failure"].apply(lambda s: s.fillna("").tolist()).items()) == [
        ("constantpredictor", ["", ""]), ("tests.adapters:Crash", ["exception", "exception"])]


def _raw_rows(run_dir: Path) -> list[str]:
    return (run_dir / "results.csv").read_text().splitlines()[1:]


def test_resume_after_sigkill_loses_and_duplicates_nothing(tmp_path, job_env):
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "benchmark", "run", "--framework", "tests.adapters:Slow", "--seeds", "4",
           "--budget", "5", "--out", str(out)]
    env = dict(os.environ, SLOW_ADAPTER_SECONDS="0.5")
    runner = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / "results.csv").exists() and len(_raw_rows(out)) >= 3:
            break
        time.sleep(0.05)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    finished = _raw_rows(out)
    assert 3 <= len(finished) < 12, "the runner should have been killed mid-run"
    # resume: only the missing jobs run, nothing is duplicated, finished rows are untouched
    resumed = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(finished)} already recorded)" in resumed.stdout
    rows = _raw_rows(out)
    assert rows[: len(finished)] == finished
    df = read_results(out)
    assert len(rows) == 12 and df["job"].nunique() == 12
    assert (df["failure"].fillna("") == "").all()


def test_rerun_failed(tmp_path, job_env):
    suite = resolve_suite("demo").select(["iris"])
    plan = RunPlan(suite, ["tests.adapters:Crash"], Constraint(5, 1, 2048), [0], [0], tmp_path, limits=FAST)
    run_local(plan)
    assert prepare(plan, LocalExecutor(tmp_path)) == []     # failed jobs are not retried by default
    plan.rerun_failed = True
    again = prepare(plan, LocalExecutor(tmp_path))
    assert [j.key for j in again] == ["tests.adapters:Crash/iris/fold0_seed0"]


def test_job_folder_never_shadows_packages(tmp_path, job_env):
    row = execute_job(tmp_path, _job("tests.adapters:ShadowCheck"), FAST)
    assert row["failure"] == "", row["info"]


def test_autodl_through_the_harness_trains_networks(tmp_path):
    import json

    row = execute_job(tmp_path, _job("autodl", task="wine", budget=30), Limits())
    assert row["failure"] == "" and row["acc"] > 0.8
    run_dir = tmp_path / "jobs/autodl/wine/fold0_seed0/autodl"
    statuses = [json.loads(line)["status"] for line in (run_dir / "evaluations.jsonl").read_text().splitlines()]
    assert statuses.count("ok") >= 1, statuses
