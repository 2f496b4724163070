"""The real competitor frameworks, each in its own venv, through the harness on a small task.

Skipped with the setup command to run when a venv is not built (CI builds them first). Budgets are
small; a whole run of this file takes a few minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from benchmark.execute import Limits, execute_job
from benchmark.report import write_report
from benchmark.report.trajectory import read_trajectories
from benchmark.results import read_results
from benchmark.runfolder import open_run
from benchmark.table import framework_summary
from frameworks.logs import last_error_line, logs_dir
from benchmark.jobs import Job
from frameworks.base import Constraint
from tests.frameworks_fixtures import demo_task, job, leftovers, require_venv, run_watched, small_unscaled_binary_task

pytestmark = [pytest.mark.frameworks, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[1]
# H2O: the JVM start (~5-10 s) is in the budget; best_quality bags and stacks (Ray, DyStack)
BUDGET = {"autogluon": 15, "autogluon_best": 40, "autosklearn": 40, "autosklearn2": 40, "flaml": 10, "h2o": 25}
# Each variant as AMLB defines it: the preset it must report, and the framework's own log in the job folder
PRESET = {"autogluon": "medium_quality", "autogluon_best": "best_quality", "autosklearn": "auto-sklearn 1.0",
          "autosklearn2": "auto-sklearn 2.0", "flaml": "defaults", "h2o": "defaults"}
OWN_LOG = {"autogluon": "autogluon.log", "autogluon_best": "autogluon.log", "autosklearn": "autosklearn.log",
           "autosklearn2": "autosklearn.log", "flaml": "flaml_trials.jsonl", "h2o": "h2o/*-3-info.log"}


@pytest.fixture
def short_tmpdir(monkeypatch):
    """A short $TMPDIR for the job (Ray's socket paths are limited), checked empty afterwards."""
    path = tempfile.mkdtemp(prefix="abt")
    monkeypatch.setenv("TMPDIR", path)
    yield path
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def check_valid_job(run_dir, row, adapter, min_acc: float | None = 0.8):
    """The adapter's work: predictions row-aligned with the fold's test rows, labels that are the probabilities'
    argmax under the right class names, and the row's accuracy scored from them. ``min_acc`` also asks for a
    framework that learned something (None for H2O at 10 s of fitting: its time-cut stacked ensemble once called
    every test row versicolor)."""
    assert row["failure"] == "", row["info"]
    assert 0 < row["auc"] <= 1 and (min_acc is None or row["acc"] > min_acc)
    assert row["version"] == adapter.version() == adapter.venv.info()["version"]
    assert row["models_count"] >= 1 and row["training_duration"] > 0 and row["predict_duration"] >= 0
    job_dir = run_dir / "jobs" / row["job"]
    preds = pd.read_csv(job_dir / "predictions.csv")
    _, test, target = demo_task("iris").load_fold(0)
    assert preds["truth"].astype(str).tolist() == test[target].astype(str).tolist()
    proba = preds[["setosa", "versicolor", "virginica"]]
    assert ((proba.sum(axis=1) - 1).abs() < 1e-3).all()
    assert (proba.idxmax(axis=1) == preds["predictions"]).all(), preds
    assert abs(row["acc"] - (preds["predictions"] == preds["truth"]).mean()) < 1e-9
    options = json.loads(row["params"])
    assert options, "the framework's own options are recorded"
    return json.loads((job_dir / "framework_result.json").read_text())


def open_test_run(run_dir: Path, framework: str) -> None:
    open_run(run_dir, {"suite": "demo", "budget": BUDGET[framework], "cores": 1, "memory_mb": 4096, "gpus": 0},
             {"frameworks": [framework], "tasks": ["iris"], "folds": [0], "seeds": [0]})


def check_variant_logs_and_anytime(run_dir: Path, row: dict, framework: str) -> list[dict]:
    """The preset in the row and the summary, the framework's own log in the job folder, and an anytime
    record that is monotone in time and parses into the report. Returns the record's lines."""
    job_dir = run_dir / "jobs" / row["job"]
    assert json.loads(row["params"])["preset"] == PRESET[framework]
    assert framework_summary(read_results(run_dir)).loc[framework, "preset"] == PRESET[framework]
    own = list(logs_dir(job_dir).glob(OWN_LOG[framework]))
    assert own and own[0].stat().st_size > 0, f"no {OWN_LOG[framework]} in {sorted(logs_dir(job_dir).rglob('*'))}"
    lines = [json.loads(x) for x in (job_dir / "anytime" / "trajectory.jsonl").read_text().splitlines()]
    timed = [r["time"] for r in lines if r["time"] is not None]
    assert timed, f"{framework} recorded no timed model: {lines}"
    assert timed == sorted(timed) and 0 <= timed[0] and timed[-1] <= row["duration"], timed
    assert all(0 <= r["val_accuracy"] <= 1 and r["kind"] in ("model", "ensemble") and r["source"] for r in lines)
    points = read_trajectories([run_dir])
    assert set(points["framework"]) == {framework} and "incumbent" in set(points["kind"])
    html = write_report([run_dir]).read_text()
    assert re.search(rf'<img src="anytime_00_iris.svg"', html)
    svg = (run_dir / "report" / "anytime_00_iris.svg").read_text()
    assert f"{framework} incumbent (validation, 1 run)" in svg
    return lines


@pytest.mark.parametrize("framework", ["autogluon", "autogluon_best", "autosklearn", "autosklearn2", "flaml"])
def test_each_variant_predicts_and_reports_its_preset_logs_and_anytime_record(framework, tmp_path, short_tmpdir):
    adapter = require_venv(framework)
    open_test_run(tmp_path, framework)
    since = time.time()
    row = execute_job(tmp_path, job(framework, BUDGET[framework]))
    check_valid_job(tmp_path, row, adapter)
    assert read_results(tmp_path)["job"].tolist() == [row["job"]]
    check_variant_logs_and_anytime(tmp_path, row, framework)
    if framework == "autogluon_best":   # its DyStack sub-fit (in a Ray process) ran: our callback unpickles there
        log = (logs_dir(tmp_path / "jobs" / row["job"]) / "autogluon.log").read_text()
        assert "Leaderboard on holdout data (DyStack)" in log and "Exception encountered during DyStack" not in log
    assert leftovers(since) == []
    assert os.listdir(short_tmpdir) == [], "scratch files left behind"


def test_two_h2o_jobs_get_their_own_jvm_and_port_and_stop_it(tmp_path, short_tmpdir):
    adapter = require_venv("h2o")
    open_test_run(tmp_path, "h2o")
    since = time.time()
    reports = []
    for seed in (0, 1):
        row, seen = run_watched(tmp_path, job("h2o", BUDGET["h2o"], seed=seed))
        reports.append(check_valid_job(tmp_path, row, adapter, min_acc=None))
        assert "java" in seen
        if seed == 0:
            check_variant_logs_and_anytime(tmp_path, row, "h2o")
            client = logs_dir(tmp_path / "jobs" / row["job"]) / "h2o_client.log"
            assert "GET /3/" in client.read_text()           # the client's log of its REST calls
        assert not psutil.pid_exists(reports[-1]["jvm_pid"]) or \
            psutil.Process(reports[-1]["jvm_pid"]).status() == psutil.STATUS_ZOMBIE
    assert reports[0]["jvm_pid"] != reports[1]["jvm_pid"] and reports[0]["port"] != reports[1]["port"]
    assert leftovers(since) == []


# H2O's JVM log; AutoGluon's log, and its console where Ray forwards the DyStack sub-fit's lines
# (AutoGluon uses Ray on more than one core: 2 cores here)
@pytest.mark.parametrize("framework,cores,helper,kill_after,own_log,logged",
                         [("h2o", 1, "java", 18, "h2o/*-3-info.log", "AutoML"),
                          ("autogluon_best", 2, "ray", 30, "*.log", "Fitting model")])
def test_a_job_killed_mid_run_leaves_no_process_behind_and_keeps_its_logs(framework, cores, helper, kill_after, own_log,
                                                                          logged, tmp_path, short_tmpdir):
    require_venv(framework)
    budget = 120
    # The harness kills at budget * 1.15 + startup_s: a negative start-up allowance kills mid-fit
    limits = Limits(startup_s=kill_after - budget * 1.15)
    since = time.time()
    row, seen = run_watched(tmp_path, job(framework, budget, task="breast_cancer", cores=cores), limits)
    assert row["failure"] == "timeout", row
    assert helper in seen, f"no {helper} process was seen while the job ran: {seen}"
    assert leftovers(since) == []
    assert os.listdir(short_tmpdir) == [], "scratch files left behind"
    # What the framework logged about its run until the kill is in the job folder, not in its removed scratch
    job_dir = tmp_path / "jobs" / row["job"]
    own = list(logs_dir(job_dir).glob(own_log))
    assert own, f"no {own_log} in {sorted(logs_dir(job_dir).rglob('*'))}"
    assert any(logged in log.read_text(errors="replace") for log in own), own
    assert not (job_dir / "anytime" / "trajectory.jsonl").exists()     # no fit finished: no record claimed


def test_a_framework_error_becomes_an_exception_row_and_the_next_job_runs(tmp_path, short_tmpdir, monkeypatch):
    require_venv("flaml")
    monkeypatch.setenv("PYTHONPATH", str(REPO))     # the job process imports the test adapter
    broken = execute_job(tmp_path, job("tests.frameworks_fixtures:BrokenFLAML", 10))
    assert broken["failure"] == "exception" and "no_such_learner" in broken["info"]
    assert broken["version"] == require_venv("flaml").version()
    assert "no_such_learner" in last_error_line(tmp_path / "jobs" / broken["job"])   # the traceback is kept too
    ok = execute_job(tmp_path, job("flaml", 10))
    assert ok["failure"] == ""
    assert sorted(read_results(tmp_path)["failure"].fillna("")) == ["", "exception"]


def test_auto_sklearns_own_error_is_in_its_log_and_is_the_last_error_line(tmp_path, short_tmpdir, monkeypatch):
    require_venv("autosklearn")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    row = execute_job(tmp_path, job("tests.frameworks_fixtures:BrokenAutoSklearn", 40))
    assert row["failure"] == "exception", row
    logs = logs_dir(tmp_path / "jobs" / row["job"])
    assert re.search(r"^\[ERROR\] .*Dummy prediction failed with run state StatusType.CRASHED",
                     (logs / "autosklearn.log").read_text(), re.M)
    said = last_error_line(tmp_path / "jobs" / row["job"])
    # from auto-sklearn's own log, although the exec script's traceback.log and console.log are newer
    assert "Dummy prediction failed" in said and said[:120] in (logs / "autosklearn.log").read_text()   # (cut at 300)
    assert "Dummy prediction failed" in row["info"]


def test_model_runs_forked_by_a_framework_stop_at_their_limit(tmp_path):
    """auto-sklearn stops each model run with pynisher: SIGALRM in the run's forked process, then
    SIGTERM from the parent after the wall limit. The exec script turns SIGTERM into SystemExit for
    its own clean-up; a forked run that inherited that handler could not be stopped while it was in C
    code (a libsvm fit), and auto-sklearn overran its budget by as long as that fit took. Forked
    children get SIGTERM's default action back."""
    adapter = require_venv("autosklearn")
    script = tmp_path / "stuck.py"
    script.write_text(f"""
import multiprocessing, sys, time
sys.path.insert(0, {str(REPO / "frameworks" / "exec")!r})
import pynisher
from exec_common import raise_on_sigterm

def stuck_in_c():
    return sum(range(3_000_000_000))        # one C call of about a minute: Python handlers wait for it

raise_on_sigterm()
limited = pynisher.enforce_limits(wall_time_in_s=2, context=multiprocessing.get_context("fork"))(stuck_in_c)
started = time.time()
limited()
print("stopped after %.1f s: %s" % (time.time() - started, limited.exit_status.__name__))
""")
    done = subprocess.run([str(adapter.venv.python), str(script)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seconds = float(re.search(r"stopped after ([\d.]+) s: TimeoutException", done.stdout).group(1))
    assert seconds < 5, done.stdout


@pytest.mark.timeout(400)
def test_auto_sklearn_keeps_its_budget_on_small_unscaled_binary_data(tmp_path, short_tmpdir, monkeypatch):
    """The case behind the fix above, end to end: auto-sklearn (libsvm_svc only) at 60 s on a small binary
    dataset of our own with unscaled features, where polynomial-kernel fits run for minutes. Without the
    fix this job ran into the harness's wall limit (a timeout at 94 s); with it, 56 s."""
    from frameworks.base import OVERRUN_ALLOWANCE

    require_venv("autosklearn")
    monkeypatch.setenv("PYTHONPATH", str(REPO))     # the job process imports the test adapter
    task = small_unscaled_binary_task(tmp_path / "data")
    row = execute_job(tmp_path / "run", Job("tests.frameworks_fixtures:SVCOnlyAutoSklearn", task, 0, 0,
                                            Constraint(60, 1, 4096)))
    assert row["failure"] == "", row["info"]
    assert row["overrun"] <= OVERRUN_ALLOWANCE, row["overrun"]


def test_h2o_models_scored_without_cross_validation_are_in_the_anytime_record(tmp_path, short_tmpdir, monkeypatch):
    """On larger data H2O AutoML scores models on a blending frame instead of cross-validation; their
    validation accuracy then comes from that frame (the record was empty before)."""
    require_venv("h2o")
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    row = execute_job(tmp_path, job("tests.frameworks_fixtures:NoCVH2O", BUDGET["h2o"]))
    assert row["failure"] == "", row["info"]
    lines = [json.loads(x) for x in (tmp_path / "jobs" / row["job"] / "anytime" / "trajectory.jsonl").open()]
    assert lines and all(0 < r["val_accuracy"] <= 1 and r["time"] is not None for r in lines), lines
