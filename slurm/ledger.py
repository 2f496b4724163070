"""``slurm/submitted.jsonl`` in the run folder: which SLURM job id runs which benchmark job.

One JSON line per submitted array task, appended under a lock: ``{"job": key, "slurm_id":
"123_4", "role": "master", "utc": ..., "spec": job dict}``. The latest line of a job key wins. It lets a later
``run`` (from any machine, after the submitting process is gone, on SLURM or locally) skip jobs
still queued or running, and turn array tasks that ended without a row into failure rows.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock

LEDGER = Path("slurm") / "submitted.jsonl"
SUBMIT_GRACE_S = 120      # accounting may not know a job for a moment after sbatch returns


@dataclass(frozen=True)
class Submission:
    job: str                 # benchmark job key
    slurm_id: str            # "<array id>_<index>"
    role: str = "job"        # job | master | worker (autodl searches over several array tasks)
    utc: str = ""            # submission time, ISO seconds
    spec: dict = field(default_factory=dict)   # Job.to_dict(), to record a failure row without the plan

    @property
    def submitted(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.utc)


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def record(run_dir: Path, submissions: list[Submission]) -> None:
    path = Path(run_dir) / LEDGER
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"), open(path, "a") as fh:
        fh.write("".join(json.dumps(asdict(s)) + "\n" for s in submissions))


def read(run_dir: Path) -> list[Submission]:
    path = Path(run_dir) / LEDGER
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(Submission(**json.loads(line)))
        except (ValueError, TypeError):
            continue        # a line cut short by a crash: ignore it
    return out


def latest(run_dir: Path) -> dict[str, list[Submission]]:
    """Job key -> the array tasks of its latest submission (several for a distributed search)."""
    by_key: dict[str, list[Submission]] = {}
    for sub in read(run_dir):
        current = by_key.get(sub.job)
        if current and current[0].utc == sub.utc and current[0].slurm_id.split("_")[0] == sub.slurm_id.split("_")[0]:
            current.append(sub)
        else:
            by_key[sub.job] = [sub]
    return by_key


def main_task(subs: list[Submission]) -> Submission:
    """The array task that writes the job's row (a distributed search's master; its workers write none)."""
    return next((s for s in subs if s.role != "worker"), subs[0])


def is_held(sub: Submission, state: str, now: dt.datetime) -> bool:
    """SLURM may still run this array task: it is queued or running, or was submitted a moment ago."""
    from slurm import queue   # noqa: PLC0415 - submitit's import (0.14 s) only where SLURM is asked

    fresh = (now - sub.submitted).total_seconds() < SUBMIT_GRACE_S
    return queue.is_active(state) or (state == "UNKNOWN" and fresh)


def wrote_row(sub: Submission, row_utc) -> bool:
    """The job's latest row (its ``utc``, or None) was written by this submission or after it."""
    return bool(row_utc) and dt.datetime.fromisoformat(str(row_utc)) >= sub.submitted


def row_times(run_dir: Path) -> dict[str, str]:
    """Job key -> the ``utc`` of its latest row."""
    from benchmark.results import read_results   # noqa: PLC0415 - pandas only where a ledger exists

    rows = read_results(run_dir)
    return dict(zip(rows["job"], rows["utc"])) if not rows.empty else {}


def held_by_slurm(run_dir: Path) -> tuple[set[str], str | None]:
    """Keys of the jobs this run folder submitted to SLURM that SLURM may still run, so that a run on
    another executor does not run them a second time; and why SLURM could not be asked (None when it
    answered): then every submitted job without a row since its submission counts as held."""
    mains = {key: main_task(subs) for key, subs in latest(run_dir).items()}
    if not mains:
        return set(), None
    from slurm import queue   # noqa: PLC0415 - a local run of a folder without a ledger never imports submitit

    problem = queue.slurm_available()
    if problem:
        written = row_times(run_dir)
        return {key for key, s in mains.items() if not wrote_row(s, written.get(key))}, problem
    states = queue.job_states([s.slurm_id for s in mains.values()])
    now = dt.datetime.now(dt.timezone.utc)
    return {key for key, s in mains.items() if is_held(s, states.get(s.slurm_id, "UNKNOWN"), now)}, None
