"""fANOVA against variance decompositions computed by hand."""
import numpy as np
import pytest
from sklearn.tree import DecisionTreeRegressor

from autodl.importance.fanova import FANOVA, Columns, _TreeDecomposition, tree_partition
from autodl.importance.params import Param, encode_configs


def test_single_tree_decomposition_is_exact():
    # f = A + 2AB with A = [x1 > 0.5], B = [x2 > 0.25] on the unit square, uniform prior:
    # mean 1.25, V = 1.9375, V_x1 = Var(2.5 A) = 1.5625, V_x2 = Var(B) = 0.1875, V_x1x2 = 0.1875.
    grid = (np.arange(8) + 0.5) / 8  # midpoints between grid values fall on 0.25 and 0.5
    x1, x2 = np.meshgrid(grid, grid)
    X = np.column_stack([x1.ravel(), x2.ravel()])
    a, b = X[:, 0] > 0.5, X[:, 1] > 0.25
    y = a + 2.0 * a * b
    bounds = np.array([[0.0, 1.0], [0.0, 1.0]])
    tree = _TreeDecomposition(tree_partition(DecisionTreeRegressor().fit(X, y), bounds), bounds)
    assert tree.mean == pytest.approx(1.25)
    assert tree.total_variance == pytest.approx(1.9375)
    assert tree.main_effect(0) == pytest.approx(1.5625)
    assert tree.main_effect(1) == pytest.approx(0.1875)
    assert tree.pair_effect(0, 1) == pytest.approx(0.1875)


def test_forest_recovers_additive_plus_interaction_decomposition():
    # f = x1 + 2 x2^2 + 2 x1 x3, x ~ U[0,1]^3. By hand:
    # V_x1 = (1 + 2/2)^2 / 12 = 1/3, V_x2 = 4 Var(x^2) = 4 * 4/45 = 16/45,
    # V_x3 = (2/2)^2 / 12 = 1/12, V_x1x3 = 4 Var(x1 - 1/2) Var(x3 - 1/2) = 4/144, total 0.8.
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(2000, 3))
    y = X[:, 0] + 2 * X[:, 1] ** 2 + 2 * X[:, 0] * X[:, 2]
    model = FANOVA(X, y, [[0, 1]] * 3, ["x1", "x2", "x3"], n_trees=32, seed=0)
    main = {k: v[0] for k, v in model.main_effects().items()}
    assert main["x1"] == pytest.approx((1 / 3) / 0.8, abs=0.03)
    assert main["x2"] == pytest.approx((16 / 45) / 0.8, abs=0.03)
    assert main["x3"] == pytest.approx((1 / 12) / 0.8, abs=0.03)
    pairs = {k: v[0] for k, v in model.pair_effects().items()}
    assert pairs[("x1", "x3")] == pytest.approx((4 / 144) / 0.8, abs=0.02)
    assert pairs[("x1", "x2")] < 0.015 and pairs[("x2", "x3")] < 0.015


def test_categorical_and_log_hyperparameters_are_uniform_over_their_encoding():
    # y depends only on a 3-way categorical: values 0, 0, 3 -> all variance is the categorical's,
    # and a log-scaled hyperparameter that does not matter gets (almost) none.
    rng = np.random.default_rng(1)
    params = [Param("opt", "categorical", choices=("adam", "sgd", "rmsprop")),
              Param("lr", "float", 1e-4, 1e-1, log=True)]
    configs = {"opt": rng.choice(["adam", "sgd", "rmsprop"], 300), "lr": 10 ** rng.uniform(-4, -1, 300)}
    import pandas as pd

    X = encode_configs(pd.DataFrame(configs), params)
    y = np.where(X[:, 0] == 2, 3.0, 0.0)
    model = FANOVA(X, y, [p.bounds() for p in params], [p.name for p in params], categories=[3, None], n_trees=16)
    main = model.main_effects()
    assert main["opt"][0] == pytest.approx(1.0, abs=1e-9)
    assert main["lr"][0] == pytest.approx(0.0, abs=1e-9)


def _categorical_grid():
    """Every (category, x) combination: 3 categories x 8 values of x in (0, 1), x's midpoints fall on 0.5."""
    cat, x = np.meshgrid(np.arange(3.0), (np.arange(8) + 0.5) / 8, indexing="ij")
    return np.column_stack([cat.ravel(), x.ravel()])


def test_a_split_on_a_categorical_sends_one_category_one_way_and_leaves_sets_not_intervals():
    X = _categorical_grid()
    y = (X[:, 0] == 1).astype(float)             # only the middle category differs
    columns = Columns.of([3, None])
    tree = DecisionTreeRegressor(max_depth=1).fit(columns.expand(X), y)
    part = tree_partition(tree, np.array([[-0.5, 2.5], [0.0, 1.0]]), columns)
    sets = sorted(tuple(np.flatnonzero(mask)) for mask in part.categories[0])
    assert sets == [(0, 2), (1,)]                # one split isolates it: {0, 2} is no interval of indices


def test_single_tree_decomposition_with_a_categorical_is_exact():
    # f = [cat = 1] + 2 [x > 0.5] [cat != 2], cat uniform on {0, 1, 2}, x ~ U(0, 1). By hand: mean 1,
    # V = 4/3; marginal of cat: 1, 2, 0 -> V_cat = 2/3; marginal of x: 1/3, 5/3 -> V_x = 4/9; V_cat,x = 2/9.
    X = _categorical_grid()
    y = (X[:, 0] == 1) + 2.0 * (X[:, 1] > 0.5) * (X[:, 0] != 2)
    columns = Columns.of([3, None])
    bounds = np.array([[-0.5, 2.5], [0.0, 1.0]])
    tree = _TreeDecomposition(tree_partition(DecisionTreeRegressor().fit(columns.expand(X), y), bounds, columns),
                              bounds)
    assert tree.mean == pytest.approx(1.0)
    assert tree.total_variance == pytest.approx(4 / 3)
    assert tree.main_effect(0) == pytest.approx(2 / 3)
    assert tree.main_effect(1) == pytest.approx(4 / 9)
    assert tree.pair_effect(0, 1) == pytest.approx(2 / 9)


def test_a_categoricals_importance_does_not_depend_on_the_order_of_its_choices():
    # 5 categories with alternating effects 0, 1, 0, 1, 0 plus x: by hand Var(effect) = 0.24, Var(x) = 1/12,
    # so the categorical explains 0.24 / (0.24 + 1/12) = 0.742 of the variance.
    rng = np.random.default_rng(0)
    effects = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    cat, x = rng.integers(0, 5, 80), rng.uniform(size=80)
    y = effects[cat] + x + rng.normal(0, 0.05, 80)
    bounds = [[-0.5, 4.5], [0.0, 1.0]]
    relabel = np.array([0, 3, 1, 4, 2])          # the same categories listed in another order (effects sorted)
    importance = {}
    for name, codes in (("listed", cat), ("relabelled", relabel[cat])):
        X = np.column_stack([codes, x])
        categorical = FANOVA(X, y, bounds, ["cat", "x"], categories=[5, None], n_trees=32, seed=0)
        ordered = FANOVA(X, y, bounds, ["cat", "x"], n_trees=32, seed=0)   # indices taken as numbers
        importance[name] = categorical.main_effects()["cat"][0], ordered.main_effects()["cat"][0]
    assert importance["listed"][0] == pytest.approx(importance["relabelled"][0], abs=0.005)   # ties aside, the same
    assert importance["listed"][0] == pytest.approx(0.742, abs=0.05)
    # what treating the indices as ordered numbers would do: the answer depends on how choices are listed
    assert abs(importance["listed"][1] - importance["relabelled"][1]) > 0.2


def test_inactive_values_are_imputed_with_the_default():
    p = Param("momentum", "float", 0.1, 0.99, default=0.9)
    assert list(p.encode([0.5, None, float("nan")])) == [0.5, 0.9, 0.9]


def test_mismatched_shapes_are_rejected():
    with pytest.raises(ValueError, match="must agree"):
        FANOVA(np.zeros((5, 2)), np.arange(5.0), [[0, 1]], ["a", "b"])
