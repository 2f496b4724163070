"""A run folder: ``run.yaml`` (invocations, versions, machine), ``results.csv`` and ``jobs/``.

Running ``run`` again on a folder resumes it: the constraint and suite must match what created
the folder, finished jobs are skipped, failed ones only run again with ``--rerun-failed``.
"""
from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import psutil
import yaml

from benchmark.jobfolder import JOBS_DIR, RUNNING_FILE, JobFolder
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
        doc = read_run_file(run_dir)
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


def read_run_file(run_dir: Path) -> dict:
    """``run.yaml`` as a mapping, or an IncompatibleRun naming what is wrong with it."""
    path = Path(run_dir) / RUN_FILE
    if not Path(run_dir).is_dir():
        raise IncompatibleRun(f"{run_dir} is not a run folder (no such folder); start one with: "
                              f"python -m benchmark run --out {run_dir}")
    if not path.exists():
        raise IncompatibleRun(f"{run_dir} is not a run folder (no {RUN_FILE}); start one with: "
                              f"python -m benchmark run --out {run_dir}")
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        doc = err
    if not isinstance(doc, dict) or not isinstance(doc.get("identity"), dict):
        raise IncompatibleRun(f"{path} is damaged (not the mapping this harness writes); restore it from a backup "
                              f"or start a new run with another --out folder")
    return doc


def read_identity(run_dir: Path) -> dict:
    return read_run_file(run_dir)["identity"]


def pending_jobs(run_dir: Path, jobs: list[Job], rerun_failed: bool = False) -> list[Job]:
    results = read_results(run_dir)
    if results.empty:
        return list(jobs)
    failed = results["failure"].fillna("").astype(str) != ""
    done = set(results.loc[~failed, "job"])
    skip = done if rerun_failed else set(results["job"])
    return [j for j in jobs if j.key not in skip]


def _markers(run_dir: Path) -> list[JobFolder]:
    jobs = Path(run_dir) / JOBS_DIR
    return [JobFolder(marker.parent) for marker in jobs.glob(f"*/*/*/{RUNNING_FILE}")]


def _key(run_dir: Path, folder: JobFolder) -> str:
    return folder.path.relative_to(Path(run_dir) / JOBS_DIR).as_posix()


def running_jobs(run_dir: Path) -> dict[str, dict]:
    """Jobs whose process runs now: key -> marker. A marker whose process is dead is not running."""
    return {_key(run_dir, f): f.marker() or {} for f in _markers(run_dir) if f.is_running()}


def reap_orphans(run_dir: Path, grace_s: float = 5.0) -> int:
    """End the jobs of a supervisor that is gone (a runner killed with SIGKILL) and remove their scratch
    and markers. Jobs supervised by a live process (another host, a SLURM array task) are left alone."""
    orphans = [f for f in _markers(run_dir) if f.is_orphan()]
    for folder in orphans:
        folder.stop(grace_s)
    return len(orphans)
