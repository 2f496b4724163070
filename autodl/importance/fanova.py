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

Categorical hyperparameters are categories, not ordered numbers (as in the reference, whose
pyrfr forest makes set splits on them): the forest sees each one as one indicator column per
category, so a split sends one category one way and the others the other way, and a leaf's
region in that dimension is a *set* of categories (each with prior weight 1/K), never an
interval of category indices. Numeric dimensions are intervals as above.

The forest is scikit-learn's RandomForestRegressor: the `fanova` package fails under numpy 2
and its pyrfr forest needs swig to build (see design.md).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from sklearn.ensemble import RandomForestRegressor


@dataclass
class _TreePartition:
    lower: np.ndarray  # (leaves, dims) encoded lower edge of each leaf's box (numeric dims)
    upper: np.ndarray  # (leaves, dims)
    value: np.ndarray  # (leaves,)
    categories: dict = field(default_factory=dict)   # categorical dim -> (leaves, K) bool: categories in the leaf


@dataclass(frozen=True)
class Columns:
    """How the forest's input columns map to hyperparameters: numeric dims one column each, a
    categorical dim with K categories K indicator columns."""

    dims: tuple[int, ...]          # per column: its hyperparameter
    category: tuple[int, ...]      # per column: its category (-1 for a numeric column)
    sizes: tuple                   # per hyperparameter: K for a categorical, None for a numeric one

    @classmethod
    def of(cls, sizes) -> "Columns":
        dims, category = [], []
        for d, k in enumerate(sizes):
            for c in (range(k) if k else [-1]):
                dims.append(d)
                category.append(c)
        return cls(tuple(dims), tuple(category), tuple(sizes))

    def expand(self, X: np.ndarray) -> np.ndarray:
        """Encoded configurations (a category as its index) -> the forest's columns."""
        X = np.asarray(X, dtype=float)
        return np.column_stack([X[:, d] if c < 0 else (np.rint(X[:, d]) == c).astype(float)
                                for d, c in zip(self.dims, self.category)])


def tree_partition(tree, bounds: np.ndarray, columns: Columns | None = None) -> _TreePartition:
    """The leaves of a fitted sklearn tree as regions: boxes clipped to `bounds` (dims x 2) in the
    numeric dims, sets of categories in the categorical ones (``columns``; default: all numeric)."""
    columns = columns or Columns.of([None] * len(bounds))
    t = tree.tree_
    lowers, uppers, values, masks = [], [], [], []
    start = {d: np.ones(k, dtype=bool) for d, k in enumerate(columns.sizes) if k}
    stack = [(0, bounds[:, 0].copy(), bounds[:, 1].copy(), start)]
    while stack:
        node, lo, hi, cats = stack.pop()
        left, right = t.children_left[node], t.children_right[node]
        if left == -1:  # leaf
            lowers.append(lo)
            uppers.append(hi)
            values.append(t.value[node, 0, 0])
            masks.append(cats)
            continue
        column, threshold = t.feature[node], t.threshold[node]
        f, category = columns.dims[column], columns.category[column]
        if category >= 0:   # indicator of one category: left is "not that category", right "that category"
            not_it, only_it = dict(cats), dict(cats)
            not_it[f] = cats[f].copy()
            not_it[f][category] = False
            only_it[f] = np.zeros_like(cats[f])
            only_it[f][category] = cats[f][category]
            stack.append((left, lo, hi, not_it))
            stack.append((right, lo, hi, only_it))
            continue
        left_hi = hi.copy()
        left_hi[f] = min(hi[f], max(lo[f], threshold))
        right_lo = lo.copy()
        right_lo[f] = max(lo[f], min(hi[f], threshold))
        stack.append((left, lo, left_hi, cats))
        stack.append((right, right_lo, hi, cats))
    categories = {d: np.array([m[d] for m in masks]) for d in start}
    return _TreePartition(np.array(lowers), np.array(uppers), np.array(values, dtype=float), categories)


class _TreeDecomposition:
    """Exact variance decomposition of one tree under the uniform prior on `bounds`."""

    def __init__(self, part: _TreePartition, bounds: np.ndarray):
        self.part = part
        self.bounds = bounds
        self.cells = [self._cells(d) for d in range(len(bounds))]   # per dim: (cell shares, leaves x cells cover)
        self.share = np.column_stack([cover @ share for share, cover in self.cells])  # (leaves, dims)
        weight = np.prod(self.share, axis=1)
        self.mean = float(weight @ part.value)
        self.total_variance = float(weight @ (part.value - self.mean) ** 2)
        self._main: dict[int, float] = {}

    def _cells(self, dim: int):
        """Cells of one dimension: every category (share 1/K), or the intervals cut at every split on it."""
        if dim in self.part.categories:
            cover = self.part.categories[dim].astype(float)
            return np.full(cover.shape[1], 1.0 / cover.shape[1]), cover
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
            share, cover = self.cells[dim]
            marginal = cover.T @ (self._others_share((dim,)) * self.part.value)
            self._main[dim] = float(share @ (marginal - self.mean) ** 2)
        return self._main[dim]

    def pair_effect(self, i: int, j: int) -> float:
        share_i, cover_i = self.cells[i]
        share_j, cover_j = self.cells[j]
        weighted = cover_i * (self._others_share((i, j)) * self.part.value)[:, None]
        marginal = weighted.T @ cover_j  # (cells of i, cells of j)
        variance = float(share_i @ (marginal - self.mean) ** 2 @ share_j)
        return variance - self.main_effect(i) - self.main_effect(j)


class FANOVA:
    """Fit a random forest on encoded configurations and decompose its variance.

    X: (n, d) encoded configurations (see params.encode_configs); y: performance;
    bounds: (d, 2) encoded interval of each hyperparameter; names: d hyperparameter names;
    categories: per hyperparameter its number of categories (X holds the category's index), or
    None for a numeric one (default: all numeric).
    """

    def __init__(self, X, y, bounds, names, *, categories=None, n_trees: int = 64, seed: int = 0,
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
        sizes = list(categories) if categories is not None else [None] * len(self.names)
        if len(sizes) != len(self.names) or any(k is not None and int(k) < 2 for k in sizes):
            raise ValueError(f"fANOVA: categories must give each of the {len(self.names)} hyperparameters 2 or more "
                             f"categories, or None for a numeric one; got {sizes}")
        self.columns = Columns.of([int(k) if k is not None else None for k in sizes])
        self.forest = RandomForestRegressor(n_estimators=n_trees, min_samples_leaf=min_samples_leaf,
                                            max_features=max_features, random_state=seed)
        self.forest.fit(self.columns.expand(X), y)
        self.trees = [_TreeDecomposition(tree_partition(est, self.bounds, self.columns), self.bounds)
                      for est in self.forest.estimators_]
        # Trees that found no structure (a single leaf) explain nothing; leave them out of the average.
        self._varied = [t for t in self.trees if t.total_variance > 0]

    def predict(self, X) -> np.ndarray:
        """Predicted performance of encoded configurations (a category as its index)."""
        return self.forest.predict(self.columns.expand(X))

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
