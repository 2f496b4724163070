"""End to end against a real single-node SLURM cluster: job arrays, failures, resume, timeouts."""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from benchmark.jobs import plan_jobs
from benchmark.results import read_results
from benchmark.tasks import TaskSpec
from frameworks.base import Constraint
from slurm import ledger
from slurm.executor import reconcile
from slurm.queue import TERMINAL_STATES, job_states
from tests.slurm_fixtures import LOCAL_PROFILE, bench, slurm_cluster, slurm_run, submitted_ids  # noqa: F401

pytestmark = [pytest.mark.slurm, pytest.mark.slow]
FRAMEWORKS = "constantpredictor,tests.adapters:Crash"


@pytest.fixture(scope="module")
def finished_run(slurm_cluster, tmp_path_factory):  # noqa: F811 - fixture
    out = tmp_path_factory.mktemp("slurm") / "run"
    res = slurm_run(out, "--task", "iris,wine", "--framework", FRAMEWORKS, "--budget", "10")
    assert res.returncode == 0, res.stdout + res.stderr
    return out, res


@pytest.mark.timeout(240)
def test_small_suite_runs_through_one_job_array(finished_run):
    out, res = finished_run
    rows = read_results(out).set_index("job")
    assert len(rows) == 4 and set(rows["mode"]) == {"slurm"}
    ok = rows.loc["constantpredictor/iris/fold0_seed0"]
    assert ok["failure"] != ok["failure"] or not ok["failure"]   # NaN or empty: no failure
    assert 0 < ok["acc"] <= 1 and (out / "jobs/constantpredictor/iris/fold0_seed0/predictions.csv").exists()
    ids = submitted_ids(out)
    assert len(ids) == 4 and len({i.split("_")[0] for i in ids}) == 1     # one array, one sbatch call
    assert "submitted SLURM job" in res.stdout and "| iris |" in res.stdout
    # no terminal: a line per finished job with time, count and ETA, as local runs print
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[4/4\] \S+: .*ETA 0:00:00\)$", res.stdout, re.M), res.stdout
    status = bench("status", str(out))
    assert "2 done, 2 failed, 0 queued, 0 running, 0 pending" in status.stdout


@pytest.mark.timeout(240)
def test_a_failing_job_is_a_row_with_its_reason(finished_run):
    out, _ = finished_run
    crash = read_results(out).set_index("job").loc["tests.adapters:Crash/wine/fold0_seed0"]
    assert crash["failure"] == "exception" and "boom" in crash["info"]
    assert crash["result"] != crash["result"]      # NaN: no score for a failed job


@pytest.mark.timeout(300)
def test_resume_submits_only_missing_jobs_and_not_those_still_queued(finished_run, tmp_path):
    out, _ = finished_run
    before = len(submitted_ids(out))
    # held for 60 s (sbatch --begin), so that they are still queued when the resume looks: without it
    # the constant predictor could finish first on a quick machine
    held = tmp_path / "held.yaml"
    held.write_text(LOCAL_PROFILE.read_text() + "sbatch:\n  begin: now+60\n")
    first = slurm_run(out, "--task", "iris,wine", "--framework", FRAMEWORKS, "--budget", "10", "--seeds", "2",
                      "--no-wait", profile=held)
    assert first.returncode == 0, first.stderr
    assert "4 job(s) submitted" in first.stdout            # seed 1 only; seed 0 is recorded
    # a local run of the same folder leaves them to SLURM instead of running them a second time
    local = bench("run", "--suite", "demo", "--out", str(out), "--task", "iris,wine", "--framework", FRAMEWORKS,
                  "--budget", "10", "--seeds", "2")
    assert local.returncode == 0, local.stdout + local.stderr
    assert "4 job(s) still queued or running elsewhere" in local.stdout, local.stdout
    assert len(read_results(out)) == 4
    assert "2 done, 2 failed, 4 queued, 0 running, 0 pending" in bench("status", str(out)).stdout
    again = slurm_run(out, "--task", "iris,wine", "--framework", FRAMEWORKS, "--budget", "10", "--seeds", "2")
    assert again.returncode == 0, again.stderr
    assert "4 job(s) still queued or running" in again.stdout and "nothing to submit" in again.stdout
    assert "[4/4]" in again.stdout                         # the progress counts the jobs it followed
    assert len(submitted_ids(out)) == before + 4
    rows = read_results(out)
    assert len(rows) == 8 and rows["job"].is_unique


@pytest.mark.timeout(300)
def test_job_past_its_slurm_time_limit_is_recorded_as_timeout(slurm_cluster, tmp_path):  # noqa: F811
    profile = tmp_path / "short.yaml"
    profile.write_text(LOCAL_PROFILE.read_text() + "time_limit_min: 1\n")
    out = tmp_path / "run"
    # the harness would allow 120 s * 1.15 + 20 s; SLURM ends the array task after 1 minute
    res = slurm_run(out, "--task", "iris", "--framework", "tests.adapters:Hang", "--budget", "120",
                    profile=profile, timeout=280)
    assert res.returncode == 0, res.stdout + res.stderr
    row = read_results(out).iloc[0]
    assert row["failure"] == "timeout" and "SLURM" in row["info"], row["info"]
    assert not (out / "jobs/tests.adapters:Hang/iris/fold0_seed0/running.json").exists()
    assert [s.role for s in ledger.read(out)] == ["job"]


@pytest.mark.timeout(120)
def test_array_tasks_that_end_without_a_row_become_failure_rows(slurm_cluster, tmp_path):  # noqa: F811
    jobs = plan_jobs(["constantpredictor"], [TaskSpec("iris", "sklearn", "iris", target="class")], [0], [0, 1],
                     Constraint(10))

    def sbatch(*args):
        return subprocess.run(["sbatch", "--parsable", "--output=/dev/null", *args], capture_output=True, text=True,
                              check=True).stdout.strip().split(";")[0]

    failed = sbatch("--wrap", "exit 3")                 # ends FAILED, never writes a row
    cancelled = sbatch("--hold", "--wrap", "true")      # cancelled while queued
    subprocess.run(["scancel", cancelled], check=True)
    utc = ledger.now_utc()
    ledger.record(tmp_path, [ledger.Submission(jobs[0].key, failed, "job", utc, jobs[0].to_dict()),
                             ledger.Submission(jobs[1].key, cancelled, "job", utc, jobs[1].to_dict())])
    deadline = time.time() + 60
    while not all(s in TERMINAL_STATES for s in job_states([failed, cancelled]).values()):
        assert time.time() < deadline, job_states([failed, cancelled])
        time.sleep(0.5)
    assert reconcile(tmp_path, log=lambda *_: None) == set()
    rows = read_results(tmp_path).set_index("job")
    assert rows.loc[jobs[0].key, "failure"] == "exception"
    assert "FAILED" in rows.loc[jobs[0].key, "info"] and f"SLURM job {failed}" in rows.loc[jobs[0].key, "info"]
    assert rows.loc[jobs[1].key, "failure"] == "killed" and "cancelled" in rows.loc[jobs[1].key, "info"]
    reconcile(tmp_path, log=lambda *_: None)           # idempotent: rows exist now
    assert len((tmp_path / "results.csv").read_text().splitlines()) == 1 + 2


@pytest.mark.timeout(240)
def test_autodl_search_spread_over_two_array_tasks(slurm_cluster, tmp_path):  # noqa: F811
    out = tmp_path / "run"
    framework = "tests.slurm_adapters:AutoDLDistributed"
    res = slurm_run(out, "--task", "iris", "--framework", framework, "--budget", "30", "--autodl-workers", "2")
    assert res.returncode == 0, res.stdout + res.stderr
    row = read_results(out).iloc[0]
    assert row["acc"] > 0.5, row["info"]
    subs = ledger.read(out)
    assert [s.role for s in subs] == ["master", "worker"]
    assert len({s.slurm_id.split("_")[0] for s in subs}) == 1        # two tasks of one array
    search = out / "jobs" / framework / "iris" / "fold0_seed0" / "hpbandster"
    spec = json.loads((search / "worker_spec.json").read_text())     # the credentials workers found
    assert spec["run_dir"] == str(search)
    worker_log = "".join(p.read_text() for p in (out / "slurm" / "logs").glob(f"{subs[1].slurm_id}/*.out"))
    assert (search / "remote_worker_1.jsonl").exists(), worker_log[-2000:]
    remote = (search / "remote_worker_1.jsonl").read_text().splitlines()
    evaluations = (search / "evaluations.jsonl").read_text().splitlines()
    assert len(evaluations) > len(remote)                # the master's own worker evaluated too
    assert (search / "finished").exists()


@pytest.mark.timeout(240)
def test_preempted_job_is_requeued_and_then_recorded_once(slurm_cluster, tmp_path):  # noqa: F811
    profile = tmp_path / "short.yaml"    # under 10 min submitit reads any signal as a timeout; ours knows better
    profile.write_text(LOCAL_PROFILE.read_text() + "time_limit_min: 5\n")
    out = tmp_path / "run"
    args = ("--task", "iris", "--framework", "tests.adapters:Slow", "--budget", "60")
    res = slurm_run(out, *args, "--no-wait", profile=profile, SLOW_ADAPTER_SECONDS="8")
    assert res.returncode == 0, res.stderr
    sid = submitted_ids(out)[0]
    marker = out / "jobs/tests.adapters:Slow/iris/fold0_seed0/running.json"
    deadline = time.time() + 60
    while not marker.exists():
        assert time.time() < deadline, "the job never started"
        time.sleep(0.2)
    subprocess.run(["scancel", "--signal=USR2", sid], check=True)     # what SLURM sends on preemption
    while "BeginTime" not in subprocess.run(["squeue", "-h", "-j", sid, "-o", "%r"], capture_output=True,
                                             text=True).stdout:
        assert time.time() < deadline, "the job was not requeued"
        time.sleep(0.2)
    # SLURM holds a requeued job back for two minutes; let it start sooner (but not before slurmd has
    # let go of the first attempt, or it refuses the revoked credential)
    time.sleep(5)
    subprocess.run(["scontrol", "update", f"JobId={sid}", "StartTime=now"], check=True)
    res = slurm_run(out, *args, profile=profile, SLOW_ADAPTER_SECONDS="8")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 job(s) still queued or running" in res.stdout
    lines = (out / "results.csv").read_text().splitlines()
    assert len(lines) == 2, lines                     # one row: the interrupted attempt wrote none
    row = read_results(out).iloc[0]
    assert row["acc"] > 0 and row["mode"] == "slurm"
    logs = "".join(p.read_text() for p in (out / "slurm" / "logs").rglob("*.out"))
    assert "this job is timed-out" in logs           # submitit's guess for a short time limit ...
    assert "a preemption; requeued" in logs            # ... corrected: requeued
    assert len(ledger.read(out)) == 1                 # requeued by SLURM, not submitted again


@pytest.mark.timeout(120)
def test_sbatch_refusal_is_one_clear_error(slurm_cluster, tmp_path):  # noqa: F811
    profile = tmp_path / "bad.yaml"
    profile.write_text("partition: nosuch\n")
    res = slurm_run(tmp_path / "run", "--task", "iris", "--framework", "constantpredictor", "--budget", "10",
                    profile=profile)
    assert res.returncode == 2
    assert "error: sbatch refused the array" in res.stderr and "Invalid partition" in res.stderr
    assert "Traceback" not in res.stderr
