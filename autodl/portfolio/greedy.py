"""Greedy portfolio construction (Feurer et al. 2022, Auto-sklearn 2.0, Algorithm 1).

Given the error of every candidate configuration on every meta-train dataset, repeatedly
add the candidate that most reduces the average over datasets of the best error within the
portfolio. Construction stops at ``size`` members, or earlier when no candidate lowers the
average any more (further members would be arbitrary on the meta-train data).
"""
from __future__ import annotations

import numpy as np


def greedy_portfolio(errors, size: int) -> list[int]:
    """Indices of the chosen candidates (rows of ``errors``: candidates x datasets), in the order picked."""
    errors = np.asarray(errors, dtype=np.float64)
    if errors.ndim != 2 or errors.shape[0] == 0 or errors.shape[1] == 0:
        raise ValueError(f"errors must be a non-empty candidates x datasets matrix, got shape {errors.shape}")
    if size < 1:
        raise ValueError(f"portfolio size must be >= 1, got {size}")
    errors = np.where(np.isfinite(errors), errors, 1.0)   # a failed evaluation counts as the worst error
    chosen: list[int] = []
    best = np.full(errors.shape[1], np.inf)
    while len(chosen) < min(size, len(errors)):
        scores = np.minimum(best[None, :], errors).mean(axis=1)
        scores[chosen] = np.inf
        pick = int(np.argmin(scores))
        if chosen and scores[pick] >= best.mean() - 1e-12:
            break
        chosen.append(pick)
        best = np.minimum(best, errors[pick])
    return chosen


def portfolio_score(errors, chosen) -> float:
    """Average over datasets of the best error within the portfolio."""
    return float(np.asarray(errors, dtype=np.float64)[list(chosen)].min(axis=0).mean())


def leave_one_dataset_out(matrix: dict, held_out: str, size: int) -> tuple[list[int], list[str]]:
    """The greedy pick from a candidate x dataset matrix (``portfolio_matrix.json``) without ``held_out``'s
    column and without the candidate found on ``held_out``: (chosen candidate indices, remaining datasets)."""
    columns = [j for j, name in enumerate(matrix["datasets"]) if name != held_out]
    rows = [i for i, c in enumerate(matrix["candidates"]) if c["source"] != held_out]
    errors = np.asarray(matrix["errors"])[np.ix_(rows, columns)]
    return [rows[i] for i in greedy_portfolio(errors, size)], [matrix["datasets"][j] for j in columns]
