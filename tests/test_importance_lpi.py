"""Local parameter importance around a known optimum."""
import numpy as np
import pytest

from autodl.importance.fanova import FANOVA
from autodl.importance.lpi import local_importance
from autodl.importance.params import Param

PARAMS = [Param(name, "float", 0.0, 1.0) for name in ("x1", "x2", "x3")]


def cost(X):
    # optimum at x1 = 0.3, x2 = 0.7; x3 does not matter
    return (X[:, 0] - 0.3) ** 2 + 0.1 * (X[:, 1] - 0.7) ** 2


def test_lpi_on_the_exact_function_at_its_optimum():
    # On a grid symmetric about 0.5, (x - 0.3)^2 and (x - 0.7)^2 vary equally, so the local
    # variances are in the ratio 1 : 0.1^2 : 0 -> shares 100/101, 1/101, 0.
    shares = local_importance(cost, np.array([0.3, 0.7, 0.5]), PARAMS, n_points=41)
    assert shares["x1"] == pytest.approx(100 / 101)
    assert shares["x2"] == pytest.approx(1 / 101)
    assert shares["x3"] == 0.0


def test_lpi_around_the_incumbent_of_a_forest_surrogate():
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(400, 3))
    y = cost(X)
    model = FANOVA(X, y, [[0, 1]] * 3, ["x1", "x2", "x3"], n_trees=32)
    incumbent = X[np.argmin(y)]
    assert np.allclose(incumbent[:2], [0.3, 0.7], atol=0.1)
    shares = local_importance(model.predict, incumbent, PARAMS)
    assert shares["x1"] > 0.8
    assert shares["x2"] > shares["x3"]
    assert sum(shares.values()) == pytest.approx(1.0)


def test_flat_surrogate_gives_zero_shares_not_nan():
    shares = local_importance(lambda X: np.ones(len(X)), np.array([0.5, 0.5, 0.5]), PARAMS)
    assert shares == {"x1": 0.0, "x2": 0.0, "x3": 0.0}
