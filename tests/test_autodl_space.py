"""The search space: conditions, stable names, BOHB compatibility."""
import pytest
from ConfigSpace import OrdinalHyperparameter

from autodl.space import SPACE_VERSION, build_space, complete_config, default_config

# Persisted in run directories and portfolios: changing these needs a SPACE_VERSION bump.
NAMES_V1 = {
    "imputation", "cat_encoding", "emb_max_dim", "scaling", "svd", "svd_dim", "network", "activation", "dropout",
    "max_dropout", "mlp_layers", "mlp_units", "mlp_shape", "mlp_batch_norm", "res_groups", "res_blocks",
    "res_units", "res_shape", "res_shake", "res_max_shake_drop", "optimizer", "lr", "weight_decay", "momentum",
    "batch_size", "cosine", "mixup", "mixup_alpha", "swa", "snapshot", "lookahead", "la_alpha", "la_steps",
}


def test_names_are_stable_for_this_version():
    assert SPACE_VERSION == 1
    assert set(build_space().keys()) == NAMES_V1


def test_no_ordinal_hyperparameters_because_bohb_refuses_them():
    assert not any(isinstance(hp, OrdinalHyperparameter) for hp in build_space().values())


def test_paper_ranges():
    cs = build_space()
    assert (cs["mlp_units"].lower, cs["mlp_units"].upper, cs["mlp_units"].log) == (64, 1024, True)
    assert (cs["mlp_layers"].lower, cs["mlp_layers"].upper) == (1, 6)
    assert (cs["res_units"].lower, cs["res_units"].upper) == (32, 512)
    assert (cs["res_groups"].upper, cs["res_blocks"].upper) == (5, 3)
    assert (cs["batch_size"].lower, cs["batch_size"].upper, cs["batch_size"].log) == (16, 512, True)
    assert (cs["lr"].lower, cs["lr"].upper) == pytest.approx((1e-4, 1e-1))


def test_conditions_only_sample_meaningful_combinations():
    cs = build_space(seed=3)
    for config in cs.sample_configuration(300):
        values = dict(config)
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        assert ("mlp_units" in values) == (values["network"] == "mlp")
        assert ("res_shake" in values) == (values["network"] == "resnet")
        assert ("res_max_shake_drop" in values) == (values.get("res_shake") == "shake_drop")
        assert ("snapshot" in values) == (values["swa"] == "off")
        assert ("emb_max_dim" in values) == (values["cat_encoding"] == "embedding")
        assert ("la_steps" in values) == (values["lookahead"] == "on")


def test_complete_config_rejects_unknown_names():
    with pytest.raises(ValueError, match="unknown hyperparameters"):
        complete_config({"learning_rate": 0.1})
    assert complete_config(default_config()) == default_config()
