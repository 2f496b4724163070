"""Epoch budgets that fit the time a search has.

BOHB's budgets form a ladder ``min_budget * eta**k`` epochs, ``k < rungs``; hpbandster's bracket
``s`` (``rungs - 1`` down to 0, then again) starts ``floor(rungs / (s + 1)) * eta**s`` configurations
at rung ``rungs - 1 - s`` and keeps the best ``1/eta`` at each higher rung. The rung-0 budget stays
fixed for a whole search (BOHB's models are kept per budget, so a fixed ladder keeps its results
together); what is planned is the number of rungs, i.e. the largest budget:

- before any result, a small probe bracket (``PROBE_RUNGS``) gives the first results in seconds;
- then, before every new bracket, ``plan_rungs`` picks the most rungs (at most ``max_rungs``) for
  which ``cycles`` whole cycles of brackets (``rungs`` brackets each) still fit the workers' time
  left, with seconds per epoch and per evaluation (start-up, loading, saving) estimated from the
  evaluations so far (``EpochTimer``).

``ladder_report`` counts, for a planned ladder, the brackets that complete in a given time and how
many results each budget gets (what BOHB's model needs before it proposes anything).
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

import numpy as np

PROBE_RUNGS = 2
DEFAULT_OVERHEAD_S = 0.5      # seconds an evaluation costs beyond its epochs, before any is measured


def bracket(rungs: int, eta: float, s: int) -> list[int]:
    """Configurations at each stage of bracket ``s`` (hpbandster's formula; the last stage runs the top budget)."""
    n0 = int(math.floor(rungs / (s + 1)) * eta ** s)
    return [max(int(n0 * eta ** (-i)), 1) for i in range(s + 1)]


def bracket_cost(rungs: int, eta: float, s: int, min_budget: float) -> tuple[float, int]:
    """(epochs, evaluations) of bracket ``s`` with ``rungs`` rungs."""
    sizes = bracket(rungs, eta, s)
    budgets = [min_budget * eta ** (rungs - 1 - s + i) for i in range(s + 1)]
    return float(sum(n * math.ceil(b - 1e-9) for n, b in zip(sizes, budgets))), int(sum(sizes))


def cycle_seconds(rungs: int, eta: float, min_budget: float, seconds_per_epoch: float, overhead_s: float) -> float:
    """Seconds one worker needs for a whole cycle (brackets ``rungs - 1`` down to 0)."""
    total = 0.0
    for s in range(rungs):
        epochs, evaluations = bracket_cost(rungs, eta, s, min_budget)
        total += epochs * seconds_per_epoch + evaluations * overhead_s
    return total


def plan_rungs(seconds_left: float, n_workers: int, seconds_per_epoch: float, overhead_s: float, *, eta: float,
               min_budget: float, max_rungs: int, cycles: float = 2.0) -> int:
    """The most rungs (>= 2, <= max_rungs) whose ``cycles`` cycles fit ``seconds_left`` on ``n_workers`` workers."""
    worker_seconds = max(0.0, seconds_left) * max(1, n_workers)
    best = 2
    for rungs in range(2, max(2, max_rungs) + 1):
        if cycles * cycle_seconds(rungs, eta, min_budget, seconds_per_epoch, overhead_s) <= worker_seconds:
            best = rungs
    return best


class EpochTimer:
    """Seconds per epoch and per evaluation, fitted to finished evaluations: wall = overhead + epochs * per_epoch."""

    def __init__(self):
        self.points: list[tuple[float, float]] = []   # (epochs, wall seconds)

    def observe(self, epochs: float, seconds: float) -> None:
        if epochs > 0 and seconds > 0:
            self.points.append((float(epochs), float(seconds)))

    def estimate(self) -> tuple[float, float] | None:
        """(seconds_per_epoch, overhead_s), or None before any evaluation finished."""
        if not self.points:
            return None
        epochs, seconds = np.asarray(self.points).T
        if len(set(epochs)) >= 2:
            slope, intercept = np.polyfit(epochs, seconds, 1)
            if slope > 0 and intercept >= 0:
                return float(slope), float(intercept)
        overhead = min(DEFAULT_OVERHEAD_S, 0.5 * float(np.median(seconds)))
        return float(np.median((seconds - overhead) / epochs)), overhead


def model_points(n_hyperparameters: int) -> int:
    """Results at one budget before hpbandster's BOHB builds its model: ``min_points_in_model`` is at least the
    number of hyperparameters + 1 and both the good and the bad KDE need more points than dimensions."""
    return 2 * (int(n_hyperparameters) + 1)


@dataclass
class LadderReport:
    brackets: int                   # brackets that complete within the time
    results_per_budget: dict        # epochs -> results
    evaluations: int
    model_from_bracket: int | None  # first bracket that samples with BOHB's model (None: never within the time)
    model_based_share: float        # expected share of sampled configurations proposed by the model


def ladder_report(seconds: float, n_workers: int, seconds_per_epoch: float, overhead_s: float, *, eta: float,
                  min_budget: float, max_rungs: int, cycles: float = 2.0, needed: int | None = None,
                  random_fraction: float = 1 / 3, portfolio: int = 0) -> LadderReport:
    """What a search of ``seconds`` gets if it plans like ``DeadlineBOHB`` (probe bracket, then re-planned
    brackets), assuming the per-epoch time stays as measured and workers stay busy. ``needed``: results at
    one budget before BOHB's model exists (``model_points``); ``portfolio`` configurations come first."""
    left = seconds * max(1, n_workers)
    results: dict[float, int] = {}
    brackets = evaluations = sampled = model_sampled = 0
    model_from = None
    rungs, s_index = PROBE_RUNGS, 0
    while True:
        if brackets > 0:
            rungs = plan_rungs(left / max(1, n_workers), n_workers, seconds_per_epoch, overhead_s, eta=eta,
                               min_budget=min_budget, max_rungs=max_rungs, cycles=cycles)
        s = rungs - 1 - (s_index % rungs)
        epochs, count = bracket_cost(rungs, eta, s, min_budget)
        cost = epochs * seconds_per_epoch + count * overhead_s
        if cost > left:
            break
        left -= cost
        n0 = bracket(rungs, eta, s)[0]
        has_model = needed is not None and max(results.values(), default=0) >= needed
        if has_model and model_from is None:
            model_from = brackets
        fresh = max(0, n0 - max(0, portfolio - sampled))    # portfolio configurations are not sampled
        sampled += n0
        model_sampled += fresh * (1 - random_fraction) if has_model else 0
        brackets += 1
        s_index += 1
        evaluations += count
        for i, n in enumerate(bracket(rungs, eta, s)):
            budget = min_budget * eta ** (rungs - 1 - s + i)
            results[budget] = results.get(budget, 0) + n
    share = model_sampled / sampled if sampled else 0.0
    return LadderReport(brackets, dict(sorted(results.items())), evaluations, model_from, share)


class BudgetPlanner:
    """The ladder of one search: ``rungs()`` before each new bracket, ``observe(info)`` after each evaluation."""

    def __init__(self, deadline: float, n_workers: int, *, min_budget: float = 1.0, eta: float = 3.0,
                 max_rungs: int = 5, cycles: float = 2.0):
        if min_budget <= 0 or eta < 2 or max_rungs < 2:
            raise ValueError(f"need min_budget > 0, eta >= 2 and max_rungs >= 2, got {min_budget}, {eta}, {max_rungs}")
        self.deadline, self.n_workers = float(deadline), int(n_workers)
        self.min_budget, self.eta, self.max_rungs, self.cycles = float(min_budget), float(eta), int(max_rungs), cycles
        self.timer = EpochTimer()
        self._lock = threading.Lock()

    def observe(self, info: dict) -> None:
        """Learn from one finished evaluation's info (its status, epochs run and its start and end times)."""
        if info.get("status") != "ok" or "t_start" not in info or "t_end" not in info:
            return
        with self._lock:
            self.timer.observe(info.get("epochs_run") or info.get("epochs", 0), info["t_end"] - info["t_start"])

    def estimate(self) -> tuple[float, float] | None:
        with self._lock:
            return self.timer.estimate()

    def rungs(self) -> int:
        estimate = self.estimate()
        if estimate is None:
            return PROBE_RUNGS
        return plan_rungs(self.deadline - time.time(), self.n_workers, *estimate, eta=self.eta,
                          min_budget=self.min_budget, max_rungs=self.max_rungs, cycles=self.cycles)

    def budgets(self, rungs: int) -> list[float]:
        return [self.min_budget * self.eta ** k for k in range(rungs)]
