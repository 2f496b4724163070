"""Run folders that nothing corrupts: one runner per folder, a results file that stays readable,
interrupts that stop the run and leave jobs pending, jobs that end when their runner dies.
Every test drives the real CLI in real processes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from benchmark.results import COLUMNS, read_results
from tests.harness_fixtures import job_processes

SLOW = "tests.adapters:Slow"


def _cmd(out: Path, *extra: str, framework: str = SLOW, seeds: int = 2) -> list[str]:
    return [sys.executable, "-m", "benchmark", "run", "--suite", "demo", "--task", "iris", "--framework", framework,
            "--seeds", str(seeds), "--budget", "120", "--out", str(out), *extra]


def _env(seconds: float) -> dict:
    return dict(os.environ, SLOW_ADAPTER_SECONDS=str(seconds))


def _wait_for(predicate, timeout: float = 90, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _markers(out: Path) -> list[Path]:
    return list((out / "jobs").glob("*/*/*/running.json"))


def _status(out: Path, relative: bool = False) -> str:
    """The first line of ``status OUT``; ``relative``: named relative to the working folder, as a user types it."""
    path, cwd = (out.name, out.parent) if relative else (str(out), None)
    done = subprocess.run([sys.executable, "-m", "benchmark", "status", path], capture_output=True, text=True,
                          timeout=60, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[0]


def _start_runner(out: Path, seconds: float, sigint=signal.SIG_DFL, extra=(), **kw) -> tuple[subprocess.Popen, dict]:
    """A runner as started from a terminal: SIGINT at its default even when the tests run in a background
    job (a shell starts those with SIGINT ignored, which the runner then keeps, as it should)."""
    runner = subprocess.Popen(_cmd(out, *extra, **kw), env=_env(seconds), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, preexec_fn=lambda: signal.signal(signal.SIGINT, sigint))
    marker = _wait_for(lambda: _markers(out), what="a running job")[0]
    return runner, _wait_for(lambda: _started(marker), what="the job process in the marker")


def _started(marker: Path) -> dict | None:
    """The marker once it names the job process (it is first written before the process starts)."""
    try:
        record = json.loads(marker.read_text())
    except (OSError, ValueError):
        return None
    return record if record.get("pid") else None


def test_second_runner_is_refused_and_the_lock_dies_with_its_holder(tmp_path, job_env):
    out = tmp_path / "run"
    first, marker = _start_runner(out, 60)
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    t0 = time.monotonic()
    second = subprocess.run(_cmd(out), env=_env(0.1), capture_output=True, text=True, timeout=60)
    assert second.returncode == 2 and time.monotonic() - t0 < 15
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and f"pid {first.pid}" in lines[0] and "started" in lines[0]
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before   # nothing touched
    assert psutil.pid_exists(marker["pid"]) and job_processes(out)                   # first runner's job untouched
    # readers keep working on a folder in use, named absolute or relative
    assert "1 running" in _status(out) and "1 running" in _status(out, relative=True)
    for reader in ("table", "report"):
        done = subprocess.run([sys.executable, "-m", "benchmark", reader, str(out)], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert "running" in (out / "report" / "index.html").read_text()

    first.send_signal(signal.SIGKILL)
    first.wait()
    resumed = subprocess.run(_cmd(out), env=_env(0.1), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr                                    # no stale lock
    df = read_results(out)
    assert sorted(df["job"]) == [f"{SLOW}/iris/fold0_seed{s}" for s in (0, 1)]
    assert (df["failure"].fillna("") == "").all()


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupt_stops_the_run_and_leaves_jobs_pending(tmp_path, job_env, sig, code):
    out = tmp_path / "run"
    runner, marker = _start_runner(out, 60, seeds=3)
    scratch = Path(marker["scratch"])
    assert scratch.is_dir()
    t0 = time.monotonic()
    runner.send_signal(sig)
    stdout, stderr = runner.communicate(timeout=30)
    assert runner.returncode == code
    assert time.monotonic() - t0 < 5 + 10                  # kill grace + 10 s
    assert "0 of 3 jobs recorded, 3 pending" in stderr and "resume with: python -m benchmark run" in stderr
    assert f"--out {out}" in stderr
    assert not job_processes(out) and not scratch.exists() and not _markers(out)
    assert read_results(out).empty                          # no failure row: the job is pending
    assert _status(out).endswith("0 done, 0 failed, 0 queued, 0 running, 3 pending (of 3)")
    resumed = subprocess.run(_cmd(out, seeds=3), env=_env(0.1), capture_output=True, text=True, timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert len(read_results(out)) == 3 and len((out / "results.csv").read_text().splitlines()) == 4


def test_a_second_ctrl_c_keeps_stopping_two_jobs_and_their_helpers(tmp_path, job_env):
    """Two jobs at once, each with a helper in its own session that ignores SIGTERM; Ctrl-C twice."""
    out = tmp_path / "run"
    runner, _ = _start_runner(out, 60, extra=("--jobs", "2"), framework="tests.adapters:SlowWithHelper", seeds=3)
    helpers = lambda: [p for p in psutil.process_iter(["cmdline"])   # noqa: E731
                       if any(f"helper-of-{out}" in a for a in p.info["cmdline"] or [])]
    _wait_for(lambda: len(_markers(out)) == 2 and len(helpers()) == 2, what="two jobs with their helpers")
    scratches = [Path(_wait_for(lambda: _started(m), what="a started job")["scratch"]) for m in _markers(out)]
    t0 = time.monotonic()
    runner.send_signal(signal.SIGINT)
    time.sleep(0.3)
    runner.send_signal(signal.SIGINT)
    _, stderr = runner.communicate(timeout=30)
    assert runner.returncode == 130 and time.monotonic() - t0 < 5 + 10
    assert "still stopping" in stderr and "0 of 3 jobs recorded, 3 pending" in stderr
    assert not job_processes(out) and not helpers() and not _markers(out)
    assert not any(s.exists() for s in scratches)
    assert read_results(out).empty


def test_sigterm_during_a_frameworks_first_set_up_stops_its_installer(tmp_path, job_env):
    out, tag = tmp_path / "run", f"installer-of-{tmp_path}"
    runner = subprocess.Popen(_cmd(out, framework="tests.adapters:SlowSetup"), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=dict(os.environ, SLOW_SETUP_TAG=tag))
    installers = lambda: [p for p in psutil.process_iter(["cmdline"]) if tag in (p.info["cmdline"] or [])]  # noqa: E731
    _wait_for(installers, what="the installer")
    t0 = time.monotonic()
    runner.send_signal(signal.SIGTERM)             # `kill <runner>`: only the runner gets it
    _, stderr = runner.communicate(timeout=60)
    assert runner.returncode == 143 and time.monotonic() - t0 < 10, stderr
    assert not installers() and "0 of 2 jobs recorded, 2 pending" in stderr
    assert not (out / "results.csv").exists() or read_results(out).empty     # no setup failure charged


def test_a_runner_started_with_sigint_ignored_keeps_ignoring_it(tmp_path, job_env):
    out = tmp_path / "run"
    runner, _ = _start_runner(out, 60, sigint=signal.SIG_IGN)
    runner.send_signal(signal.SIGINT)
    with pytest.raises(subprocess.TimeoutExpired):
        runner.wait(timeout=3)                             # e.g. `benchmark run ... &` in a script: Ctrl-C is the shell's
    runner.send_signal(signal.SIGTERM)
    _, stderr = runner.communicate(timeout=30)
    assert runner.returncode == 143 and "SIGTERM: stopping" in stderr


def test_job_of_a_sigkilled_runner_ends_itself(tmp_path, job_env):
    out = tmp_path / "run"
    runner, marker = _start_runner(out, 60)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    _wait_for(lambda: not job_processes(out), timeout=10, what="the orphaned job to end itself")
    assert not Path(marker["scratch"]).exists() and not _markers(out)
    assert "0 running, 2 pending" in _status(out)


def test_torn_and_stray_lines_never_make_the_folder_unreadable(tmp_path, job_env):
    out = tmp_path / "run"
    first = subprocess.run(_cmd(out, framework="constantpredictor"), capture_output=True, text=True, timeout=180)
    assert first.returncode == 0, first.stderr
    results = out / "results.csv"
    good = results.read_text().splitlines()
    assert len(good) == 3
    with open(results, "a") as fh:   # garbage, a row with one field too many, then a torn row
        fh.write("hello world\n" + good[1] + ",extra\n" + good[2][:40])
    for command in ("status", "table", "report"):
        done = subprocess.run([sys.executable, "-m", "benchmark", command, str(out)], capture_output=True, text=True)
        assert done.returncode == 0 and "Traceback" not in done.stderr
        assert f"{results} line 4 is not a result row" in done.stderr and "line 5" in done.stderr
    assert "2 done, 0 failed" in _status(out)
    again = subprocess.run(_cmd(out, framework="constantpredictor", seeds=3), capture_output=True, text=True,
                           timeout=180)
    assert again.returncode == 0, again.stderr
    assert "removed a torn last line" in again.stderr and "(2 already recorded)" in again.stdout
    lines = results.read_text().splitlines()
    assert lines[:3] == good and len(lines) == 6 and lines[-1].count(",") == len(COLUMNS) - 1
    assert sorted(read_results(out)["seed"]) == [0, 1, 2]
    assert "3 done, 0 failed" in _status(out)


def test_progress_is_one_line_per_job_without_a_terminal(tmp_path):
    done = subprocess.run(_cmd(tmp_path / "run", framework="constantpredictor"), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if "constantpredictor/iris/" in line]
    assert len(lines) == 2
    assert "[1/2] constantpredictor/iris/fold0_seed" in lines[0] and "acc 0.3" in lines[0] and "ETA" in lines[0]
    assert "[2/2]" in lines[1] and "failed 0" in lines[1]


def test_a_marker_of_a_dead_job_is_not_running(tmp_path, job_env):
    out = tmp_path / "run"
    done = subprocess.run(_cmd(out, framework="constantpredictor", seeds=1), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = out / "jobs" / "constantpredictor" / "iris" / "fold0_seed1"
    folder.mkdir(parents=True)
    (folder / "running.json").write_text(json.dumps({"pid": dead.pid, "host": os.uname().nodename,
                                                     "supervisor": dead.pid, "scratch": str(tmp_path / "gone")}))
    doc = (out / "run.yaml").read_text().replace("seeds:\n  - 0\n", "seeds:\n  - 0\n  - 1\n")
    (out / "run.yaml").write_text(doc)
    assert "1 done, 0 failed, 0 queued, 0 running, 1 pending (of 2)" in _status(out)


def test_a_failure_of_the_harness_is_not_charged_to_the_framework(tmp_path, job_env):
    from benchmark.execute import Limits, execute_job
    from benchmark.jobs import Job
    from benchmark.tasks import TaskSpec
    from frameworks.base import Constraint

    task = TaskSpec(name="vanished", source="file", ref=str(tmp_path / "deleted.csv"), target="y")
    row = execute_job(tmp_path / "run", Job("constantpredictor", task, 0, 0, Constraint(10)), Limits(startup_s=8))
    assert row["failure"] == "harness" and "deleted.csv" in row["info"]


def test_a_scratch_folder_marked_before_its_job_started_is_removed_on_resume(tmp_path, job_env):
    """The runner records a job's scratch folder before creating it and before starting the job process:
    killed in between, it leaves a marker without a pid whose scratch the next runner removes."""
    out = tmp_path / "run"
    done = subprocess.run(_cmd(out, framework="constantpredictor", seeds=1), capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr
    scratch = tmp_path / "ab-scratch"
    folder = out / "jobs" / "constantpredictor" / "iris" / "fold0_seed1"
    dead_runner = subprocess.run([sys.executable, "-c", f"""
from pathlib import Path
from benchmark.jobfolder import JobFolder
Path({str(folder)!r}).mkdir(parents=True)
JobFolder(Path({str(folder)!r})).mark_running(None, Path({str(scratch)!r}))
Path({str(scratch)!r}).mkdir()
"""], capture_output=True, text=True, timeout=60)
    assert dead_runner.returncode == 0, dead_runner.stderr
    assert scratch.is_dir() and (folder / "running.json").exists()
    assert "0 running" in _status(out, relative=True)                      # its runner is gone: not running
    resumed = subprocess.run(_cmd(out, framework="constantpredictor", seeds=2), capture_output=True, text=True,
                             timeout=180)
    assert resumed.returncode == 0, resumed.stderr
    assert not scratch.exists() and not _markers(out)
    assert sorted(read_results(out)["seed"]) == [0, 1]
