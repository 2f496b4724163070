"""The search space over the whole pipeline (Auto-PyTorch Tabular, Zimmer et al. 2021).

Hyperparameter names are short and stable: they are persisted in run directories and,
later, in portfolio files. Any rename, removal or range change bumps ``SPACE_VERSION``.

Switches are string categoricals ("on"/"off") rather than booleans so that every value
survives JSON and Pyro round trips unchanged. There are no ordinal hyperparameters:
hpbandster's BOHB refuses them.
"""
from __future__ import annotations

from ConfigSpace import (Categorical, ConfigurationSpace, EqualsCondition, Float, InCondition,
                         Integer)

SPACE_VERSION = 1

SHAPES = ["funnel", "long_funnel", "diamond", "hexagon", "brick", "triangle", "stairs"]


def build_space(seed: int | None = None) -> ConfigurationSpace:
    """The full-pipeline space: preprocessing, network, training."""
    cs = ConfigurationSpace(seed=seed)
    # --- preprocessing
    cs.add([
        Categorical("imputation", ["mean", "median", "most_frequent"], default="median"),
        Categorical("cat_encoding", ["one_hot", "embedding"], default="one_hot"),
        Integer("emb_max_dim", (2, 32), log=True, default=8),
        Categorical("scaling", ["standard", "minmax", "none"], default="standard"),
        Categorical("svd", ["off", "on"], default="off"),
        Integer("svd_dim", (10, 256), log=True, default=64),
    ])
    # --- network
    cs.add([
        Categorical("network", ["mlp", "resnet"], default="mlp"),
        Categorical("activation", ["relu", "tanh", "sigmoid"], default="relu"),
        Categorical("dropout", ["off", "on"], default="off"),
        Float("max_dropout", (0.0, 1.0), default=0.5),
        Integer("mlp_layers", (1, 6), default=3),
        Integer("mlp_units", (64, 1024), log=True, default=256),
        Categorical("mlp_shape", SHAPES, default="funnel"),
        Categorical("mlp_batch_norm", ["off", "on"], default="off"),
        Integer("res_groups", (1, 5), default=2),
        Integer("res_blocks", (1, 3), default=2),
        Integer("res_units", (32, 512), log=True, default=128),
        Categorical("res_shape", SHAPES, default="funnel"),
        Categorical("res_shake", ["none", "shake_shake", "shake_drop"], default="none"),
        Float("res_max_shake_drop", (0.0, 1.0), default=0.5),
    ])
    # --- training
    cs.add([
        Categorical("optimizer", ["adam", "adamw", "sgd"], default="adam"),
        Float("lr", (1e-4, 1e-1), log=True, default=1e-3),
        Float("weight_decay", (1e-5, 1e-1), log=True, default=1e-4),
        Float("momentum", (0.1, 0.999), default=0.9),
        Integer("batch_size", (16, 512), log=True, default=128),
        Categorical("cosine", ["on", "off"], default="on"),
        Categorical("mixup", ["off", "on"], default="off"),
        Float("mixup_alpha", (0.0, 1.0), default=0.2),
        Categorical("swa", ["off", "on"], default="off"),
        Categorical("snapshot", ["off", "on"], default="off"),
        Categorical("lookahead", ["off", "on"], default="off"),
        Float("la_alpha", (0.5, 0.8), default=0.5),
        Integer("la_steps", (3, 10), default=6),
    ])
    hp = cs
    cs.add([
        EqualsCondition(hp["emb_max_dim"], hp["cat_encoding"], "embedding"),
        EqualsCondition(hp["svd_dim"], hp["svd"], "on"),
        EqualsCondition(hp["max_dropout"], hp["dropout"], "on"),
        EqualsCondition(hp["mlp_layers"], hp["network"], "mlp"),
        EqualsCondition(hp["mlp_units"], hp["network"], "mlp"),
        EqualsCondition(hp["mlp_shape"], hp["network"], "mlp"),
        EqualsCondition(hp["mlp_batch_norm"], hp["network"], "mlp"),
        EqualsCondition(hp["res_groups"], hp["network"], "resnet"),
        EqualsCondition(hp["res_blocks"], hp["network"], "resnet"),
        EqualsCondition(hp["res_units"], hp["network"], "resnet"),
        EqualsCondition(hp["res_shape"], hp["network"], "resnet"),
        EqualsCondition(hp["res_shake"], hp["network"], "resnet"),
        EqualsCondition(hp["res_max_shake_drop"], hp["res_shake"], "shake_drop"),
        EqualsCondition(hp["momentum"], hp["optimizer"], "sgd"),
        EqualsCondition(hp["mixup_alpha"], hp["mixup"], "on"),
        # SWA and snapshot ensembles both replace the final weights: one at a time
        EqualsCondition(hp["snapshot"], hp["swa"], "off"),
        InCondition(hp["la_alpha"], hp["lookahead"], ["on"]),
        InCondition(hp["la_steps"], hp["lookahead"], ["on"]),
    ])
    return cs


def default_config() -> dict:
    """The space's default configuration as a plain dict."""
    return dict(build_space().get_default_configuration())


def complete_config(config: dict) -> dict:
    """Plain Python values, checked against the space (raises on unknown or invalid names)."""
    from ConfigSpace import Configuration

    cs = build_space()
    unknown = set(config) - set(cs.keys())
    if unknown:
        raise ValueError(f"unknown hyperparameters {sorted(unknown)}; valid names are in autodl.space "
                         f"(SPACE_VERSION={SPACE_VERSION})")
    checked = Configuration(cs, values=dict(config))
    return {k: (v.item() if hasattr(v, "item") else v) for k, v in dict(checked).items()}
