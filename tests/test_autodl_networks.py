"""Shaped MLPs and ResNets: widths, dropout shapes, shake-shake and shake-drop."""
import pytest
import torch

from autodl.networks import ShapedMLP, ShapedResNet, build_network, shaped_dropout, shaped_widths
from autodl.space import SHAPES


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n_layers", [1, 2, 5, 6])
def test_widths_peak_at_max_units(shape, n_layers):
    widths = shaped_widths(shape, n_layers, 256, 3)
    assert len(widths) == n_layers
    assert max(widths) == 256
    assert min(widths) >= 1


def test_shapes_have_their_profile():
    assert shaped_widths("brick", 4, 100, 2) == [100] * 4
    funnel = shaped_widths("funnel", 4, 100, 4)
    assert funnel == sorted(funnel, reverse=True) and funnel[0] == 100 and funnel[-1] > 4
    diamond = shaped_widths("diamond", 5, 100, 2)
    assert diamond.index(100) not in (0, 4)
    assert shaped_widths("triangle", 3, 100, 2)[-1] == 100


def test_dropout_follows_the_shape_up_to_max_dropout():
    assert shaped_dropout("funnel", 3, 0.6)[0] == pytest.approx(0.6)
    assert max(shaped_dropout("diamond", 5, 0.3)) == pytest.approx(0.3)
    assert shaped_dropout("funnel", 3, 0.0) == [0.0, 0.0, 0.0]


def test_mlp_layers_and_batch_norm():
    net = ShapedMLP(10, 3, 3, 64, "funnel", "relu", 0.5, batch_norm=True)
    linears = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    assert [m.out_features for m in linears][0] == 64 and linears[-1].out_features == 3
    assert any(isinstance(m, torch.nn.BatchNorm1d) for m in net.modules())
    assert net(torch.randn(8, 10)).shape == (8, 3)


@pytest.mark.parametrize("shake", ["none", "shake_shake", "shake_drop"])
def test_resnet_trains_and_is_deterministic_in_eval(shake):
    torch.manual_seed(0)
    net = ShapedResNet(6, 2, 2, 2, 32, "funnel", "relu", 0.2, shake, 0.5)
    x = torch.randn(16, 6)
    out = net(x)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.eval()
    assert torch.equal(net(x), net(x))


def test_shake_drop_eval_scales_branch_by_keep_probability():
    net = ShapedResNet(4, 2, 1, 1, 8, "brick", "relu", 0.0, "shake_drop", 1.0)
    block = net.layers[1]
    assert block.shake_drop_p == pytest.approx(1.0)
    block.eval()
    x = torch.randn(5, 8)
    assert torch.allclose(block(x), block.skip(x))  # p = 1: the branch contributes nothing on average


def test_embeddings_enter_the_network():
    config = {"network": "mlp", "mlp_layers": 2, "mlp_units": 32, "emb_max_dim": 4}
    net = build_network(config, in_dim=3, n_classes=2, embedding_cardinalities=[5, 2])
    dense, indices = torch.randn(7, 3), torch.tensor([[0, 1]] * 7)
    assert net(dense, indices).shape == (7, 2)
    assert net.embed.out_extra == 4 + 2
