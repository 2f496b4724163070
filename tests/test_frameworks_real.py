"""The real competitor frameworks, each in its own venv, through the harness on a small task.

Skipped with the setup command to run when a venv is not built (CI builds them first). Budgets are
small; a whole run of this file takes a few minutes on 2 cores.
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest

from benchmark.execute import Limits, execute_job
from benchmark.results import read_results
from tests.frameworks_fixtures import job, leftovers, require_venv, run_watched

pytestmark = [pytest.mark.frameworks, pytest.mark.timeout(300)]
REPO = Path(__file__).resolve().parents[1]
BUDGET = {"autogluon": 15, "autosklearn": 40, "flaml": 10, "h2o": 25}   # H2O: the JVM start (~5-10 s) is in the budget


@pytest.fixture
def short_tmpdir(monkeypatch):
    """A short $TMPDIR for the job (Ray's socket paths are limited), checked empty afterwards."""
    path = tempfile.mkdtemp(prefix="abt")
    monkeypatch.setenv("TMPDIR", path)
    yield path
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def check_valid_job(run_dir, row, adapter):
    assert row["failure"] == "", row["info"]
    assert row["acc"] > 0.8 and 0 < row["auc"] <= 1
    assert row["version"] == adapter.version() == adapter.venv.info()["version"]
    assert row["models_count"] >= 1 and row["training_duration"] > 0 and row["predict_duration"] >= 0
    job_dir = run_dir / "jobs" / row["job"]
    preds = pd.read_csv(job_dir / "predictions.csv")
    assert len(preds) == 15 and set(preds.columns) >= {"setosa", "versicolor", "virginica", "predictions", "truth"}
    options = json.loads(row["params"])
    assert options, "the framework's own options are recorded"
    return json.loads((job_dir / "framework_result.json").read_text())


@pytest.mark.parametrize("framework", ["autogluon", "autosklearn", "flaml"])
def test_framework_predicts_through_the_harness(framework, tmp_path, short_tmpdir):
    adapter = require_venv(framework)
    since = time.time()
    row = execute_job(tmp_path, job(framework, BUDGET[framework]))
    check_valid_job(tmp_path, row, adapter)
    assert read_results(tmp_path)["job"].tolist() == [row["job"]]
    assert leftovers(since) == []
    assert os.listdir(short_tmpdir) == [], "scratch files left behind"


def test_two_h2o_jobs_get_their_own_jvm_and_port_and_stop_it(tmp_path, short_tmpdir):
    adapter = require_venv("h2o")
    since = time.time()
    reports = []
    for seed in (0, 1):
        row, seen = run_watched(tmp_path, job("h2o", BUDGET["h2o"], seed=seed))
        reports.append(check_valid_job(tmp_path, row, adapter))
        assert "java" in seen
        assert not psutil.pid_exists(reports[-1]["jvm_pid"]) or \
            psutil.Process(reports[-1]["jvm_pid"]).status() == psutil.STATUS_ZOMBIE
    assert reports[0]["jvm_pid"] != reports[1]["jvm_pid"] and reports[0]["port"] != reports[1]["port"]
    assert leftovers(since) == []


@pytest.mark.parametrize("framework,helper,kill_after", [("h2o", "java", 18), ("autogluon_best", "ray", 30)])
def test_a_job_killed_mid_run_leaves_no_process_behind(framework, helper, kill_after, tmp_path, short_tmpdir):
    require_venv(framework)
    budget = 120
    # The harness kills at budget * 1.15 + startup_s: a negative start-up allowance kills mid-fit
    limits = Limits(startup_s=kill_after - budget * 1.15)
    since = time.time()
    row, seen = run_watched(tmp_path, job(framework, budget, task="breast_cancer"), limits)
    assert row["failure"] == "timeout", row
    assert helper in seen, f"no {helper} process was seen while the job ran: {seen}"
    assert leftovers(since) == []
    assert os.listdir(short_tmpdir) == [], "scratch files left behind"


def test_a_framework_error_becomes_an_exception_row_and_the_next_job_runs(tmp_path, short_tmpdir, monkeypatch):
    require_venv("flaml")
    monkeypatch.setenv("PYTHONPATH", str(REPO))     # the job process imports the test adapter
    broken = execute_job(tmp_path, job("tests.frameworks_fixtures:BrokenFLAML", 10))
    assert broken["failure"] == "exception" and "no_such_learner" in broken["info"]
    assert broken["version"] == require_venv("flaml").version()
    ok = execute_job(tmp_path, job("flaml", 10))
    assert ok["failure"] == ""
    assert sorted(read_results(tmp_path)["failure"].fillna("")) == ["", "exception"]
