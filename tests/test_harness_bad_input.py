"""Every family of bad input is refused by a real ``python -m benchmark run`` before any job runs:
exit 2, one line on stderr naming the option or file and the fix, no traceback, no run folder."""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from autodl.suite_file import SuiteFileError, read_suite_file, read_table
from benchmark.checks import finite_positive_float, non_negative_int, parse_folds, positive_int
from tests.openml_fixture import build_cache, iris_with_nominal

REPO = Path(__file__).resolve().parents[1]


def refuse(tmp_path: Path, *args: str) -> str:
    """Run the CLI; assert it refused in one line before making the run folder; return that line."""
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--framework", "constantpredictor",
                           "--out", str(out), *args], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert not out.exists(), "a refused run must not make its run folder"
    return lines[0]


def iris_frame() -> pd.DataFrame:
    frame = iris_with_nominal().drop(columns=["size"])
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def file_suite(folder: Path, entry: str, extra: str = "") -> Path:
    (folder / "suite.yaml").write_text(f"name: mine\n{extra}datasets:\n  - {{name: d, {entry}}}\n")
    return folder / "suite.yaml"


# --- options ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, expected", [
    (["--budget", "nan"], "--budget: nan is not a finite positive number of seconds"),
    (["--budget", "inf"], "--budget: inf is not a finite positive number"),
    (["--budget", "-1"], "--budget: -1 is not a finite positive number"),
    (["--budget", "0"], "--budget: 0 is not a finite positive number"),
    (["--budget", "soon"], "--budget: 'soon' is not a number of seconds"),
    (["--memory", "1"], "--memory 1 MB is below the 256 MB a job process needs for itself; use --memory 256"),
    (["--memory", "0"], "--memory: 0 is not a whole number of at least 1"),
    (["--gpus", "-1"], "--gpus: -1 is negative; write 0 or more"),
    (["--gpus", "64"], "--gpus 64 is more than the"),
    (["--cores", "0"], "--cores: 0 is not a whole number of at least 1"),
    (["--jobs", "two"], "--jobs: 'two' is not a whole number"),
    (["--seeds", "0"], "--seeds: 0 is not a whole number of at least 1"),
    (["--folds", "3-1"], "--folds: empty range 3-1; write 1-3"),
    (["--folds", "a"], "--folds: 'a' is not a fold number or range; write e.g. 0, 0-9 or 0,3"),
    (["--folds", "0,,1"], "--folds: '' in '0,,1' is not a fold number or range"),
    (["--folds", "0,0"], "--folds: fold 0 is named twice"),
    (["--folds", "10"], "--folds 10 out of range for task iris, which has folds 0..9; use --folds 0-9"),
    (["--framework", "lightgbm,lightgbm"], "--framework names lightgbm twice; name each framework once"),
    (["--framework", ","], "--framework names no framework"),
    (["--task", "iris,wine,iris"], "--task names task iris twice"),
    (["--no-wait"], "--no-wait only apply with --executor slurm"),
    (["--profile", "slurm/profiles/local-test.yaml", "--autodl-workers", "2"],
     "--profile, --autodl-workers only apply with --executor slurm"),
])
def test_options_are_refused(tmp_path, args, expected):
    # refuse() passes --framework constantpredictor first: a later --framework replaces it
    assert expected in refuse(tmp_path, *(args if args[0] == "--task" else ["--task", "iris", *args]))


def test_unusable_out_folders_are_refused(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    for out, expected in [(blocker, "is a file, not a folder"), (blocker / "run", "is a file, so no folder can be made")]:
        proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--framework", "constantpredictor",
                               "--task", "iris", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == 2 and expected in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert blocker.read_text() == "x"


def test_unwritable_out_folder_is_refused(tmp_path):
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
    elif not os.access("/proc/sys", os.W_OK):   # root may write anywhere but on a read-only mount
        locked = Path("/proc/sys")
    else:
        pytest.skip("running as root with no read-only folder to try")
    proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--framework", "constantpredictor",
                           "--task", "iris", "--out", str(locked / "run")], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 2 and "is not writable by this user" in proc.stderr, proc.stderr


def test_argparse_types_refuse_each_family():
    assert parse_folds("0-2,5") == [0, 1, 2, 5] and parse_folds(" 3 ") == [3]
    for text in ("3-1", "a", "-1", "", "0,,1", "1-", "0,1-2,2", "1.5"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_folds(text)
    assert finite_positive_float("2.5") == 2.5
    for text in ("nan", "inf", "-inf", "0", "-3", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            finite_positive_float(text)
    assert positive_int("4") == 4 and non_negative_int("0") == 0
    for fn, text in ((positive_int, "0"), (positive_int, "1.5"), (non_negative_int, "-1")):
        with pytest.raises(argparse.ArgumentTypeError):
            fn(text)


# --- suite files --------------------------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path):
    iris_frame().to_csv(tmp_path / "iris.csv", index=False)
    return tmp_path


@pytest.mark.parametrize("text, expected", [
    ("- a\n- b\n", "must be a mapping with 'name' and 'datasets'"),
    ("name: x\ndatasets: {a: 1}\n", "line 2: 'datasets' must be a non-empty list"),
    ("name: [x]\ndatasets: []\n", "line 1: 'name' must be a non-empty string, got a list"),
    ("name: x\ndatasets:\n  - {name: a, path: iris.csv}\n", "line 3: dataset 'a' lacks 'target'"),
    ("name: x\ndatasets:\n  - {name: a, path: iris.csv, target: 3}\n",
     "'target' must be a non-empty string, got the number 3; quote it: target: '3'"),
    ("name: x\ndatasets:\n  - {name: [a], path: iris.csv, target: class}\n", "'name' must be a non-empty string, got a list"),
    ("name: x\ndatasets:\n  - {name: a, path: iris.csv, target: class}\n  - {name: a, path: iris.csv, target: class}\n",
     "dataset name 'a' appears twice (line 3 and line 4)"),
    ("name: x\ndatasets:\n  - {name: a, path: iris.csv, tagret: class}\n",
     "line 3: dataset 'a' has unknown key(s) 'tagret'; known keys: name, path, target, test_path, folds"),
    ("name: x\ndatasets:\n  - {name: a/b, path: iris.csv, target: class}\n", "may not contain '/'"),
    ("name: x\ndatasets:\n  - {name: a, path: ., target: class}\n", "has an unsupported file type"),
    ("name: x\ndatasets:\n  - {name: a, path: sub.csv, target: class}\n", "is a folder, not a data file"),
    ("name: x\ndatasets:\n  - {name: a, path: nope.csv, target: class}\n", "does not exist (paths are relative"),
    ("name: x\nfolds: 1\ndatasets:\n  - {name: a, path: iris.csv, target: class}\n",
     "line 2: 'folds' must be a whole number of at least 2"),
    ("name: x\ndatasets:\n  - {name: a, path: iris.csv, target: class, test_path: iris.csv, folds: 3}\n",
     "'folds' and 'test_path' exclude each other"),
    ("name: x\ndatasets:\n  - 7\n", "dataset entry 1 must be a mapping"),
    ("name: x\ndataset:\n  - {name: a, path: iris.csv, target: class}\n", "unknown key(s) 'dataset'"),
    ("name: x\ndatasets: [ {name: a, path: \n", "line 3 column 1 is not valid YAML"),
])
def test_suite_file_structure_is_checked(data_dir, text, expected):
    (data_dir / "sub.csv").mkdir()
    (data_dir / "s.yaml").write_text(text)
    with pytest.raises(SuiteFileError) as err:
        read_suite_file(data_dir / "s.yaml")
    message = str(err.value)
    assert expected in message and "\n" not in message and str(data_dir / "s.yaml") in message


def test_unreadable_suite_file(data_dir):
    (data_dir / "s.yaml").write_bytes(b"\xff\xfe\x00name")
    with pytest.raises(SuiteFileError, match="cannot be read as text"):
        read_suite_file(data_dir / "s.yaml")


def test_suite_file_resolves_paths_and_folds(data_dir):
    (data_dir / "s.yaml").write_text("folds: 4\ndatasets:\n  - {name: a, path: iris.csv, target: class}\n"
                                     "  - {name: b, path: iris.csv, target: class, folds: 3}\n"
                                     "  - {name: c, path: iris.csv, target: class, test_path: iris.csv}\n")
    suite = read_suite_file(data_dir / "s.yaml")
    assert suite.name == "s" and [d.folds for d in suite.datasets] == [4, 3, None]
    assert suite.datasets[0].path == (data_dir / "iris.csv").resolve()


def test_suite_file_families_through_the_cli(tmp_path, data_dir):
    (data_dir / "folder").mkdir()
    assert "is a folder: pass the path of the suite's YAML file" in refuse(tmp_path, "--suite", str(data_dir / "folder"))
    assert "does not exist: pass a YAML file" in refuse(tmp_path, "--suite", str(data_dir / "none.yaml"))
    suite = file_suite(data_dir, "path: iris.csv, target: 3")
    assert f"suite file {suite} line 3: dataset 'd': 'target' must be a non-empty string" in refuse(
        tmp_path, "--suite", str(suite))


# --- data files ---------------------------------------------------------------------------------------

def _write(folder: Path, name: str, frame: pd.DataFrame, header: list[str] | None = None) -> None:
    frame.to_csv(folder / name, index=False, header=header if header is not None else True)


def test_duplicate_target_column_is_refused(tmp_path, data_dir):
    frame = iris_frame()
    frame["copy"] = frame["class"]
    _write(data_dir, "dup.csv", frame, header=[*frame.columns[:-1], "class"])
    line = refuse(tmp_path, "--suite", str(file_suite(data_dir, "path: dup.csv, target: class")))
    assert f"{data_dir / 'dup.csv'}: target column 'class' appears 2 times in the header (columns 5, 6)" in line
    assert "rename or drop the copy" in line


def test_missing_targets_are_refused_with_their_lines(tmp_path, data_dir):
    frame = iris_frame()
    frame.loc[[3, 7, 8], "class"] = np.nan
    _write(data_dir, "nan.csv", frame)
    line = refuse(tmp_path, "--suite", str(file_suite(data_dir, "path: nan.csv, target: class")))
    assert "nan.csv: 3 row(s) have no value in target column 'class' (lines 5, 9, 10); fill in or drop" in line


def test_single_class_and_rare_class_are_refused(tmp_path, data_dir):
    frame = iris_frame()
    _write(data_dir, "one.csv", frame.assign(**{"class": "setosa"}))
    one = file_suite(data_dir, "path: one.csv, target: class")
    assert "has a single class ('setosa')" in refuse(tmp_path, "--suite", str(one))
    rare = frame.copy()
    rare.loc[:2, "class"] = "rare"
    _write(data_dir, "rare.csv", rare)
    suite = file_suite(data_dir, "path: rare.csv, target: class")
    line = refuse(tmp_path, "--suite", str(suite))
    assert "class 'rare' has 3 rows, fewer than the 10 folds of task d; at most 3 folds work" in line
    assert f"add 'folds: 3' to dataset 'd' in {suite}" in line


def test_folds_key_makes_a_rare_class_usable(tmp_path, data_dir):
    rare = iris_frame()
    rare.loc[:2, "class"] = "rare"
    _write(data_dir, "rare.csv", rare)
    suite = file_suite(data_dir, "path: rare.csv, target: class, folds: 3")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--suite", str(suite), "--framework",
                           "constantpredictor", "--folds", "0-2", "--budget", "5", "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    rows = pd.read_csv(out / "results.csv")
    assert sorted(rows["fold"]) == [0, 1, 2] and rows["result"].notna().all()
    assert "out of range for task d, which has folds 0..2" in refuse(tmp_path / "again", "--suite", str(suite),
                                                                       "--folds", "3")


def test_header_only_and_empty_files_are_refused(tmp_path, data_dir):
    _write(data_dir, "head.csv", iris_frame().head(0))
    assert "head.csv has a header but no data rows; add rows" in refuse(
        tmp_path, "--suite", str(file_suite(data_dir, "path: head.csv, target: class")))
    (data_dir / "empty.csv").write_text("")
    assert "empty.csv is empty (not even a header line)" in refuse(
        tmp_path, "--suite", str(file_suite(data_dir, "path: empty.csv, target: class")))


def test_test_file_must_match_the_train_file(tmp_path, data_dir):
    frame = iris_frame()
    _write(data_dir, "train.csv", frame.iloc[:100])
    _write(data_dir, "cols.csv", frame.iloc[100:].drop(columns=["petal_width"]).assign(extra=1))
    line = refuse(tmp_path, "--suite", str(file_suite(data_dir, "path: train.csv, target: class, test_path: cols.csv")))
    assert "cols.csv: columns differ from the train file train.csv: missing 'petal_width'; extra 'extra'" in line
    unseen = frame.iloc[100:].copy()
    unseen.loc[unseen.index[:2], "class"] = "new"
    _write(data_dir, "unseen.csv", unseen)
    line = refuse(tmp_path, "--suite", str(file_suite(data_dir, "path: train.csv, target: class, test_path: unseen.csv")))
    assert "unseen.csv: label(s) 'new' of column 'class' never appear in the train file train.csv" in line


@pytest.mark.parametrize("name, content, expected", [
    ("garbage.csv", bytes(range(256)) * 8, "holds binary data, not CSV text"),
    ("latin1.csv", "a,class\n1,caf\u00e9\n2,x\n".encode("latin-1"), "is not UTF-8 text"),
    ("corrupt.csv.gz", b"\x1f\x8b\x08\x00garbage", "is not a valid gzip file"),
    ("plain.csv.gz", b"a,class\n1,x\n", "is not a valid gzip file"),
    ("bad.parquet", b"PAR1 not really", "is not a readable parquet file"),
    ("ragged.csv", b"a,b,class\n1,2,x\n1,2,3,y\n", "cannot be parsed as CSV"),
])
def test_unreadable_data_files_are_refused(tmp_path, data_dir, name, content, expected):
    (data_dir / name).write_bytes(content)
    line = refuse(tmp_path, "--suite", str(file_suite(data_dir, f"path: {name}, target: class")))
    assert str(data_dir / name) in line and expected in line


def test_unreadable_file_permission(tmp_path, data_dir):
    if os.geteuid() == 0:   # root reads every file: the message for the error the OS would raise
        from autodl.suite_file import _table_error
        denied = PermissionError(13, "Permission denied", str(data_dir / "iris.csv"))
        assert "iris.csv cannot be read (permission denied): make it readable" in str(
            _table_error(data_dir / "iris.csv", denied))
        return
    (data_dir / "iris.csv").chmod(0)
    assert "cannot be read (permission denied)" in refuse(
        tmp_path, "--suite", str(file_suite(data_dir, "path: iris.csv, target: class")))


def test_read_table_refuses_a_folder_and_an_unknown_type(tmp_path):
    (tmp_path / "x.csv").mkdir()
    for path, expected in [(tmp_path / "x.csv", "is a folder"), (tmp_path / "x.txt", "unsupported file type")]:
        with pytest.raises(SuiteFileError, match=expected):
            read_table(path)


def test_infinite_values_become_missing_in_every_job(tmp_path, data_dir):
    frame = iris_frame()
    frame.loc[[1, 2], "sepal_length"] = np.inf
    frame.loc[5, "petal_width"] = -np.inf
    _write(data_dir, "inf.csv", frame)
    suite = file_suite(data_dir, "path: inf.csv, target: class")
    proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--suite", str(suite), "--framework",
                           "constantpredictor", "--budget", "5", "--folds", "0-9", "--dry-run",
                           "--out", str(tmp_path / "run")], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert "inf.csv: 3 infinite value(s) in column(s) 'sepal_length', 'petal_width' become missing values" in proc.stdout
    from benchmark.suites import resolve_suite
    task = resolve_suite(str(suite)).tasks[0]
    tests = pd.concat([task.load_fold(k)[1] for k in range(10)])          # every row is in one test fold
    features = tests.drop(columns=["class"]).select_dtypes("number").to_numpy()
    assert not np.isinf(features).any()
    assert tests["sepal_length"].isna().sum() == 2 and tests["petal_width"].isna().sum() == 1


# --- OpenML names ---------------------------------------------------------------------------------------

@pytest.fixture
def two_iris_cache(tmp_path):
    """Three cached tasks: two on datasets both named iris, one on wine; task 99's description is not cached."""
    from sklearn.datasets import load_wine

    root = tmp_path / "cache"
    build_cache(root, iris_with_nominal(), "class", task_id=59, dataset_id=61, name="iris")
    build_cache(root, iris_with_nominal(), "class", task_id=60, dataset_id=62, name="iris")
    wine = load_wine(as_frame=True).frame.rename(columns={"target": "class"}).astype({"class": str})
    build_cache(root, wine, "class", task_id=187, dataset_id=187, name="wine", n_folds=5)
    build_cache(root, wine, "class", task_id=99, dataset_id=99, name="gone")
    (root / "org/openml/www/datasets/99/description.xml").unlink()
    return root


def test_openml_tasks_are_named_by_their_dataset(tmp_path, two_iris_cache):
    from benchmark.suites import resolve_suite

    suite_yaml = tmp_path / "oml.yaml"
    suite_yaml.write_text("name: oml\nopenml_tasks: [59, 60, 187, 99]\n")
    suite = resolve_suite(str(suite_yaml), two_iris_cache)
    assert [t.name for t in suite.tasks] == ["iris-t59", "iris-t60", "wine", "t99"]
    assert [t.id for t in suite.tasks] == ["openml.org/t/59", "openml.org/t/60", "openml.org/t/187", "openml.org/t/99"]
    assert suite.tasks[2].n_folds == 5
    for asked in (["wine"], ["187"], ["t187"]):
        assert [t.name for t in suite.select(asked).tasks] == ["wine"]
    assert [t.name for t in resolve_suite("openml/t/59", two_iris_cache).tasks] == ["iris"]


def test_openml_task_name_in_results_and_folders(tmp_path, two_iris_cache):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "benchmark", "run", "--suite", "openml/t/187", "--framework",
                           "constantpredictor", "--budget", "5", "--cache-dir", str(two_iris_cache), "--out", str(out)],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    row = pd.read_csv(out / "results.csv").iloc[0]
    assert row["task"] == "wine" and row["id"] == "openml.org/t/187"
    assert (out / "jobs/constantpredictor/wine/fold0_seed0").is_dir()
    assert "out of range for task wine, which has folds 0..4" in refuse(
        tmp_path / "again", "--suite", "openml/t/187", "--cache-dir", str(two_iris_cache), "--folds", "5")


def test_damaged_openml_cache_is_refused_in_one_line(tmp_path, two_iris_cache):
    shutil.rmtree(two_iris_cache / "org/openml/www/datasets/187", ignore_errors=True)
    build_cache(two_iris_cache, iris_with_nominal(), "class", task_id=187, dataset_id=187, name="wine")
    (two_iris_cache / "org/openml/www/datasets/187/dataset.arff").write_text("@relation broken\n@data\n1,2\n")
    line = refuse(tmp_path, "--suite", "openml/t/187", "--cache-dir", str(two_iris_cache))
    assert "OpenML task 187 (wine)" in line and "prefetch" in line


def test_a_damaged_run_yaml_is_one_line_for_every_command(tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "benchmark", "run", "--framework", "constantpredictor", "--task",
                           "iris", "--folds", "0", "--out", str(out)], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    for damage in ("run.yaml: [unclosed\n", "just a string\n", ""):     # bad YAML, not a mapping, empty
        (out / "run.yaml").write_text(damage)
        for command in (["run", "--framework", "constantpredictor", "--task", "iris", "--folds", "0", "--out"],
                        ["status"], ["table"], ["report"]):
            proc = subprocess.run([sys.executable, "-m", "benchmark", *command, str(out)], capture_output=True,
                                  text=True, cwd=REPO)
            lines = proc.stderr.strip().splitlines()
            assert proc.returncode == 2 and "Traceback" not in proc.stderr and len(lines) == 1, (damage, command,
                                                                                              proc.stderr)
            assert "run.yaml" in lines[0], lines[0]
