"""The budget arithmetic every adapter shares (frameworks.base): the harness's wall limit, the time kept
for predicting and a framework's fit deadline."""
from __future__ import annotations

import pytest

from frameworks.base import OVERRUN_ALLOWANCE, PREDICT_FLOOR_S, Constraint, predict_margin_s, wall_limit_s


def test_wall_limit_is_the_budget_plus_the_overrun_allowance_plus_start_up():
    assert OVERRUN_ALLOWANCE == 0.15
    assert wall_limit_s(100, 20) == pytest.approx(135.0)
    assert Constraint(3600, 1, 4096).wall_limit_s(20) == pytest.approx(3600 * 1.15 + 20)


@pytest.mark.parametrize("budget, margin", [(10, PREDICT_FLOOR_S), (60, PREDICT_FLOOR_S), (100, 5.0), (3600, 180.0)])
def test_predict_margin_is_a_share_of_the_budget_with_a_floor(budget, margin):
    assert predict_margin_s(budget) == pytest.approx(margin)
    c = Constraint(budget, 1, 4096)
    assert c.predict_margin_s == pytest.approx(margin)
    assert c.fit_s == pytest.approx(budget - margin)
    assert c.fit_deadline(1000.0) == pytest.approx(1000.0 + budget - margin)
