"""What the cluster says: is SLURM reachable, its MaxArraySize, and the state of submitted jobs.

States come from ``sacct`` (accounting) so jobs that already left the queue are known too;
when accounting is unavailable, ``squeue`` tells at least which jobs are still queued or
running. Job ids are SLURM's, array tasks as ``<array id>_<index>``.
"""
from __future__ import annotations

import re
import shutil
import subprocess

from submitit.slurm.slurm import SlurmInfoWatcher

# Job states after which the array task will not run (again) by itself.
TERMINAL_STATES = {"COMPLETED", "FAILED", "TIMEOUT", "CANCELLED", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
                   "DEADLINE", "PREEMPTED", "REVOKED", "SPECIAL_EXIT"}
# How a terminal state without a result row becomes a failure row: (kind, reason).
FAILURE_OF_STATE = {
    "TIMEOUT": ("timeout", "SLURM ended the array task at its time limit before it wrote a result"),
    "NODE_FAIL": ("node_failure", "the node running the array task failed (SLURM state NODE_FAIL)"),
    "BOOT_FAIL": ("node_failure", "the node for the array task failed to boot (SLURM state BOOT_FAIL)"),
    "OUT_OF_MEMORY": ("memory", "SLURM killed the array task for exceeding its memory allocation"),
    "CANCELLED": ("killed", "the array task was cancelled (scancel or an administrator) before it wrote a result"),
    "PREEMPTED": ("killed", "the array task was preempted and not requeued"),
    "DEADLINE": ("killed", "the array task reached its deadline before it wrote a result"),
}
NO_OUTPUT = ("exception", "the array task ended (SLURM state {state}) without writing a result; see its log in slurm/logs")


class QueueError(RuntimeError):
    pass


def _run(cmd: list[str], timeout: float = 60) -> str:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise QueueError(f"{cmd[0]} failed: {err}") from None
    if out.returncode != 0:
        raise QueueError(f"{' '.join(cmd[:2])} failed: {(out.stderr or out.stdout).strip()[:300]}")
    return out.stdout


def slurm_available() -> str | None:
    """None when SLURM answers; otherwise why not (one line)."""
    if shutil.which("sbatch") is None:
        return "sbatch is not on PATH (not a SLURM login node?)"
    try:
        _run(["sinfo", "-h", "-o", "%P"], timeout=20)
    except QueueError as err:
        return f"SLURM does not answer ({err}); is SLURM_CONF set and slurmctld running?"
    return None


def max_array_size(default: int) -> int:
    """The cluster's MaxArraySize (largest array this cluster accepts, indices 0..N-1)."""
    try:
        text = _run(["scontrol", "show", "config"], timeout=5)   # a dry run must not wait for a cluster
    except QueueError:
        return default
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else default


def job_states(job_ids: list[str]) -> dict[str, str]:
    """SLURM id (``123`` or ``123_4``) -> state (``RUNNING``, ``TIMEOUT``, ...; ``UNKNOWN`` when not found).

    Asks sacct for whole arrays at once (one call however many tasks); falls back to squeue.
    """
    if not job_ids:
        return {}
    arrays = sorted({jid.split("_")[0] for jid in job_ids})
    try:
        text = _run(["sacct", "-X", "--parsable2", "-o", "JobID,State", "-j", ",".join(arrays)])
        info = SlurmInfoWatcher().read_info(text)   # expands 123_[4-9%2] ranges of pending tasks
        states = {jid: info.get(jid, {}).get("State", "UNKNOWN") for jid in job_ids}
    except QueueError:
        states = _squeue_states(job_ids, arrays)
    # sacct prints "CANCELLED by 0"; keep the state word only
    return {jid: state.split()[0] if state else "UNKNOWN" for jid, state in states.items()}


def _squeue_states(job_ids: list[str], arrays: list[str]) -> dict[str, str]:
    text = _run(["squeue", "-h", "-r", "-o", "%i|%T", "-j", ",".join(arrays)])
    queued = dict(line.split("|", 1) for line in text.splitlines() if "|" in line)
    return {jid: queued.get(jid, "UNKNOWN") for jid in job_ids}


def is_active(state: str) -> bool:
    """Queued, running, requeued or otherwise not finished. UNKNOWN counts as finished: a job the
    cluster has forgotten will not write its result any more."""
    return state not in TERMINAL_STATES and state != "UNKNOWN"


def cancel(job_ids: list[str]) -> None:
    """scancel array tasks (best effort: a task that just ended is no error)."""
    if job_ids:
        subprocess.run(["scancel", *job_ids], capture_output=True, timeout=60)
