"""Shaped MLPs and ResNets: widths, dropout shapes, shake-shake and shake-drop."""
import pytest
import torch

from autodl.networks import ResBlock, ShapedMLP, ShapedResNet, _Shake, build_network, shaped_dropout, shaped_widths
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


def _row_scale(out: torch.Tensor, base: torch.Tensor, direction: torch.Tensor) -> torch.Tensor:
    """Per row, the s with out = base + s * direction (checking it is one number per row)."""
    scale = ((out - base) * direction).sum(dim=1) / (direction * direction).sum(dim=1)   # least squares per row
    assert torch.allclose(out, base + scale[:, None] * direction, atol=1e-5)
    return scale


def test_shake_shake_mixes_its_branches_randomly_in_training_and_by_their_mean_in_evaluation():
    torch.manual_seed(0)
    block = ResBlock(8, 8, "relu", 0.0, "shake_shake", 0.0)
    x = torch.randn(4000, 8)
    with torch.no_grad():
        block.train()   # batch-norm statistics of the batch: the branches themselves are deterministic
        a, b, skip = block.branch_a(x), block.branch_b(x), block.skip(x)
        alphas = [_row_scale(block(x), skip + b, a - b) for _ in range(2)]
        block.eval()
        a_eval, b_eval = block.branch_a(x), block.branch_b(x)
        assert torch.allclose(block(x), block.skip(x) + 0.5 * (a_eval + b_eval), atol=1e-6)  # E[alpha] = 1/2
    for alpha in alphas:
        assert alpha.min() >= 0 and alpha.max() <= 1 and alpha.std() > 0.2    # one alpha ~ U(0, 1) per row
        assert abs(alpha.mean().item() - 0.5) < 0.03
    assert not torch.allclose(alphas[0], alphas[1])                             # a new draw every pass


def test_shake_shake_backward_uses_its_own_random_weights():
    a = torch.randn(500, 4, requires_grad=True)
    b = torch.randn(500, 4, requires_grad=True)
    out = _Shake.apply(a, b)
    out.sum().backward()
    alpha = _row_scale(out.detach(), b.detach(), (a - b).detach())
    beta = a.grad[:, 0]
    assert torch.allclose(a.grad + b.grad, torch.ones_like(a.grad))
    assert torch.allclose(a.grad, beta[:, None].expand_as(a.grad))            # one beta per row ...
    assert beta.min() >= 0 and beta.max() <= 1 and beta.std() > 0.2            # ... drawn from U(0, 1) ...
    assert abs(torch.corrcoef(torch.stack([alpha, beta]))[0, 1].item()) < 0.2  # ... independently of alpha


def test_shake_drop_scales_the_branch_randomly_in_training_and_by_its_expectation_in_evaluation():
    torch.manual_seed(0)
    p = 0.5
    block = ResBlock(8, 8, "relu", 0.0, "shake_drop", p)
    x = torch.randn(4000, 8)
    with torch.no_grad():
        block.train()
        branch, skip = block.branch_a(x), block.skip(x)
        scale = _row_scale(block(x), skip, branch)
        block.eval()
        assert torch.allclose(block(x), block.skip(x) + (1 - p) * block.branch_a(x), atol=1e-6)
    kept = torch.isclose(scale, torch.ones_like(scale))
    assert 0.4 < kept.float().mean() < 0.6                                      # kept with probability 1 - p
    dropped = scale[~kept]
    assert dropped.min() >= -1 and dropped.max() <= 1 and dropped.std() > 0.4  # else alpha ~ U(-1, 1)
    assert abs(scale.mean().item() - (1 - p)) < 0.05                            # E = (1 - p) + p * 0
