"""``slurm/submitted.jsonl`` in the run folder: which SLURM job id runs which benchmark job.

One JSON line per submitted array task, appended under a lock: ``{"job": key, "slurm_id":
"123_4", "role": "master", "utc": ..., "spec": job dict}``. The latest line of a job key wins. It lets a later
``run`` (from any machine, after the submitting process is gone) skip jobs still queued or
running, and turn array tasks that ended without a row into failure rows.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from filelock import FileLock

LEDGER = Path("slurm") / "submitted.jsonl"


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
