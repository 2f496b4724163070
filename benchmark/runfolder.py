"""A run folder: ``run.yaml`` (invocations, versions, machine), ``results.csv`` and ``jobs/``.

Running ``run`` again on a folder resumes it: the constraint and suite must match what created
the folder, finished jobs are skipped, failed ones only run again with ``--rerun-failed``.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import platform
import signal
import socket
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil
import yaml

from benchmark.execute import RUNNING_FILE
from benchmark.jobs import Job
from benchmark.results import SCHEMA_VERSION, read_results

RUN_FILE = "run.yaml"
# What must be equal for results to be comparable within one folder.
IDENTITY_KEYS = ("suite", "budget", "cores", "memory_mb", "gpus")


class IncompatibleRun(ValueError):
    pass


def _versions() -> dict:
    out = {"python": platform.python_version()}
    for pkg in ("automl-bench", "numpy", "pandas", "scikit-learn", "torch", "openml", "hpbandster", "lightgbm"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            pass
    return out


def _machine() -> dict:
    return {"hostname": socket.gethostname(), "platform": platform.platform(), "cpus": os.cpu_count(),
            "memory_gb": round(psutil.virtual_memory().total / 2**30, 1)}


def open_run(run_dir: Path, identity: dict, invocation: dict) -> None:
    """Create the folder, or check that it was created by a compatible invocation; log this one."""
    run_dir = Path(run_dir)
    path = run_dir / RUN_FILE
    entry = {"utc": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "argv": sys.argv,
             **invocation, "versions": _versions(), "machine": _machine()}
    if path.exists():
        doc = yaml.safe_load(path.read_text()) or {}
        theirs = doc.get("identity", {})
        diff = {k: (theirs.get(k), identity.get(k)) for k in IDENTITY_KEYS if theirs.get(k) != identity.get(k)}
        if doc.get("schema") != SCHEMA_VERSION or diff:
            what = ", ".join(f"{k} {a} vs {b}" for k, (a, b) in diff.items()) or f"schema {doc.get('schema')}"
            raise IncompatibleRun(f"results folder {run_dir} was created by an incompatible invocation ({what}); "
                                  "use another --out folder or the same suite and constraint")
        doc.setdefault("invocations", []).append(entry)
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        doc = {"schema": SCHEMA_VERSION, "identity": identity, "invocations": [entry]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False))
    os.replace(tmp, path)


def read_identity(run_dir: Path) -> dict:
    path = Path(run_dir) / RUN_FILE
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no {RUN_FILE}); start one with: python -m benchmark run --out {run_dir}")
    return (yaml.safe_load(path.read_text()) or {}).get("identity", {})


def pending_jobs(run_dir: Path, jobs: list[Job], rerun_failed: bool = False) -> list[Job]:
    results = read_results(run_dir)
    if results.empty:
        return list(jobs)
    failed = results["failure"].fillna("").astype(str) != ""
    done = set(results.loc[~failed, "job"])
    skip = done if rerun_failed else set(results["job"])
    return [j for j in jobs if j.key not in skip]


def running_jobs(run_dir: Path) -> dict[str, dict]:
    """Jobs with a ``running.json`` marker: key -> marker content."""
    out = {}
    for marker in (Path(run_dir) / "jobs").glob(f"*/*/*/{RUNNING_FILE}"):
        try:
            out[str(marker.parent.relative_to(Path(run_dir) / "jobs"))] = json.loads(marker.read_text())
        except (OSError, ValueError):
            continue
    return out


def reap_orphans(run_dir: Path) -> int:
    """Kill job processes left behind by a runner that was itself killed (same host only)."""
    killed = 0
    for key, marker in running_jobs(run_dir).items():
        if marker.get("host") != socket.gethostname():
            continue
        pid = int(marker.get("pid", 0))
        try:
            # only our own job process: its pid may have been reused since the marker was written
            if pid and "benchmark.job_process" in " ".join(psutil.Process(pid).cmdline()) and os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
                killed += 1
        except (psutil.Error, ProcessLookupError, PermissionError):
            pass
        (Path(run_dir) / "jobs" / key / RUNNING_FILE).unlink(missing_ok=True)
    return killed
