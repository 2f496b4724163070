"""Core slots: at most ``cores`` computations at a time, networks and traditional learners together.

A job with ``cores`` cores gets that many busy processes, as every competitor does. The search's
master takes a slot before it submits a network evaluation and gives it back once the result is
recorded (the ensemble rebuilt from it included); the traditional learners take one for each
learner (their ensemble rebuild included). Master and learners live in the process that runs
``fit``, so one lock holds the rule; the worker processes only wait while their slot is used by a
learner.

Turns: a waiting learner gets the next free slot once ``network_turns`` network evaluations were
granted since the last learner (so networks go first and the two alternate while both wait), or
at once while no search is scheduling networks.
"""
from __future__ import annotations

import threading
import time


class CoreSlots:
    def __init__(self, cores: int, network_turns: int = 1):
        if int(cores) < 1:
            raise ValueError(f"cores must be >= 1, got {cores}")
        self.cores = int(cores)
        self.network_turns = int(network_turns)
        self._free = self.cores
        self._cond = threading.Condition()
        self._learners_waiting = 0
        self._networks_since_learner = 0
        self._searching = False
        self.max_in_use = 0            # the most slots ever held at once (what the rule bounds)
        self.on_release = None         # called (outside the lock) after a slot is given back: wakes the master
        self.grants: list[str] = []    # "network" / "learner", in the order granted

    def _grant(self, kind: str) -> None:
        self._free -= 1
        self.max_in_use = max(self.max_in_use, self.cores - self._free)
        self.grants.append(kind)

    def searching(self, active: bool) -> None:
        """The search schedules networks (True) or has stopped (False: learners need not wait their turn)."""
        with self._cond:
            self._searching = bool(active)
            self._cond.notify_all()

    def try_network(self) -> bool:
        """Take a slot for a network evaluation if one is free and it is the networks' turn."""
        with self._cond:
            if self._free == 0:
                return False
            if self._learners_waiting and self._networks_since_learner >= self.network_turns:
                return False
            self._grant("network")
            self._networks_since_learner += 1
            return True

    def cancel_network(self) -> None:
        """Give back a network slot that found nothing to run (it does not count as the networks' turn)."""
        with self._cond:
            self._networks_since_learner = max(0, self._networks_since_learner - 1)
            if self.grants and self.grants[-1] == "network":
                self.grants.pop()
        self.release()

    def acquire_learner(self, until: float) -> bool:
        """Wait for a slot and the learners' turn; False when ``until`` (time.time()) passes first."""
        with self._cond:
            self._learners_waiting += 1
            try:
                while not (self._free > 0 and (self._networks_since_learner >= self.network_turns
                                               or not self._searching)):
                    left = until - time.time()
                    if left <= 0:
                        return False
                    self._cond.wait(min(left, 0.5))
                self._grant("learner")
                self._networks_since_learner = 0
                return True
            finally:
                self._learners_waiting -= 1

    def release(self) -> None:
        with self._cond:
            if self._free >= self.cores:
                raise RuntimeError("CoreSlots.release() without a slot held")
            self._free += 1
            self._cond.notify_all()
        if self.on_release is not None:
            self.on_release()

    @property
    def in_use(self) -> int:
        with self._cond:
            return self.cores - self._free
