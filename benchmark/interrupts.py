"""SIGINT (Ctrl-C) and SIGTERM (``kill``, SLURM) while a runner runs jobs.

The first signal calls ``on_stop`` once (the executor stops scheduling and ends its running jobs,
which stay pending) and is remembered, so the runner exits with 128 + its number once the jobs are
down; while ``Interrupt.forward`` is set (frameworks being set up) it is also passed on to the
runner's helpers (an installer). A second signal only says that the runner is stopping. Handlers
are installed only in the main thread and restored afterwards; a signal that the process inherited
as ignored stays ignored.
"""
from __future__ import annotations

import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass

SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass
class Interrupt:
    signum: int | None = None
    forward: bool = False      # pass the first signal on to helpers in the runner's session (set-up)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum if self.signum else 0

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""


def _forward_to_helpers(signum: int) -> None:
    """Pass the signal on to this process's descendants in its own session (a framework's installer
    building its venv), as Ctrl-C in a terminal would reach them; ``kill <runner>`` would not, and the
    runner would wait for the install. Job processes run in sessions of their own and are left to
    ``on_stop``, which ends them in order; sbatch calls are not signalled (forwarding is off then)."""
    import os

    import psutil

    me = os.getsid(0)
    for child in psutil.Process().children(recursive=True):
        try:
            if os.getsid(child.pid) == me:
                child.send_signal(signum)
        except (OSError, psutil.Error):
            pass


@contextmanager
def stop_on_signals(on_stop):
    interrupt = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return

    def handler(signum, _frame):
        if interrupt.signum is None:
            interrupt.signum = signum
            print(f"\n{signal.Signals(signum).name}: stopping: no new jobs; running jobs are ended and stay pending",
                  file=sys.stderr, flush=True)
            on_stop()
            if interrupt.forward:
                _forward_to_helpers(signum)
        else:
            print("still stopping (running jobs get SIGTERM, then SIGKILL after the grace period)",
                  file=sys.stderr, flush=True)

    # a signal the runner was started to ignore (e.g. SIGINT of a background job of a shell) stays ignored
    previous = {s: signal.signal(s, handler) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield interrupt
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
