"""Fixtures for tests against the project's single-node SLURM cluster (slurm/cluster/start.sh).

Tests that need it are marked ``@pytest.mark.slurm`` and use ``slurm_cluster``; they skip
with the reason when no cluster answers. The CLI is run as a real subprocess, with the
repository on PYTHONPATH so array tasks can import test-only adapters (``tests.adapters``).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from slurm import ledger
from slurm.queue import slurm_available

REPO = Path(__file__).resolve().parents[1]
LOCAL_PROFILE = REPO / "slurm" / "profiles" / "local-test.yaml"
CLUSTER_DIR = Path(os.environ.get("SLURM_TEST_DIR", "/tmp/automl-bench-slurm"))
START_SCRIPT = REPO / "slurm" / "cluster" / "start.sh"


def _accounting_answers() -> bool:
    """sacct must work: without accounting, timed-out jobs never resolve (see slurm.queue)."""
    try:
        return subprocess.run(["sacct", "-n", "-X", "-j", "1"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def slurm_cluster() -> Path:
    """The test cluster's slurm.conf; skips when SLURM does not answer."""
    if "SLURM_CONF" not in os.environ and (CLUSTER_DIR / "slurm.conf").exists():
        os.environ["SLURM_CONF"] = str(CLUSTER_DIR / "slurm.conf")
    problem = slurm_available()
    if problem is None and not _accounting_answers() and START_SCRIPT.exists():
        # slurmdbd or its MariaDB stopped: the project's own script restarts only what is down
        subprocess.run(["bash", str(START_SCRIPT)], capture_output=True, timeout=180)
        problem = None if _accounting_answers() else "SLURM's accounting (slurmdbd, MariaDB) does not answer"
    if problem:
        pytest.skip(f"no SLURM test cluster: {problem} (start one with slurm/cluster/start.sh, "
                    "then export SLURM_CONF=$SLURM_TEST_DIR/slurm.conf)")
    return Path(os.environ["SLURM_CONF"])


def bench(*args: str, timeout: float = 240, **env: str) -> subprocess.CompletedProcess:
    """``python -m benchmark ARGS`` in a subprocess; fails the test on a timeout."""
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
                "AUTOML_BENCH_SLURM_POLL_S": "1", **env}
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True, text=True, cwd=REPO,
                          env=full_env, timeout=timeout)


def slurm_run(out: Path, *args: str, profile: Path = LOCAL_PROFILE, **kw) -> subprocess.CompletedProcess:
    return bench("run", "--suite", "demo", "--executor", "slurm", "--profile", str(profile), "--out", str(out), *args, **kw)


def submitted_ids(out: Path) -> list[str]:
    return [s.slurm_id for s in ledger.read(out)]
