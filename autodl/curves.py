"""Learning-curve vocabulary (LCBench's tags) and the gradient statistics of one step.

Gradient statistics are taken over the raw (signed) gradient values currently stored in
``.grad``: globally over all parameters, and per layer, where a layer is each ``nn.Linear``
module in registration order (weight and bias together), numbered from 0.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

QUANTILES = {"q10": 0.10, "q25": 0.25, "q75": 0.75, "q90": 0.90}


def _summary(values: np.ndarray) -> dict:
    if values.size == 0:
        return {k: float("nan") for k in ["max", "mean", "median", "std", *QUANTILES]}
    # one partition pass for the median and all quantiles (numpy's default linear interpolation)
    q10, q25, median, q75, q90 = np.quantile(values, [0.10, 0.25, 0.50, 0.75, 0.90])
    return {"max": float(values.max()), "mean": float(values.mean()), "median": float(median),
            "std": float(values.std()), "q10": float(q10), "q25": float(q25), "q75": float(q75), "q90": float(q90)}


def _grads(params) -> np.ndarray:
    parts = [p.grad.detach().reshape(-1) for p in params if p.grad is not None]
    if not parts:
        return np.zeros(0)
    return torch.cat(parts).to("cpu", torch.float64).numpy()


def gradient_stats(model: nn.Module) -> dict:
    """``Train/gradient_*`` and ``Train/layer_wise_gradient_*_layer_<i>`` from the current ``.grad``s."""
    everything = _grads(model.parameters())
    stats = {f"Train/gradient_{k}": v for k, v in _summary(everything).items()}
    stats["Train/gradient_norm"] = float(np.sqrt(np.square(everything).sum())) if everything.size else float("nan")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    for i, layer in enumerate(linears):
        for k, v in _summary(_grads(layer.parameters())).items():
            stats[f"Train/layer_wise_gradient_{k}_layer_{i}"] = v
    return stats
