"""Caruana ensemble selection on constructed predictions whose right answer is known."""
import json

import numpy as np
import pytest

from autodl.ensemble import Candidate, EnsembleBuilder, ensemble_selection, select_pool


def onehot(pred, k, confidence=0.8):
    proba = np.full((len(pred), k), (1 - confidence) / (k - 1))
    proba[np.arange(len(pred)), pred] = confidence
    return proba


def test_complementary_models_are_combined_into_a_perfect_ensemble():
    labels = np.repeat([0, 1, 2], 30)
    models = []
    for third in range(3):  # each model is wrong (predicts the next class) on its own third of the rows
        pred = labels.copy()
        rows = slice(30 * third, 30 * (third + 1))
        pred[rows] = (pred[rows] + 1) % 3
        models.append(onehot(pred, 3))
    weights = ensemble_selection(models, labels, size=50)
    assert all(w > 0 for w in weights)
    proba = np.tensordot(weights, np.stack(models), axes=1)
    assert (proba.argmax(axis=1) == labels).mean() == 1.0
    assert max((m.argmax(axis=1) == labels).mean() for m in models) == pytest.approx(2 / 3)


def test_the_objective_decides_between_fewer_errors_and_better_calibrated_probabilities():
    labels = np.repeat([0, 1], 50)
    overconfident = onehot(labels, 2, confidence=1.0)       # right on 96 rows, certain of all 100
    overconfident[:4] = overconfident[:4, ::-1]
    cautious = onehot(labels, 2, confidence=0.7)            # right on 94, never certain
    cautious[:6] = cautious[:6, ::-1]
    by_error = ensemble_selection([overconfident, cautious], labels, size=1)
    by_cross_entropy = ensemble_selection([overconfident, cautious], labels, size=1, objective="cross_entropy")
    assert list(by_error) == [1.0, 0.0] and list(by_cross_entropy) == [0.0, 1.0]
    with pytest.raises(ValueError, match="objective must be one of error, cross_entropy"):
        ensemble_selection([cautious], labels, objective="log_loss")


def test_a_perfect_model_takes_all_the_weight_and_weights_are_counts_over_size():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)
    noisy = [onehot(np.where(rng.random(200) < 0.3, 1 - labels, labels), 2) for _ in range(4)]
    weights = ensemble_selection([*noisy, onehot(labels, 2)], labels, size=50)
    assert weights[-1] == 1.0 and weights.sum() == pytest.approx(1.0)
    mixed = ensemble_selection(noisy, labels, size=50)
    assert np.allclose(mixed * 50, np.round(mixed * 50)) and mixed.sum() == pytest.approx(1.0)


def test_two_imperfect_models_with_complementary_confidence_are_mixed():
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    strong = onehot(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 2, 0.9)
    strong[7] = [0.55, 0.45]                                   # one error, barely
    weak = onehot(np.array([0, 0, 0, 0, 1, 1, 1, 1]), 2, 0.95)
    weak[1:3] = [0.45, 0.55]                                   # two errors, barely; confident where strong fails
    weights = ensemble_selection([weak, strong], labels, size=10)
    assert weights.min() > 0 and np.allclose(weights * 10, np.round(weights * 10))
    proba = weights[0] * weak + weights[1] * strong
    assert (proba.argmax(axis=1) == labels).all()


def test_a_three_member_ensemble_reaches_the_majority_vote():
    labels = np.repeat([0, 1, 2], 30)
    models = []
    for third in range(3):
        pred = labels.copy()
        pred[30 * third:30 * (third + 1)] = (third + 1) % 3
        models.append(onehot(pred, 3))
    weights = ensemble_selection(models, labels, size=3)
    assert np.allclose(weights, 1 / 3)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="at least one candidate"):
        ensemble_selection([], np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match="size"):
        ensemble_selection([np.eye(2)], np.array([0, 1]), size=0)


def test_builder_uses_only_the_nbest_candidates_and_logs_each_rebuild(tmp_path):
    labels = np.repeat([0, 1], 20)
    rows = np.arange(10, 40)   # rows 0..9 were not validation rows: NaN there, ignored
    for i in range(5):
        pred = labels.copy()
        pred[10:10 + 2 * i + 2] = 1 - pred[10:10 + 2 * i + 2]      # candidate i makes 2i+2 errors
        proba = onehot(pred, 2)
        proba[:10] = np.nan
        np.save(tmp_path / f"c{i}.npy", proba)
        (tmp_path / f"c{i}.pkl").write_bytes(b"model")
    builder = EnsembleBuilder(tmp_path, labels, rows, size=5, nbest=2)
    for i in reversed(range(5)):
        builder.add(Candidate(f"c{i}", "network", "mlp", (2 * i + 2) / 30, 0.5, 12.5, str(tmp_path / f"c{i}.npy"),
                              str(tmp_path / f"c{i}.pkl")))
    assert [c.tag for c in builder.pool()] == ["c0", "c1"]
    assert {m.tag for m in builder.members} <= {"c0", "c1"}
    lines = (tmp_path / "ensemble_trajectory.jsonl").read_text().splitlines()
    assert len(lines) == 5
    last = json.loads(lines[-1])
    assert last["val_accuracy"] == pytest.approx(builder.val_accuracy) == pytest.approx(28 / 30)
    assert json.loads((tmp_path / "ensemble.json").read_text())["members"][0]["tag"] == "c0"
    # a candidate whose model was pruned from disk cannot join any more
    (tmp_path / "c0.pkl").unlink()
    assert [c.tag for c in builder.pool()] == ["c1", "c2"]


def test_traditional_learners_stay_in_the_pool_when_networks_fill_the_nbest_places(tmp_path):
    labels = np.repeat([0, 1], 15)
    rows = np.arange(30)
    candidates = []
    for i, kind in enumerate(["network", "network", "traditional", "network", "traditional"]):
        pred = labels.copy()
        pred[:i + 1] = 1 - pred[:i + 1]                          # candidate i makes i + 1 errors
        np.save(tmp_path / f"c{i}.npy", onehot(pred, 2))
        (tmp_path / f"c{i}.pkl").write_bytes(b"model")
        candidates.append(Candidate(f"c{i}", kind, kind, (i + 1) / 30, 0.5, 12.5 if kind == "network" else 0.0,
                                    str(tmp_path / f"c{i}.npy"), str(tmp_path / f"c{i}.pkl")))
    builder = EnsembleBuilder(tmp_path, labels, rows, size=5, nbest=2)
    for candidate in reversed(candidates):
        builder.add(candidate)
    # the two best (networks), then the learners pushed out of the nbest, best first; the third network is not
    assert [c.tag for c in builder.pool()] == ["c0", "c1", "c2", "c4"]
    assert [c.tag for c in select_pool(candidates[::-1], nbest=4)] == ["c0", "c1", "c2", "c3", "c4"]
