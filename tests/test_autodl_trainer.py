"""The tabular trainer: learning curves in LCBench's vocabulary, techniques, determinism."""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from autodl.metrics import classification_metrics
from autodl.space import default_config
from autodl.trainer import lr_schedule, train_pipeline
from tests.autodl_fixtures import iris_frame, mixed_frame

LCBENCH_TAGS = {"epoch", "time", "Train/loss", "Train/lr", "Train/train_accuracy", "Train/train_balanced_accuracy",
                "Train/train_cross_entropy", "Train/val_accuracy", "Train/val_balanced_accuracy",
                "Train/val_cross_entropy", "Train/test_result", "Train/test_balanced_accuracy",
                "Train/test_cross_entropy"}
GRADIENT_TAGS = {f"Train/gradient_{s}" for s in ["max", "mean", "median", "norm", "q10", "q25", "q75", "q90", "std"]}


@pytest.fixture(scope="module")
def iris_splits():
    X, y = iris_frame()
    X_train, X_rest, y_train, y_rest = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    X_val, X_test, y_val, y_test = train_test_split(X_rest, y_rest, test_size=0.5, stratify=y_rest, random_state=0)
    return X_train, y_train, X_val, y_val, X_test, y_test


def test_curve_has_lcbench_tags_and_the_default_pipeline_learns(iris_splits):
    X_train, y_train, X_val, y_val, X_test, y_test = iris_splits
    result = train_pipeline(default_config(), X_train, y_train, X_val, y_val, 30, X_test=X_test, y_test=y_test)
    assert [r["epoch"] for r in result.curve] == list(range(1, 31))
    first = result.curve[0]
    assert LCBENCH_TAGS | GRADIENT_TAGS <= set(first)
    layers = {k.rsplit("_layer_", 1)[1] for k in first if k.startswith("Train/layer_wise_gradient_max_layer_")}
    assert layers == {"0", "1", "2", "3"}  # 3 hidden layers + output
    times = [r["time"] for r in result.curve]
    assert times == sorted(times)
    assert result.curve[-1]["Train/lr"] < result.curve[0]["Train/lr"]  # cosine annealing
    assert result.final["final_val_accuracy"] >= 0.85
    assert result.val_proba.shape == (len(y_val), 3)
    assert np.allclose(result.predict_proba(X_test).sum(axis=1), 1)
    acc, _, _ = classification_metrics(result.predict_proba(X_test), np.searchsorted(result.pipeline.classes, y_test))
    assert acc == pytest.approx(result.final["final_test_accuracy"])


def test_same_seed_same_curve_and_other_seed_differs(iris_splits):
    X_train, y_train, X_val, y_val, _, _ = iris_splits
    config = dict(default_config(), mixup="on", mixup_alpha=0.4, dropout="on", max_dropout=0.3)
    runs = [train_pipeline(config, X_train, y_train, X_val, y_val, 3, seed=s, record_gradients=False)
            for s in (1, 1, 2)]
    assert np.array_equal(runs[0].val_proba, runs[1].val_proba)
    assert not np.array_equal(runs[0].val_proba, runs[2].val_proba)


@pytest.mark.parametrize("techniques", [
    {"swa": "on"},
    {"swa": "off", "snapshot": "on"},
    {"lookahead": "on", "la_alpha": 0.6, "la_steps": 3},
    {"optimizer": "sgd", "momentum": 0.9, "cosine": "off"},
    {"optimizer": "adamw", "mixup": "on", "mixup_alpha": 1.0},
    {"network": "resnet", "res_groups": 2, "res_blocks": 1, "res_units": 32, "res_shape": "brick",
     "res_shake": "shake_shake"},
    {"network": "resnet", "res_groups": 1, "res_blocks": 2, "res_units": 32, "res_shape": "funnel",
     "res_shake": "shake_drop", "res_max_shake_drop": 0.5, "dropout": "on", "max_dropout": 0.2},
    {"cat_encoding": "embedding", "emb_max_dim": 3, "svd": "on", "svd_dim": 4, "mlp_batch_norm": "on"},
])
def test_techniques_run_on_mixed_data(techniques):
    X, y = mixed_frame(n_rows=200)
    config = {k: v for k, v in default_config().items() if k not in ("mlp_layers", "mlp_units", "mlp_shape",
                                                                      "mlp_batch_norm")
              or techniques.get("network", "mlp") == "mlp"}
    config.update(techniques)
    result = train_pipeline(config, X.iloc[:140], y.iloc[:140], X.iloc[140:], y.iloc[140:], 6, record_gradients=False)
    assert len(result.curve) == 6
    assert np.isfinite(result.val_proba).all() and np.allclose(result.val_proba.sum(axis=1), 1)
    expected_models = 3 if techniques.get("snapshot") == "on" else 1
    assert len(result.pipeline.models) == expected_models


def test_snapshot_schedule_restarts_and_marks_cycle_ends():
    lrs, ends = lr_schedule({"lr": 0.1, "snapshot": "on"}, 9)
    assert ends == {3, 6, 9}
    assert lrs[0] == lrs[3] == lrs[6] == pytest.approx(0.1)
    assert lrs[2] < lrs[1] < lrs[0]


def test_early_stopping_stops_when_validation_stalls(iris_splits):
    X_train, y_train, X_val, y_val, _, _ = iris_splits
    config = dict(default_config(), lr=0.1, cosine="off")
    result = train_pipeline(config, X_train, y_train, X_val, y_val, 200, patience=3, record_gradients=False)
    assert 3 < result.epochs_run < 200


def test_unknown_validation_label_is_an_error(iris_splits):
    X_train, y_train, X_val, y_val, _, _ = iris_splits
    with pytest.raises(ValueError, match="not among the classes"):
        train_pipeline({}, X_train, y_train, X_val, y_val, 1, classes=[0, 1])
