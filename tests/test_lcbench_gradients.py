"""Layer-wise gradient statistics (autodl.curves.gradient_stats) against a hand computation."""
import math

import pytest
import torch
from torch import nn

from autodl.curves import gradient_stats


def test_layer_wise_and_global_gradient_statistics_of_a_tiny_network():
    # x = 2 -> Linear(1, 2) [w1 = (1, -2), b1 = 0] -> ReLU -> Linear(2, 1) [w2 = (3, 4), b2 = 0]; loss = output.
    # Forward: pre-activation (2, -4), hidden (2, 0), output 6.
    # Backward: dw2 = hidden = (2, 0), db2 = 1; d hidden = w2 = (3, 4), ReLU mask (1, 0) -> d pre = (3, 0);
    # dw1 = d pre * x = (6, 0), db1 = (3, 0).
    net = nn.Sequential(nn.Linear(1, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0], [-2.0]]))
        net[0].bias.zero_()
        net[2].weight.copy_(torch.tensor([[3.0, 4.0]]))
        net[2].bias.zero_()
    net(torch.tensor([[2.0]])).sum().backward()
    stats = gradient_stats(net)

    # layer 0: (6, 0, 3, 0); quantiles interpolate linearly between sorted values (0, 0, 3, 6)
    layer0 = {"max": 6, "mean": 2.25, "median": 1.5, "std": math.sqrt(24.75 / 4),
              "q10": 0, "q25": 0, "q75": 3.75, "q90": 5.1}
    # layer 1: (2, 0, 1) -> sorted (0, 1, 2)
    layer1 = {"max": 2, "mean": 1, "median": 1, "std": math.sqrt(2 / 3),
              "q10": 0.2, "q25": 0.5, "q75": 1.5, "q90": 1.8}
    for layer, expected in enumerate([layer0, layer1]):
        for name, value in expected.items():
            assert stats[f"Train/layer_wise_gradient_{name}_layer_{layer}"] == pytest.approx(value), (layer, name)
    assert not any(key.endswith("_layer_2") for key in stats)
    # global: all seven values (6, 0, 3, 0, 2, 0, 1), sorted (0, 0, 0, 1, 2, 3, 6)
    assert stats["Train/gradient_norm"] == pytest.approx(math.sqrt(50))
    assert stats["Train/gradient_max"] == pytest.approx(6)
    assert stats["Train/gradient_mean"] == pytest.approx(12 / 7)
    assert stats["Train/gradient_median"] == pytest.approx(1)
