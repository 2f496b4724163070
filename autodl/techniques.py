"""Training techniques of the search space, each on its own (the trainer wires them in).

- ``lr_schedule``: cosine annealing over the run, or restarted per cycle for snapshot ensembles;
- ``Lookahead`` (Zhang et al. 2019): every k fast steps the slow weights move alpha of the way to the
  fast ones, and the fast weights restart from there;
- ``mix`` and ``mixup_loss`` (Zhang et al. 2018): a batch mixed with a permutation of itself,
  lam ~ Beta(alpha, alpha), and the loss against both label sets weighted the same way;
- ``SWA`` (Izmailov et al. 2018): the average of the weights after each of the last 25% of the epochs,
  its batch-norm statistics re-estimated on the training data;
- ``Snapshots`` (Huang et al. 2017): the model at the end of each learning-rate cycle; the ensemble
  averages their probabilities.
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SNAPSHOT_CYCLES = 3
SWA_START = 0.75   # share of the epochs after which SWA averages


def lr_schedule(config: dict, epochs: int) -> tuple[list[float], set[int]]:
    """Learning rate per epoch (1-based list index 0 = epoch 1) and the snapshot epochs."""
    base = float(config.get("lr", 1e-3))
    if config.get("snapshot", "off") == "on":
        cycles = min(SNAPSHOT_CYCLES, epochs)
        ends = [round(epochs * (i + 1) / cycles) for i in range(cycles)]
        lrs, start = [], 0
        for end in ends:  # cosine annealing restarted at each cycle
            length = end - start
            lrs += [base * 0.5 * (1 + math.cos(math.pi * i / length)) for i in range(length)]
            start = end
        return lrs, set(ends)
    if config.get("cosine", "on") == "on":
        return [base * 0.5 * (1 + math.cos(math.pi * i / epochs)) for i in range(epochs)], set()
    return [base] * epochs, set()


class Lookahead:
    """Every ``steps`` fast steps: slow += alpha * (fast - slow); fast = slow. Call ``step`` after each
    optimizer step."""

    def __init__(self, params, alpha: float, steps: int):
        self.params = [p for p in params if p.requires_grad]
        self.slow = [p.detach().clone() for p in self.params]
        self.alpha, self.steps, self.count = float(alpha), int(steps), 0

    @torch.no_grad()
    def step(self) -> None:
        self.count += 1
        if self.count % self.steps:
            return
        for p, s in zip(self.params, self.slow):
            s.add_(p - s, alpha=self.alpha)
            p.copy_(s)

    @classmethod
    def from_config(cls, config: dict, model: nn.Module) -> "Lookahead | None":
        if config.get("lookahead", "off") != "on":
            return None
        return cls(model.parameters(), float(config.get("la_alpha", 0.5)), int(config.get("la_steps", 6)))


def mixup_alpha(config: dict) -> float:
    """Beta(alpha, alpha) parameter of mixup; 0 when mixup is off."""
    return float(config.get("mixup_alpha", 0.0)) if config.get("mixup", "off") == "on" else 0.0


def mix(hidden: torch.Tensor, alpha: float, np_rng: np.random.Generator,
        generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """(lam * hidden + (1 - lam) * hidden[partner], partner, lam) with lam ~ Beta(alpha, alpha)."""
    lam = float(np_rng.beta(alpha, alpha))
    partner = torch.randperm(len(hidden), device=hidden.device, generator=generator)
    return lam * hidden + (1 - lam) * hidden[partner], partner, lam


def mixup_loss(logits: torch.Tensor, y: torch.Tensor, partner: torch.Tensor, lam: float) -> torch.Tensor:
    """The mixed-target loss: lam * CE(logits, y) + (1 - lam) * CE(logits, y[partner])."""
    return lam * F.cross_entropy(logits, y) + (1 - lam) * F.cross_entropy(logits, y[partner])


@torch.no_grad()
def recompute_batch_norm(model: nn.Module, dense, indices, batch_size: int) -> None:
    """Re-estimate batch-norm statistics on the training data (cumulative average over its batches):
    the running statistics of averaged weights are those of no network that ever ran."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    for i in range(0, len(dense), batch_size):
        if len(dense[i:i + batch_size]) > 1:
            model(dense[i:i + batch_size], indices[i:i + batch_size])
    for bn, m in zip(bns, momenta):
        bn.momentum = m


class SWA:
    """Averages the weights after each epoch from ``start`` on (equal weights)."""

    def __init__(self, model: nn.Module, epochs: int):
        self.averaged = torch.optim.swa_utils.AveragedModel(model)
        self.start = max(1, int(math.ceil(SWA_START * epochs)))

    @classmethod
    def from_config(cls, config: dict, model: nn.Module, epochs: int) -> "SWA | None":
        return cls(model, epochs) if config.get("swa", "off") == "on" else None

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        if epoch >= self.start:
            self.averaged.update_parameters(model)

    @property
    def collected(self) -> int:
        return int(self.averaged.n_averaged)

    def final_model(self, dense, indices, batch_size: int) -> nn.Module:
        """The averaged network with its batch-norm statistics re-estimated on (dense, indices)."""
        model = self.averaged.module
        recompute_batch_norm(model, dense, indices, batch_size)
        return model


class Snapshots:
    """Copies of the model at the given epochs (the ends of the learning-rate cycles)."""

    def __init__(self, epochs: set[int]):
        self.epochs = set(epochs)
        self.models: list[nn.Module] = []

    def after_epoch(self, model: nn.Module, epoch: int) -> None:
        if epoch in self.epochs:
            self.models.append(copy.deepcopy(model))
