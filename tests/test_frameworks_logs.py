"""A framework's own logs in its job folder: the last error line, the size cap, a fresh folder per attempt
(files written as the frameworks write them; the real frameworks' logs are in test_frameworks_real.py)."""
from __future__ import annotations

import os
import time

from frameworks.logs import LOGS_DIR, cap_logs, last_error_line, logs_dir, reset_logs

AUTOSKLEARN = """[INFO] [2026-12-01 16:12:45,956:Client-AutoML(0):0b3] Starting to create dummy predictions.
[ERROR] [2026-12-01 16:12:46,120:Client-AutoML(0):0b3] Dummy prediction failed with run state StatusType.MEMOUT
[INFO] [2026-12-01 16:12:46,122:Client-AutoML(0):0b3] Starting shutdown...
"""
H2O = """12-01 16:26:54.700 127.0.0.1:34887  21971  main  INFO water.default: GET /3/Models/GLM_1, parms: {}
12-01 16:26:54.777 127.0.0.1:34887  21971  3581655-17 ERRR water.default: java.lang.OutOfMemoryError: Java heap space
12-01 16:26:54.800 127.0.0.1:34887  21971  main  INFO water.default: Stopping the cluster
"""
TRACEBACK = """Traceback (most recent call last):
  File "exec.py", line 3, in fit
    raise ValueError("estimator no_such_learner is not known")
ValueError: estimator no_such_learner is not known
"""


def _write(path, text, age_s=0.0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def test_the_last_error_of_the_newest_log_is_found_in_each_framework_format(tmp_path):
    logs = logs_dir(tmp_path)
    assert logs == tmp_path / LOGS_DIR
    assert last_error_line(tmp_path) is None                      # no log folder at all
    _write(logs / "notes.log", "INFO all fine\nerrors: 0\nan error-free run\n")
    assert last_error_line(tmp_path) is None                      # no line at an error level
    _write(logs / "autosklearn.log", AUTOSKLEARN, age_s=30)
    assert last_error_line(tmp_path) == ("[ERROR] [2026-12-01 16:12:46,120:Client-AutoML(0):0b3] Dummy prediction "
                                         "failed with run state StatusType.MEMOUT")
    _write(logs / "h2o" / "h2o-3-info.log", H2O, age_s=20)      # newer file, in a subfolder, H2O's ERRR level
    assert last_error_line(tmp_path).endswith("ERRR water.default: java.lang.OutOfMemoryError: Java heap space")
    _write(logs / "traceback.log", TRACEBACK, age_s=10)          # newer, but the exec script's: searched last
    _write(logs / "console.log", TRACEBACK, age_s=5)
    assert last_error_line(tmp_path).endswith("java.lang.OutOfMemoryError: Java heap space")
    _write(logs / "h2o" / "h2o-3-info.log", H2O + "x" * 50 + " ERROR " + "y" * 400 + "\n")   # newest again, long
    line = last_error_line(tmp_path)
    assert len(line) == 300 and line.startswith("x" * 50 + " ERROR") and line.endswith("...")


def test_the_exec_scripts_traceback_is_the_last_error_line_when_the_framework_logged_none(tmp_path):
    logs = logs_dir(tmp_path)
    _write(logs / "flaml.log", "INFO searching\n", age_s=20)
    _write(logs / "traceback.log", TRACEBACK, age_s=10)
    assert last_error_line(tmp_path) == "ValueError: estimator no_such_learner is not known"


def test_binary_files_are_not_read_as_logs(tmp_path):
    _write(logs_dir(tmp_path) / "model.pkl", "ERROR\0\0\0binary")
    assert last_error_line(tmp_path) is None


def test_logs_over_the_cap_keep_their_end(tmp_path):
    logs = logs_dir(tmp_path)
    lines = "".join(f"line {i} INFO something happened\n" for i in range(5000)) + "ERROR the very last line\n"
    big = _write(logs / "jvm.log", lines)
    small = _write(logs / "small.log", "INFO short\n")
    cap_logs(tmp_path, max_bytes=10_000)
    text = big.read_text()
    assert len(text.encode()) <= 10_000 + 100
    assert text.startswith("[... first ") and "bytes cut by automl-bench" in text.splitlines()[0]
    assert text.endswith("ERROR the very last line\n")
    assert text.splitlines()[1].startswith("line ")             # cut at a line boundary
    assert small.read_text() == "INFO short\n"
    assert last_error_line(tmp_path) == "ERROR the very last line"


def test_a_new_attempt_starts_with_an_empty_log_folder(tmp_path):
    _write(logs_dir(tmp_path) / "autosklearn.log", AUTOSKLEARN)
    assert last_error_line(tmp_path) is not None
    folder = reset_logs(tmp_path)
    assert folder.is_dir() and list(folder.iterdir()) == []
    assert last_error_line(tmp_path) is None


def test_exec_scripts_log_into_the_job_folder_with_levels_and_a_cap(tmp_path, monkeypatch):
    """``exec_common.log_to_file`` (what the scripts in the frameworks' venvs use): every record as it
    is logged, with its level, and rotation at the cap keeping one backup."""
    import logging

    from frameworks.exec import exec_common

    monkeypatch.setattr(exec_common, "LOG_MAX_BYTES", 2000)
    params = {"logs": str(logs_dir(tmp_path))}
    handler = exec_common.log_to_file(params, "framework.log", ["test.framework"])
    log = logging.getLogger("test.framework")
    try:
        log.info("fitting model %d", 1)
        assert "INFO test.framework: fitting model 1" in (logs_dir(tmp_path) / "framework.log").read_text()  # no flush needed
        for i in range(200):
            log.info("model %d done", i)
        log.error("model 200 crashed: MemoryError")
    finally:
        log.removeHandler(handler)
        handler.close()
    files = sorted(p.name for p in logs_dir(tmp_path).iterdir())
    assert files == ["framework.log", "framework.log.1"]
    assert all(p.stat().st_size <= 2000 for p in logs_dir(tmp_path).iterdir())
    assert last_error_line(tmp_path).endswith("ERROR test.framework: model 200 crashed: MemoryError")


def test_anytime_records_are_written_in_time_order_and_untimed_ones_say_so(tmp_path):
    import json

    from frameworks.exec import exec_common

    params = {"anytime": str(tmp_path / "anytime" / "trajectory.jsonl")}
    n = exec_common.write_anytime(params, [
        {"time": 9.0, "kind": "ensemble", "val_accuracy": 0.9, "model": "WeightedEnsemble_L2"},
        {"time": None, "kind": "model", "val_accuracy": 0.7, "model": "refit"},
        {"time": 2.0, "kind": "model", "val_accuracy": 0.8, "model": "LightGBM"},
        {"time": 5.0, "kind": "model", "val_accuracy": float("nan"), "model": "crashed"},
        {"time": -0.0004, "kind": "model", "val_accuracy": 0.5, "model": "dummy"}], "test")
    lines = [json.loads(x) for x in open(params["anytime"])]
    assert n == 4 == len(lines)
    assert [r["model"] for r in lines] == ["dummy", "LightGBM", "WeightedEnsemble_L2", "refit"]
    assert [r["time"] for r in lines] == [0.0, 2.0, 9.0, None]
    assert lines[-1]["timing"] == "none" and all("timing" not in r for r in lines[:-1])


def test_a_framework_console_goes_to_the_job_log_and_to_a_capped_console_log(tmp_path, capfd):
    import subprocess
    import sys

    from frameworks.logs import ConsoleTee

    reset_logs(tmp_path)
    child = subprocess.Popen([sys.executable, "-c", "import sys\nfor i in range(400): print(f'line {i} of the framework')\n"
                              "print('ValueError: the framework failed', file=sys.stderr)"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    tee = ConsoleTee(child.stdout, tmp_path, max_bytes=4000).start()
    child.wait()
    tee.join(timeout=10)
    printed = capfd.readouterr().out
    assert printed.startswith("line 0 of the framework\n") and printed.endswith("ValueError: the framework failed\n")
    console = logs_dir(tmp_path) / "console.log"
    assert console.stat().st_size <= 4000 and (logs_dir(tmp_path) / "console.log.1").stat().st_size <= 4000
    assert console.read_text().endswith("ValueError: the framework failed\n")
    assert last_error_line(tmp_path) == "ValueError: the framework failed"
