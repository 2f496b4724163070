"""The one way the harness ends a job's processes: SIGTERM to the group and every descendant seen,
then SIGKILL to whatever is left after a grace period.

A job runs in its own session, so its process group id is its pid; helpers that start sessions of
their own (JVMs, Ray) are reached through the descendants seen while the job ran.
"""
from __future__ import annotations

import os
import signal

import psutil


def process_tree(pid: int) -> list[psutil.Process]:
    """``pid`` and its descendants now (empty when ``pid`` is gone)."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


class ProcessTreeWatch:
    """A job's process tree: the descendants seen so far (kept after they leave the tree) and peak resident memory."""

    def __init__(self, pid: int):
        self.root = psutil.Process(pid)
        self.seen: dict[int, psutil.Process] = {pid: self.root}
        self.peak_mb = 0.0

    def rss_mb(self) -> float:
        """Resident memory of every process seen that still runs, in MB; refreshes the descendants seen."""
        try:
            self.seen.update((p.pid, p) for p in self.root.children(recursive=True))
        except psutil.NoSuchProcess:
            pass
        total = 0
        for p in list(self.seen.values()):
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        mb = total / 2**20
        self.peak_mb = max(self.peak_mb, mb)
        return mb

    def stop_all(self, grace_s: float) -> None:
        """End the job's group and every descendant seen (JVMs and Ray start sessions of their own)."""
        self.rss_mb()  # refresh descendants once more
        terminate(list(self.seen.values()), self.root.pid, grace_s)


def terminate(procs: list[psutil.Process], pgid: int | None, grace_s: float) -> None:
    """SIGTERM ``procs`` and the process group ``pgid``; SIGKILL what is still alive after ``grace_s``."""
    alive = [p for p in procs if _running(p)]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if pgid:
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        for p in alive:
            try:
                p.send_signal(sig)
            except psutil.Error:
                pass
        if sig == signal.SIGTERM:
            _, alive = psutil.wait_procs(alive, timeout=grace_s)
            if not alive:
                break
    psutil.wait_procs(alive, timeout=1)


def _running(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def is_alive(pid: int, started: float | None = None) -> bool:
    """True when ``pid`` runs and, given ``started`` (its create time), is still that same process."""
    try:
        p = psutil.Process(pid)
        return p.status() != psutil.STATUS_ZOMBIE and (started is None or abs(p.create_time() - started) < 1e-3)
    except psutil.Error:
        return False
