"""Read one or several run folders into one table of results, refusing incomparable ones.

Runs are comparable when they ran under the same constraint (budget, cores, memory, GPUs) and
share at least one task; they may differ in suite, frameworks, folds and seeds. When two folders
hold the same job (framework, task, fold, seed), the folder named later wins, like a rerun.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from benchmark.results import read_results
from benchmark.runfolder import IDENTITY_KEYS, IncompatibleRun, read_identity
from benchmark.status import STATES, job_states

CONSTRAINT_KEYS = tuple(k for k in IDENTITY_KEYS if k != "suite")


@dataclass
class Runs:
    dirs: list[Path]
    identity: dict                      # the shared constraint, plus the suites
    results: pd.DataFrame
    states: dict[str, int]              # job counts per state (benchmark.status.STATES)
    notes: list[str] = field(default_factory=list)

    @property
    def partial(self) -> bool:
        return sum(self.states.get(s, 0) for s in ("queued", "running", "pending")) > 0


def load_runs(run_dirs: list[Path]) -> Runs:
    run_dirs = [Path(d) for d in run_dirs]
    if not run_dirs:
        raise ValueError("no run folder given; usage: python -m benchmark report RUN [RUN ...]")
    identities = [read_identity(d) for d in run_dirs]
    first = identities[0]
    for d, ident in zip(run_dirs[1:], identities[1:]):
        diff = [f"{k} {first.get(k)} in {run_dirs[0]} vs {ident.get(k)} in {d}"
                for k in CONSTRAINT_KEYS if ident.get(k) != first.get(k)]
        if diff:
            raise IncompatibleRun("cannot merge runs with different constraints (" + "; ".join(diff)
                                  + "); report them separately or rerun under one constraint")
    frames, by_key, notes = [], {}, []
    for d in run_dirs:
        frames.append(read_results(d).assign(run_dir=str(d)))
        by_key.update(job_states(d))
    states = {s: sum(v == s for v in by_key.values()) for s in STATES}
    if len(run_dirs) > 1:
        task_sets = [set(f["task"].dropna()) for f in frames if not f.empty]
        if len(task_sets) > 1 and not set.intersection(*task_sets):
            raise IncompatibleRun("the runs share no task, so there is nothing to compare; "
                                  "report them separately or run the frameworks on the same suite")
    merged = pd.concat([f for f in frames if not f.empty] or [frames[0]], ignore_index=True)
    if not merged.empty:
        dup = merged["job"].duplicated(keep="last")
        if dup.any():
            notes.append(f"{int(dup.sum())} job(s) appear in more than one run folder; the folder named last is used")
        merged = merged[~dup].reset_index(drop=True)
    identity = {k: first.get(k) for k in CONSTRAINT_KEYS}
    identity["suite"] = ", ".join(dict.fromkeys(str(i.get("suite")) for i in identities))
    return Runs(run_dirs, identity, merged, states, notes)
