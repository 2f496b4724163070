"""Local parameter importance (Biedenkapp, Marben, Lindauer, Hutter, LION 2018).

Around the incumbent, change one hyperparameter at a time over its whole range (every
category, every integer of a small range, else an even grid on the encoded scale) and ask
the surrogate for the performance; the importance of a hyperparameter is the variance of
these predictions divided by the sum of those variances over all hyperparameters.
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from autodl.importance.params import Param


def local_importance(predict: Callable[[np.ndarray], np.ndarray], incumbent: np.ndarray,
                     params: list[Param], *, n_points: int = 50) -> dict[str, float]:
    """Share of the local variance per hyperparameter around `incumbent` (encoded vector).

    predict maps an (n, d) encoded matrix to n predicted performances. Shares sum to 1,
    or are all 0 when the surrogate is flat around the incumbent.
    """
    incumbent = np.asarray(incumbent, dtype=float)
    if incumbent.shape != (len(params),):
        raise ValueError(f"LPI: incumbent has {incumbent.shape} values for {len(params)} hyperparameters")
    variances = {}
    for d, p in enumerate(params):
        grid = np.unique(np.append(p.grid(n_points), incumbent[d]))
        neighbours = np.repeat(incumbent[None, :], len(grid), axis=0)
        neighbours[:, d] = grid
        variances[p.name] = float(np.var(predict(neighbours)))
    total = sum(variances.values())
    return {name: (v / total if total > 0 else 0.0) for name, v in variances.items()}
