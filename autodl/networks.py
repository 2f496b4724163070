"""Shaped MLPs and shaped ResNets (with shake-shake / shake-drop) for tabular data.

Layer widths and dropout rates follow a named shape (Auto-PyTorch's "funnel", "diamond",
...): ``max_units`` is the widest layer, and the dropout of layer i is the same shape scaled
to ``max_dropout``. Categorical columns can enter through learned embeddings; ``embed``
and ``body`` are separate so that mixup can mix the dense embedded inputs.
"""
from __future__ import annotations

import math

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


def shaped_widths(shape: str, n_layers: int, max_units: int, out_units: int) -> list[int]:
    """Widths of ``n_layers`` hidden layers following ``shape``; the widest is ``max_units``."""
    n, top, low = n_layers, float(max_units), float(max(out_units, 1))
    if n <= 0:
        return []
    def line(a, b, k):  # k points from a to b (inclusive ends; just b when k == 1)
        return [b] if k == 1 else [a + (b - a) * i / (k - 1) for i in range(k)]
    if shape == "brick":
        widths = [top] * n
    elif shape == "funnel":
        widths = [top - (top - low) * i / n for i in range(n)]
    elif shape == "long_funnel":
        head = math.ceil(n / 2)
        widths = [top] * head + [top - (top - low) * (i + 1) / (n - head + 1) for i in range(n - head)]
    elif shape == "triangle":  # grows to the widest layer at the end
        widths = line(max(low, top / 2 ** (n - 1)), top, n)
    elif shape == "diamond":  # grows then shrinks
        up = math.ceil(n / 2)
        widths = line(top / 2, top, up) + [top - (top - low) * (i + 1) / (n - up + 1) for i in range(n - up)]
    elif shape == "hexagon":  # grows, plateau, shrinks
        third = max(1, n // 3)
        middle = n - 2 * third if n >= 3 else n
        if n < 3:
            widths = [top] * n
        else:
            widths = line(top / 2, top, third + 1)[:-1] + [top] * middle + line(top, low, third + 1)[1:]
    elif shape == "stairs":  # pairs of equal widths stepping down
        steps = math.ceil(n / 2)
        levels = [top - (top - low) * i / steps for i in range(steps)]
        widths = [levels[i // 2] for i in range(n)]
    else:
        raise ValueError(f"unknown shape {shape!r}")
    return [max(1, int(round(w))) for w in widths]


def shaped_dropout(shape: str, n_layers: int, max_dropout: float) -> list[float]:
    """Dropout per layer with the same shape as the widths, peak ``max_dropout``."""
    if max_dropout <= 0 or n_layers <= 0:
        return [0.0] * max(n_layers, 0)
    unit = shaped_widths(shape, n_layers, 1000, 0)
    return [min(0.99, max_dropout * w / 1000) for w in unit]


class Embeddings(nn.Module):
    """Concatenates the dense input with one learned embedding per categorical column."""

    def __init__(self, cardinalities: list[int], max_dim: int):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(card, max(1, min(max_dim, card))) for card in cardinalities)
        self.out_extra = sum(t.embedding_dim for t in self.tables)

    def forward(self, dense, indices):
        if not len(self.tables):
            return dense
        parts = [dense] + [table(indices[:, j]) for j, table in enumerate(self.tables)]
        return torch.cat(parts, dim=1)


class ShapedMLP(nn.Module):
    def __init__(self, in_dim, n_classes, n_layers, max_units, shape, activation="relu",
                 max_dropout=0.0, batch_norm=False):
        super().__init__()
        layers, width = [], in_dim
        for units, p in zip(shaped_widths(shape, n_layers, max_units, n_classes),
                            shaped_dropout(shape, n_layers, max_dropout)):
            layers.append(nn.Linear(width, units))
            if batch_norm:
                layers.append(nn.BatchNorm1d(units))
            layers.append(ACTIVATIONS[activation]())
            if p > 0:
                layers.append(nn.Dropout(p))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x)


class _Shake(torch.autograd.Function):
    """Mixes two branches with a random alpha forward and an independent random beta backward."""

    @staticmethod
    def forward(ctx, a, b):
        alpha = torch.rand(a.shape[0], 1, device=a.device, dtype=a.dtype)
        return alpha * a + (1 - alpha) * b

    @staticmethod
    def backward(ctx, grad):
        beta = torch.rand(grad.shape[0], 1, device=grad.device, dtype=grad.dtype)
        return beta * grad, (1 - beta) * grad


class _ShakeDrop(torch.autograd.Function):
    """Yamada et al. 2019: with probability p the branch is scaled by a random alpha in [-1, 1]
    forward and beta in [0, 1] backward; otherwise it passes unchanged."""

    @staticmethod
    def forward(ctx, x, p):
        keep = torch.bernoulli(torch.full((x.shape[0], 1), 1 - p, device=x.device, dtype=x.dtype))
        alpha = torch.empty_like(keep).uniform_(-1, 1)
        ctx.save_for_backward(keep)
        return x * (keep + alpha - keep * alpha)

    @staticmethod
    def backward(ctx, grad):
        (keep,) = ctx.saved_tensors
        beta = torch.rand_like(keep)
        return grad * (keep + beta - keep * beta), None


class ResBlock(nn.Module):
    """Pre-activation residual block: (BN, act, Linear, BN, act, dropout, Linear), one or two branches."""

    def __init__(self, in_dim, out_dim, activation, dropout, shake, shake_drop_p):
        super().__init__()
        def branch():
            return nn.Sequential(nn.BatchNorm1d(in_dim), ACTIVATIONS[activation](), nn.Linear(in_dim, out_dim),
                                 nn.BatchNorm1d(out_dim), ACTIVATIONS[activation](), nn.Dropout(dropout),
                                 nn.Linear(out_dim, out_dim))
        self.branch_a = branch()
        self.branch_b = branch() if shake == "shake_shake" else None
        self.shake = shake
        self.shake_drop_p = shake_drop_p
        self.skip = nn.Linear(in_dim, out_dim) if in_dim != out_dim else nn.Identity()

    def forward(self, x):
        out = self.branch_a(x)
        if self.shake == "shake_shake":
            other = self.branch_b(x)
            out = _Shake.apply(out, other) if self.training else 0.5 * (out + other)
        elif self.shake == "shake_drop":
            # eval: the expected scale of the branch, E[keep + alpha - keep*alpha] = 1 - p
            out = _ShakeDrop.apply(out, self.shake_drop_p) if self.training else (1 - self.shake_drop_p) * out
        return self.skip(x) + out


class ShapedResNet(nn.Module):
    def __init__(self, in_dim, n_classes, n_groups, blocks_per_group, max_units, shape, activation="relu",
                 max_dropout=0.0, shake="none", max_shake_drop=0.5):
        super().__init__()
        widths = shaped_widths(shape, n_groups, max_units, n_classes)
        drops = shaped_dropout(shape, n_groups, max_dropout)
        n_blocks = n_groups * blocks_per_group
        blocks, width, k = [nn.Linear(in_dim, widths[0])], widths[0], 0
        for units, p in zip(widths, drops):
            for _ in range(blocks_per_group):
                k += 1  # shake-drop probability grows linearly with depth (the paper's linear decay rule)
                blocks.append(ResBlock(width, units, activation, p, shake, max_shake_drop * k / n_blocks))
                width = units
        blocks += [nn.BatchNorm1d(width), ACTIVATIONS[activation](), nn.Linear(width, n_classes)]
        self.layers = nn.Sequential(*blocks)

    def forward(self, x):
        return self.layers(x)


class TabularNet(nn.Module):
    """Embeddings (optional) followed by the body; ``forward(dense, indices)`` gives logits."""

    def __init__(self, embed: Embeddings, body: nn.Module):
        super().__init__()
        self.embed = embed
        self.body = body

    def forward(self, dense, indices):
        return self.body(self.embed(dense, indices))


def build_network(config: dict, in_dim: int, n_classes: int, embedding_cardinalities: list[int]) -> TabularNet:
    embed = Embeddings(embedding_cardinalities, int(config.get("emb_max_dim", 8)))
    width = in_dim + embed.out_extra
    if width == 0:
        raise ValueError("the data has no usable features after preprocessing")
    dropout = float(config.get("max_dropout", 0.0)) if config.get("dropout", "off") == "on" else 0.0
    activation = config.get("activation", "relu")
    if config.get("network", "mlp") == "mlp":
        body = ShapedMLP(width, n_classes, int(config.get("mlp_layers", 3)), int(config.get("mlp_units", 256)),
                         config.get("mlp_shape", "funnel"), activation, dropout,
                         config.get("mlp_batch_norm", "off") == "on")
    else:
        body = ShapedResNet(width, n_classes, int(config.get("res_groups", 2)), int(config.get("res_blocks", 2)),
                            int(config.get("res_units", 128)), config.get("res_shape", "funnel"), activation,
                            dropout, config.get("res_shake", "none"), float(config.get("res_max_shake_drop", 0.5)))
    return TabularNet(embed, body)
