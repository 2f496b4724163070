"""fANOVA: functional ANOVA over a random-forest surrogate (Hutter, Hoos, Leyton-Brown, ICML 2014).

Each regression tree is a piecewise-constant function on axis-aligned boxes that partition
the bounded configuration space. Under the uniform distribution on that space, its mean,
its variance and the variance of every marginal (the tree averaged over all other
hyperparameters) can be computed exactly from the leaves:

  weight of a leaf        = its volume / the space's volume
  marginal of dims U at x = sum over leaves containing x_U of value * (volume of the leaf
                            outside U / volume of the space outside U)

Main effect V_i = variance of the marginal of i; pairwise V_ij = variance of the marginal of
(i, j) - V_i - V_j. Like the reference implementation, importance = V_U / V per tree,
averaged over the trees (with its standard deviation).

The forest is scikit-learn's RandomForestRegressor: the `fanova` package fails under numpy 2
and its pyrfr forest needs swig to build (see design.md).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from sklearn.ensemble import RandomForestRegressor


@dataclass
class _TreePartition:
    lower: np.ndarray  # (leaves, dims) encoded lower edge of each leaf's box
    upper: np.ndarray  # (leaves, dims)
    value: np.ndarray  # (leaves,)


def tree_partition(tree, bounds: np.ndarray) -> _TreePartition:
    """The leaves of a fitted sklearn tree as boxes clipped to `bounds` (dims x 2)."""
    t = tree.tree_
    lowers, uppers, values = [], [], []
    stack = [(0, bounds[:, 0].copy(), bounds[:, 1].copy())]
    while stack:
        node, lo, hi = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:  # leaf
            lowers.append(lo)
            uppers.append(hi)
            values.append(t.value[node, 0, 0])
            continue
        f, threshold = t.feature[node], t.threshold[node]
        left_hi = hi.copy()
        left_hi[f] = min(hi[f], max(lo[f], threshold))
        right_lo = lo.copy()
        right_lo[f] = max(lo[f], min(hi[f], threshold))
        stack.append((left, lo, left_hi))
        stack.append((right, right_lo, hi))
    return _TreePartition(np.array(lowers), np.array(uppers), np.array(values, dtype=float))


class _TreeDecomposition:
    """Exact variance decomposition of one tree under the uniform prior on `bounds`."""

    def __init__(self, part: _TreePartition, bounds: np.ndarray):
        self.part = part
        widths = bounds[:, 1] - bounds[:, 0]
        self.share = np.clip(part.upper - part.lower, 0.0, None) / widths  # (leaves, dims)
        weight = np.prod(self.share, axis=1)
        self.mean = float(weight @ part.value)
        self.total_variance = float(weight @ (part.value - self.mean) ** 2)
        self.bounds = bounds
        self._main: dict[int, float] = {}

    def _intervals(self, dim: int):
        """Cells of one dimension cut at every split on it: (midpoints, length shares, cover)."""
        lo, hi = self.bounds[dim]
        edges = np.unique(np.concatenate([[lo, hi], self.part.lower[:, dim], self.part.upper[:, dim]]))
        edges = edges[(edges >= lo) & (edges <= hi)]
        mid = (edges[:-1] + edges[1:]) / 2
        share = np.diff(edges) / (hi - lo)
        cover = (self.part.lower[:, dim, None] <= mid) & (mid < self.part.upper[:, dim, None])
        return share, cover.astype(float)

    def _others_share(self, dims: tuple[int, ...]) -> np.ndarray:
        keep = np.ones(self.share.shape[1], dtype=bool)
        keep[list(dims)] = False
        return np.prod(self.share[:, keep], axis=1)

    def main_effect(self, dim: int) -> float:
        if dim not in self._main:
            share, cover = self._intervals(dim)
            marginal = cover.T @ (self._others_share((dim,)) * self.part.value)
            self._main[dim] = float(share @ (marginal - self.mean) ** 2)
        return self._main[dim]

    def pair_effect(self, i: int, j: int) -> float:
        share_i, cover_i = self._intervals(i)
        share_j, cover_j = self._intervals(j)
        weighted = cover_i * (self._others_share((i, j)) * self.part.value)[:, None]
        marginal = weighted.T @ cover_j  # (cells of i, cells of j)
        variance = float(share_i @ (marginal - self.mean) ** 2 @ share_j)
        return variance - self.main_effect(i) - self.main_effect(j)


class FANOVA:
    """Fit a random forest on encoded configurations and decompose its variance.

    X: (n, d) encoded configurations (see params.encode_configs); y: performance;
    bounds: (d, 2) encoded interval of each hyperparameter; names: d hyperparameter names.
    """

    def __init__(self, X, y, bounds, names, *, n_trees: int = 64, seed: int = 0,
                 min_samples_leaf: int = 1, max_features: float = 1.0):
        X = np.asarray(X, dtype=float)
        y = np.asarray(y, dtype=float)
        self.bounds = np.asarray(bounds, dtype=float)
        self.names = list(names)
        if X.ndim != 2 or X.shape[1] != len(self.names) or self.bounds.shape != (len(self.names), 2):
            raise ValueError(f"fANOVA: X has shape {X.shape}, bounds {self.bounds.shape}, names {len(self.names)}: they must agree")
        if len(y) != len(X) or len(y) < 2:
            raise ValueError(f"fANOVA needs at least 2 evaluations with one value each, got {len(X)} configurations and {len(y)} values")
        if np.any(self.bounds[:, 1] <= self.bounds[:, 0]):
            raise ValueError("fANOVA: every hyperparameter needs a range of positive width; drop constant ones first")
        self.forest = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=min_samples_leaf,
                                            max_features=max_features, random_state=seed)
        self.forest.fit(X, y)
        self.trees = [_TreeDecomposition(tree_partition(est, self.bounds), self.bounds)
                      for est in self.forest.estimators_]
        # Trees that found no structure (a single leaf) explain nothing; leave them out of the average.
        self._varied = [t for t in self.trees if t.total_variance > 0]

    def predict(self, X) -> np.ndarray:
        return self.forest.predict(np.asarray(X, dtype=float))

    def _fractions(self, effect) -> np.ndarray:
        if not self._varied:
            return np.zeros(1)
        return np.array([effect(t) / t.total_variance for t in self._varied])

    def main_effects(self) -> dict[str, tuple[float, float]]:
        """Fraction of variance explained by each hyperparameter alone: name -> (mean, std) over trees."""
        out = {}
        for d, name in enumerate(self.names):
            f = self._fractions(lambda t: t.main_effect(d))
            out[name] = (float(f.mean()), float(f.std()))
        return out

    def pair_effects(self) -> dict[tuple[str, str], tuple[float, float]]:
        """Fraction explained by each pairwise interaction (beyond both main effects)."""
        out = {}
        for i, j in combinations(range(len(self.names)), 2):
            f = self._fractions(lambda t: t.pair_effect(i, j))
            out[(self.names[i], self.names[j])] = (float(f.mean()), float(f.std()))
        return out
