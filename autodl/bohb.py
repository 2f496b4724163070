"""The proposer: BOHB's master, with an optional list of configurations evaluated first.

``PortfolioFirst`` hands out the given initial configurations (a portfolio) before asking
BOHB's model; ``DeadlineBOHB`` is hpbandster's BOHB with a run loop that stops submitting
at a wall-clock deadline (hpbandster's own loop only counts iterations). With a
``BudgetPlanner`` (``autodl.budgets``) each new bracket's ladder is planned from the time left;
with ``CoreSlots`` (``autodl.slots``) an evaluation is submitted only with a core slot, given
back once its result is recorded. Infrastructure
(nameserver, worker processes) lives in ``autodl.search``; evaluation in ``autodl.worker``.
"""
from __future__ import annotations

import math
import time

import numpy as np

from autodl.budgets import bracket
from autodl.hpb import BOHBConfigGenerator, Master, SuccessiveHalving, base_config_generator


class PortfolioFirst(base_config_generator):
    """Initial configurations first (in order), then BOHB's KDE-based proposals.

    Results of the initial configurations feed BOHB's model like any other result.
    """

    def __init__(self, space, initial_configs=(), logger=None, **bohb_kwargs):
        super().__init__(logger=logger)
        self.model = BOHBConfigGenerator(configspace=space, logger=logger, **bohb_kwargs)
        self.pending = [dict(c) for c in initial_configs]

    def get_config(self, budget):
        if self.pending:
            return self.pending.pop(0), {"model_based_pick": False, "portfolio": True}
        return self.model.get_config(budget)

    def new_result(self, job, update_model=True):
        super().new_result(job, update_model=update_model)
        self.model.new_result(job, update_model=update_model)


class DeadlineBOHB(Master):
    """BOHB (successive-halving brackets with budgets max_budget * eta^-k) stopping at a deadline.

    ``planner`` (a ``BudgetPlanner``) replaces the fixed ladder: every new bracket asks it for the number
    of rungs (budgets ``planner.budgets(rungs)``); ``slots`` (``CoreSlots``) bounds the evaluations running
    at once together with whatever else takes slots. ``brackets`` records each bracket's plan.
    """

    def __init__(self, config_generator, min_budget, max_budget, eta, *, planner=None, slots=None,
                 **master_kwargs):
        if planner is None and not 0 < min_budget < max_budget:
            raise ValueError(f"budgets must satisfy 0 < min_budget < max_budget, got {min_budget}, {max_budget}")
        if eta < 2:
            raise ValueError(f"eta must be >= 2, got {eta}")
        super().__init__(config_generator=config_generator, **master_kwargs)
        self.eta, self.planner, self.slots = eta, planner, slots
        if slots is not None:
            slots.on_release = self._wake   # a learner's slot given back: the run loop need not poll for it
        self.brackets: list[dict] = []
        self._cycle = (0, 0)    # (rungs, position in the cycle of brackets)
        if planner is None:
            self.max_SH_iter = -int(np.log(min_budget / max_budget) / np.log(eta) - 1e-9) + 1
            self.budgets = max_budget * np.power(float(eta), -np.linspace(self.max_SH_iter - 1, 0, self.max_SH_iter))
            self.config.update({"eta": eta, "min_budget": min_budget, "max_budget": max_budget,
                                "budgets": [float(b) for b in self.budgets], "max_SH_iter": self.max_SH_iter})
        else:
            self.config.update({"eta": eta, "min_budget": planner.min_budget, "planned": True})

    def _ladder(self) -> tuple[int, list[float]]:
        if self.planner is None:
            return self.max_SH_iter, [float(b) for b in self.budgets]
        rungs = self.planner.rungs()
        return rungs, self.planner.budgets(rungs)

    def get_next_iteration(self, iteration, iteration_kwargs={}):  # noqa: B006 - hpbandster's signature
        rungs, budgets = self._ladder()
        position = self._cycle[1] if self._cycle[0] == rungs else 0   # a new ladder starts a new cycle
        self._cycle = (rungs, position + 1)
        s = rungs - 1 - (position % rungs)
        sizes = bracket(rungs, self.eta, s)
        self.brackets.append({"iteration": iteration, "time": time.time(), "rungs": rungs, "s": s,
                              "budgets": budgets[-s - 1:], "sizes": sizes,
                              "estimate": None if self.planner is None else self.planner.estimate()})
        return SuccessiveHalving(HPB_iter=iteration, num_configs=sizes, budgets=np.asarray(budgets[-s - 1:]),
                                 config_sampler=self.config_generator.get_config, **iteration_kwargs)

    def job_callback(self, job):
        """Record the result (and rebuild the ensemble from it, in the result logger) before the slot is free."""
        if self.planner is not None and job.result:
            self.planner.observe(job.result.get("info") or {})
        try:
            super().job_callback(job)
        finally:
            if self.slots is not None:
                self.slots.release()

    def _wake(self) -> None:
        with self.thread_cond:
            self.thread_cond.notify_all()

    @property
    def completed_brackets(self) -> int:
        return sum(1 for it in self.iterations if it.is_finished)

    def run_until(self, deadline: float, min_n_workers: int = 1, max_iterations: int | None = None,
                  drain_seconds: float = 10.0) -> int:
        """Schedule brackets until ``deadline`` (time.time()) or ``max_iterations`` brackets are done.

        Returns the number of brackets started. Running evaluations are waited for up to
        ``drain_seconds`` past the deadline (workers stop their own evaluations at it).
        """
        remaining_iterations = math.inf if max_iterations is None else max_iterations
        if self.time_ref is None:
            self.time_ref = time.time()
            self.config["time_ref"] = self.time_ref
        if self.slots is not None:
            self.slots.searching(True)
        try:
            return self._run_until(deadline, min_n_workers, remaining_iterations, drain_seconds)
        finally:
            if self.slots is not None:
                self.slots.searching(False)

    def _run_until(self, deadline, min_n_workers, remaining_iterations, drain_seconds) -> int:
        kwargs = {"result_logger": self.result_logger}
        with self.thread_cond:
            while self.dispatcher.number_of_workers() < min_n_workers:
                if time.time() > deadline:
                    raise TimeoutError(f"only {self.dispatcher.number_of_workers()} of {min_n_workers} workers "
                                       f"registered before the deadline")
                self.thread_cond.wait(0.1)
            while time.time() < deadline:
                if self.num_running_jobs >= self.job_queue_sizes[1]:  # all workers busy
                    self.thread_cond.wait(min(1.0, max(0.0, deadline - time.time())))
                    continue
                if self.slots is not None and not self.slots.try_network():   # cores busy (or a learner's turn)
                    self.thread_cond.wait(min(1.0, max(0.0, deadline - time.time())))
                    continue
                next_run = None
                for i in self.active_iterations():
                    next_run = self.iterations[i].get_next_run()
                    if next_run is not None:
                        break
                if next_run is not None:
                    self._submit_job(*next_run)
                    continue
                if self.slots is not None:
                    self.slots.cancel_network()   # nothing to run with it yet
                if remaining_iterations > 0:
                    self.iterations.append(self.get_next_iteration(len(self.iterations), kwargs))
                    remaining_iterations -= 1
                    continue
                if not self.active_iterations():
                    break
                self.thread_cond.wait(min(1.0, max(0.0, deadline - time.time())))
            drain_until = max(deadline, time.time()) + drain_seconds
            while self.num_running_jobs > 0 and time.time() < drain_until:
                self.thread_cond.wait(0.1)
        return len(self.iterations)
