"""Live progress of a run: a bar on a terminal; one line per finished job where nobody watches a
terminal (SLURM logs, ``nohup``, CI), where a bar would only render at the end."""
from __future__ import annotations

import datetime as dt
import sys
import time


def outcome(row: dict) -> str:
    return row["failure"] or f"acc {row['acc']:.3f}"


class Progress:
    def __init__(self, stream=None):
        self.stream = stream or sys.stdout
        self.total = self.done = self.failed = 0
        self.t0 = time.monotonic()
        self._bar = None

    def __enter__(self) -> "Progress":
        return self

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()

    def start(self, jobs: list) -> None:
        self.total, self.t0 = len(jobs), time.monotonic()
        if not jobs or not self.stream.isatty():
            return
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as Bar, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self._bar = Bar(TextColumn("[bold]jobs"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
                        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.fields[last]}"),
                        console=Console(file=self.stream))
        self._task = self._bar.add_task("jobs", total=self.total, failed=0, last="")
        self._bar.start()

    def row(self, row: dict) -> None:
        self.done += 1
        self.failed += bool(row["failure"])
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed, last=f"{row['job']}: {outcome(row)}")
            return
        elapsed = time.monotonic() - self.t0
        eta = dt.timedelta(seconds=round(elapsed / self.done * (self.total - self.done)))
        print(f"{dt.datetime.now():%Y-%m-%d %H:%M:%S} [{self.done}/{self.total}] {row['job']}: {outcome(row)} "
              f"(failed {self.failed}, ETA {eta})", file=self.stream, flush=True)
