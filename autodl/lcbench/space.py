"""LCBench's 7-hyperparameter search space (Zimmer, Lindauer, Hutter 2021) and its fixed settings.

Funnel-shaped MLPs trained with SGD and cosine annealing; the names and ranges are LCBench's,
so configurations written here read like LCBench's own.
"""
from __future__ import annotations

from ConfigSpace import ConfigurationSpace, Float, Integer

from autodl.importance.params import Param, params_from_configspace

HYPERPARAMETERS = ("batch_size", "learning_rate", "momentum", "weight_decay", "num_layers", "max_units", "max_dropout")

# The loss autodl's trainer minimises: plain (unweighted) cross-entropy. LCBench's own runs used
# class-weighted cross-entropy ("cross_entropy_weighted"); our records name what was really used.
LOSS = "cross_entropy"

# Entries LCBench stores in every configuration next to the sampled ones (with the values really used).
FIXED = {
    "imputation_strategy": "mean",
    "learning_rate_scheduler": "cosine_annealing",
    "loss": LOSS,
    "network": "shapedmlpnet",
    "normalization_strategy": "standardize",
    "optimizer": "sgd",
    "cosine_annealing_eta_min": 1e-08,
    "activation": "relu",
    "mlp_shape": "funnel",
}


def configspace(seed: int | None = None) -> ConfigurationSpace:
    return ConfigurationSpace(
        name="lcbench",
        seed=seed,
        space=[
            Integer("batch_size", (16, 512), log=True),
            Float("learning_rate", (1e-4, 1e-1), log=True),
            Float("momentum", (0.1, 0.99)),
            Float("weight_decay", (1e-5, 1e-1)),
            Integer("num_layers", (1, 5)),
            Integer("max_units", (64, 1024), log=True),
            Float("max_dropout", (0.0, 1.0)),
        ],
    )


def lcbench_params() -> list[Param]:
    by_name = {p.name: p for p in params_from_configspace(configspace())}
    return [by_name[name] for name in HYPERPARAMETERS]


def sample_configs(n: int, seed: int, epochs: int) -> list[dict]:
    """n random configurations in LCBench's form (sampled values plus the fixed entries)."""
    space = configspace(seed=seed)
    sampled = space.sample_configuration(n) if n > 1 else [space.sample_configuration()]
    configs = []
    for config in sampled[:n]:
        values = {name: _plain(config[name]) for name in HYPERPARAMETERS}
        configs.append({**values, **FIXED, "cosine_annealing_T_max": epochs})
    return configs


def _plain(value):
    """numpy scalars to Python ones, so configurations serialise to JSON unchanged."""
    return value.item() if hasattr(value, "item") else value


def to_trainer_config(config: dict) -> dict:
    """An LCBench configuration in autodl's own hyperparameter names (autodl.space), checked there.

    Funnel MLP with ReLU, no batch norm, SGD with momentum, cosine annealing over the run,
    mean imputation, standardisation, one-hot categoricals; no mixup, SWA, snapshots or lookahead.
    """
    from autodl.space import complete_config

    missing = [name for name in HYPERPARAMETERS if name not in config]
    if missing:
        raise ValueError(f"LCBench configuration lacks {missing}; it needs all of {list(HYPERPARAMETERS)}")
    if config.get("loss", LOSS) != LOSS:
        raise ValueError(f"LCBench configuration asks for loss {config['loss']!r}; autodl's trainer minimises "
                         f"{LOSS!r} only")
    return complete_config({
        "network": "mlp", "mlp_shape": "funnel", "activation": "relu", "mlp_batch_norm": "off",
        "mlp_layers": int(config["num_layers"]), "mlp_units": int(config["max_units"]),
        "dropout": "on", "max_dropout": float(config["max_dropout"]),
        "optimizer": "sgd", "lr": float(config["learning_rate"]), "momentum": float(config["momentum"]),
        "weight_decay": float(config["weight_decay"]), "batch_size": int(config["batch_size"]),
        "cosine": "on", "mixup": "off", "swa": "off", "snapshot": "off", "lookahead": "off",
        "imputation": "mean", "scaling": "standard", "cat_encoding": "one_hot", "svd": "off",
    })
