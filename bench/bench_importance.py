"""fANOVA's exact tree marginals vs. a Monte-Carlo estimate of the same forest's main effects.

LCBench scale per dataset: 2000 configurations of its 7 hyperparameters. Prints the time of each
method, their ratio, and the largest difference between the fractions they report.
    python bench/bench_importance.py [--configs 2000] [--trees 64] [--samples 20000]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from autodl.importance.fanova import FANOVA
from autodl.importance.params import encode_configs
from autodl.lcbench.space import lcbench_params, sample_configs


def synthetic_accuracy(X: np.ndarray) -> np.ndarray:
    # encoded columns: batch_size, learning_rate, momentum, weight_decay, num_layers, max_units, max_dropout
    lr, layers, units = X[:, 1], X[:, 4], X[:, 5]
    return 90 - 8 * (lr + 2) ** 2 - 3 * np.abs(layers - 2) + 2 * units - 1.5 * (lr + 2) * (layers - 3)


def monte_carlo_main_effects(model: FANOVA, n_samples: int, grid: int, rng) -> dict[str, float]:
    """V_i / V of the forest's mean prediction: marginal on a grid of x_i, averaged over sampled others."""
    lo, hi = model.bounds[:, 0], model.bounds[:, 1]
    base = rng.uniform(lo, hi, size=(n_samples // grid, len(lo)))
    total = np.var(model.predict(rng.uniform(lo, hi, size=(n_samples, len(lo)))))
    out = {}
    for d, name in enumerate(model.names):
        values = np.linspace(lo[d], hi[d], grid)
        marginal = []
        for v in values:
            points = base.copy()
            points[:, d] = v
            marginal.append(model.predict(points).mean())
        out[name] = float(np.var(marginal) / total)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--configs", type=int, default=2000)
    parser.add_argument("--trees", type=int, default=64)
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    import pandas as pd

    params = lcbench_params()
    X = encode_configs(pd.DataFrame(sample_configs(args.configs, seed=0, epochs=50)), params)
    y = synthetic_accuracy(X)
    t0 = time.perf_counter()
    model = FANOVA(X, y, [p.bounds() for p in params], [p.name for p in params], n_trees=args.trees)
    fit = time.perf_counter() - t0
    t0 = time.perf_counter()
    exact = {k: v[0] for k, v in model.main_effects().items()}
    t_exact = time.perf_counter() - t0
    t0 = time.perf_counter()
    # Monte-Carlo of the forest's mean (not per-tree fractions): agreement is approximate by design
    estimate = monte_carlo_main_effects(model, args.samples, 50, rng)
    t_mc = time.perf_counter() - t0
    print(f"{args.configs} configurations, {args.trees} trees: forest fit {fit:.2f} s")
    print(f"exact tree marginals {t_exact:.2f} s, Monte-Carlo ({args.samples} predictions per hyperparameter) "
          f"{t_mc:.2f} s, ratio MC/exact {t_mc / t_exact:.1f}x")
    print("hyperparameter   exact   MC")
    for name in exact:
        print(f"{name:15s} {exact[name]:6.3f} {estimate[name]:6.3f}")
    print(f"largest difference {max(abs(exact[k] - estimate[k]) for k in exact):.3f}")


if __name__ == "__main__":
    main()
