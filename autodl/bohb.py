"""The proposer: BOHB's master, with an optional list of configurations evaluated first.

``PortfolioFirst`` hands out the given initial configurations (a portfolio) before asking
BOHB's model; ``DeadlineBOHB`` is hpbandster's BOHB with a run loop that stops submitting
at a wall-clock deadline (hpbandster's own loop only counts iterations). Infrastructure
(nameserver, worker processes) lives in ``autodl.search``; evaluation in ``autodl.worker``.
"""
from __future__ import annotations

import math
import time

import numpy as np

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
    """BOHB (successive-halving brackets with budgets max_budget * eta^-k) stopping at a deadline."""

    def __init__(self, config_generator, min_budget, max_budget, eta, **master_kwargs):
        if not 0 < min_budget < max_budget:
            raise ValueError(f"budgets must satisfy 0 < min_budget < max_budget, got {min_budget}, {max_budget}")
        if eta < 2:
            raise ValueError(f"eta must be >= 2, got {eta}")
        super().__init__(config_generator=config_generator, **master_kwargs)
        self.eta = eta
        self.max_SH_iter = -int(np.log(min_budget / max_budget) / np.log(eta) - 1e-9) + 1
        self.budgets = max_budget * np.power(float(eta), -np.linspace(self.max_SH_iter - 1, 0, self.max_SH_iter))
        self.config.update({"eta": eta, "min_budget": min_budget, "max_budget": max_budget,
                            "budgets": [float(b) for b in self.budgets], "max_SH_iter": self.max_SH_iter})

    def get_next_iteration(self, iteration, iteration_kwargs={}):  # noqa: B006 - hpbandster's signature
        s = self.max_SH_iter - 1 - (iteration % self.max_SH_iter)
        n0 = int(np.floor(self.max_SH_iter / (s + 1)) * self.eta ** s)
        ns = [max(int(n0 * self.eta ** (-i)), 1) for i in range(s + 1)]
        return SuccessiveHalving(HPB_iter=iteration, num_configs=ns, budgets=self.budgets[(-s - 1):],
                                 config_sampler=self.config_generator.get_config, **iteration_kwargs)

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
                next_run = None
                for i in self.active_iterations():
                    next_run = self.iterations[i].get_next_run()
                    if next_run is not None:
                        break
                if next_run is not None:
                    self._submit_job(*next_run)
                    continue
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
