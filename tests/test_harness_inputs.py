"""Bad input is refused with a clear message before any job starts; suites and tasks load."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmark.cli import main
from tests.openml_fixture import build_cache, iris_with_nominal


def _error(capsys, *argv) -> str:
    try:
        code = main(list(argv))
    except SystemExit as stop:       # argparse refuses a malformed value itself
        code = stop.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


@pytest.fixture
def file_suite(tmp_path):
    frame = iris_with_nominal()
    frame.iloc[:100].to_csv(tmp_path / "train.csv.gz", index=False)
    frame.to_parquet(tmp_path / "all.parquet")
    (tmp_path / "suite.yaml").write_text(
        "name: mine\ndatasets:\n"
        "  - {name: split, path: train.csv.gz, target: class, test_path: train.csv.gz}\n"
        "  - {name: cv, path: all.parquet, target: class}\n")
    return tmp_path / "suite.yaml"


def test_unknown_suite(capsys, tmp_path):
    assert "unknown suite 'nope'" in _error(capsys, "run", "--suite", "nope", "--out", str(tmp_path))


def test_unknown_framework(capsys, tmp_path):
    err = _error(capsys, "run", "--framework", "constantpredictor,nosuch", "--out", str(tmp_path))
    assert "unknown framework(s) nosuch" in err and "known:" in err


def test_unknown_task_and_bad_task_id(capsys, tmp_path):
    assert "unknown task(s) nosuch" in _error(capsys, "run", "--task", "nosuch", "--out", str(tmp_path))
    assert "bad OpenML task" in _error(capsys, "run", "--suite", "openml/t/abc", "--out", str(tmp_path))


def test_malformed_suite_yaml(capsys, tmp_path):
    (tmp_path / "bad.yaml").write_text("name: x\ndatasets: [ {name: a, path: \n")
    assert "is not valid YAML" in _error(capsys, "run", "--suite", str(tmp_path / "bad.yaml"), "--out", str(tmp_path))
    (tmp_path / "bad2.yaml").write_text("name: x\ndatasets:\n  - {name: a}\n")
    assert "needs 'name', 'path' and 'target'" in _error(capsys, "run", "--suite", str(tmp_path / "bad2.yaml"))


def test_file_suite_target_missing(capsys, file_suite):
    text = file_suite.read_text().replace("target: class, test", "target: label, test")
    file_suite.write_text(text)
    err = _error(capsys, "run", "--suite", str(file_suite), "--out", str(file_suite.parent / "r"))
    assert "target column 'label' not in train.csv.gz" in err


def test_nonpositive_budget_and_too_many_cores(capsys, tmp_path):
    assert "--budget: 0 is not a finite positive number" in _error(capsys, "run", "--budget", "0", "--out", str(tmp_path))
    assert "is not possible on this machine" in _error(capsys, "run", "--cores", str(os.cpu_count() + 1),
                                                        "--out", str(tmp_path))
    assert "would oversubscribe" in _error(capsys, "run", "--jobs", str(os.cpu_count() + 1), "--out", str(tmp_path))


def test_incompatible_results_folder(capsys, tmp_path):
    out = tmp_path / "r"
    assert main(["run", "--framework", "constantpredictor", "--task", "iris", "--budget", "5", "--out", str(out)]) == 0
    err = _error(capsys, "run", "--framework", "constantpredictor", "--budget", "7", "--out", str(out))
    assert "incompatible invocation (budget 5 vs 7)" in err


def test_file_suite_runs(tmp_path, file_suite):
    out = tmp_path / "r"
    assert main(["run", "--suite", str(file_suite), "--framework", "lightgbm", "--budget", "10", "--out", str(out)]) == 0
    from benchmark.results import read_results
    df = read_results(out)
    assert sorted(df["task"]) == ["cv", "split"] and (df["acc"] > 0.8).all()


# --- OpenML through openml-python's own code path, offline -----------------------------------------

@pytest.fixture
def openml_cache(tmp_path_factory, tmp_path):
    """A hand-built cache, copied per test: openml-python deletes cache folders after a failed download."""
    pristine = tmp_path_factory.getbasetemp() / "openml-pristine"
    if not pristine.exists():
        build_cache(pristine, iris_with_nominal(), "class", task_id=59, dataset_id=61, name="iris")
    shutil.copytree(pristine, tmp_path / "cache")
    return tmp_path / "cache"


def test_openml_task_runs_from_cache(tmp_path, openml_cache):
    out = tmp_path / "r"
    code = main(["run", "--suite", "openml/t/59", "--framework", "randomforest", "--budget", "10",
                 "--cache-dir", str(openml_cache), "--out", str(out)])
    assert code == 0
    from benchmark.results import read_results
    row = read_results(out).iloc[0]
    assert row["id"] == "openml.org/t/59" and row["task"] == "iris" and row["acc"] > 0.8
    assert pd.read_csv(out / "jobs/randomforest/iris/fold0_seed0/predictions.csv").shape == (15, 5)


def test_openml_fold_matches_the_split_file(openml_cache):
    from benchmark.suites import resolve_suite
    task = resolve_suite("openml/t/59", openml_cache).tasks[0]
    train, test, target = task.load_fold(3)
    assert target == "class" and len(train) == 135 and len(test) == 15
    assert set(train.columns) == {"sepal_length", "sepal_width", "petal_length", "petal_width", "size", "class"}
    assert isinstance(train["size"].dtype, pd.CategoricalDtype) and train["sepal_width"].isna().any()


def test_missing_openml_task_fails_before_any_job(tmp_path, openml_cache):
    # run in a subprocess with OpenML made unreachable, so the message path is the offline one
    out = tmp_path / "r"
    code = ("import benchmark.suites as s, sys; s.openml_reachable = lambda timeout=3.0: False; "
            "from benchmark.cli import main; sys.exit(main(sys.argv[1:]))")
    proc = subprocess.run([sys.executable, "-c", code, "run", "--suite", "openml-cc18", "--cache-dir",
                           str(openml_cache), "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "OpenML task(s) 3, 6, 11" in proc.stderr and "python -m benchmark prefetch --suite openml-cc18" in proc.stderr
    assert not (out / "jobs").exists()


def test_relative_out_folder(tmp_path, monkeypatch):
    """``make demo`` passes ``--out results/demo``: a relative run folder must work."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--framework", "constantpredictor", "--task", "iris", "--budget", "5", "--out", "rel/run"]) == 0
    from benchmark.results import read_results
    df = read_results(tmp_path / "rel" / "run")
    assert len(df) == 1 and df["failure"].fillna("").iloc[0] == "" and df["acc"].iloc[0] > 0.3
