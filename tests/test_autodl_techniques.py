"""Each training technique does what it says: every test here fails when its technique is a no-op."""
import copy

import numpy as np
import pytest
import torch
from sklearn.model_selection import train_test_split
from torch.nn import functional as F

from autodl.space import default_config
from autodl.techniques import Lookahead
from autodl.trainer import batch_loss, finish, run_epoch, set_up, train_pipeline
from tests.autodl_fixtures import iris_frame

SMALL = {**default_config(), "mlp_layers": 2, "mlp_units": 16, "lr": 0.01, "batch_size": 25}


@pytest.fixture(scope="module")
def iris():
    X, y = iris_frame()
    X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=50, stratify=y, random_state=0)
    return X_train, y_train, X_val, y_val        # 100 training rows: 4 batches of 25


def params(model) -> list[torch.Tensor]:
    return [p.detach().clone() for p in model.parameters()]


def test_swa_predicts_with_the_average_of_the_weights_it_collected(iris):
    config = {**SMALL, "swa": "on"}
    run = set_up(config, *iris, 8, seed=0, record_gradients=False)
    collected = []
    for epoch in range(1, 9):
        run_epoch(run, epoch)
        if epoch >= run.swa.start:
            collected.append(params(run.model))
    assert run.swa.start == 6 and len(collected) == 3          # the last 25% of the epochs
    final = finish(run).pipeline.models[0]
    for got, *seen in zip(final.parameters(), *collected):
        assert torch.allclose(got, torch.stack(seen).mean(dim=0), atol=1e-6)
    assert not all(torch.allclose(a, b) for a, b in zip(final.parameters(), collected[-1]))  # not the last weights


def test_swa_recomputes_batch_norm_statistics_on_the_training_data(iris):
    X_train, y_train, X_val, y_val = iris
    config = {**SMALL, "swa": "on", "mlp_batch_norm": "on", "batch_size": 100}   # one batch: exact statistics
    run = set_up(config, X_train, y_train, X_val, y_val, 4, seed=0, record_gradients=False)
    for epoch in range(1, 5):
        run_epoch(run, epoch)
    untouched = copy.deepcopy(run.swa.averaged.module)
    final = finish(run).pipeline.models[0]
    first_bn = next(m for m in final.modules() if isinstance(m, torch.nn.BatchNorm1d))
    with torch.no_grad():   # what the averaged network's first layer computes on the training rows
        pre_bn = final.body.layers[0](final.embed(run.train.dense, run.train.indices))
    assert torch.allclose(first_bn.running_mean, pre_bn.mean(dim=0), atol=1e-5)
    assert torch.allclose(first_bn.running_var, pre_bn.var(dim=0), atol=1e-4)
    stale = next(m for m in untouched.modules() if isinstance(m, torch.nn.BatchNorm1d))
    assert not torch.allclose(stale.running_mean, first_bn.running_mean)


def test_lookahead_moves_slow_weights_alpha_of_the_way_every_k_steps():
    weight = torch.nn.Parameter(torch.zeros(3))
    lookahead = Lookahead([weight], alpha=0.25, steps=3)
    for target in (1.0, 2.0):                       # the fast weights after fast steps 1 and 2
        weight.data.fill_(target)
        lookahead.step()
        assert torch.equal(weight.data, torch.full((3,), target))   # in between: fast weights untouched
    weight.data.fill_(4.0)                          # fast step 3: slow = 0 + 0.25 * (4 - 0) = 1, fast = slow
    lookahead.step()
    assert torch.allclose(weight.data, torch.ones(3)) and torch.allclose(lookahead.slow[0], torch.ones(3))
    for _ in range(2):
        weight.data += 3.0
        lookahead.step()
    weight.data += 3.0                              # fast = 1 + 9 = 10 after steps 4..6: slow = 1 + 0.25 * 9
    lookahead.step()
    assert torch.allclose(weight.data, torch.full((3,), 3.25))


def test_the_trainer_applies_lookahead_with_the_configured_alpha_and_k(iris):
    # 100 rows, batches of 25: one epoch is exactly k = 4 fast steps, so after it the weights are
    # initial + alpha * (fast weights after 4 plain steps - initial)
    plain = set_up(SMALL, *iris, 1, seed=3, record_gradients=False)
    initial = params(plain.model)
    run_epoch(plain, 1)
    fast = params(plain.model)
    with_lookahead = set_up({**SMALL, "lookahead": "on", "la_alpha": 0.3, "la_steps": 4}, *iris, 1, seed=3,
                            record_gradients=False)
    assert all(torch.equal(a, b) for a, b in zip(params(with_lookahead.model), initial))
    run_epoch(with_lookahead, 1)
    for got, start, end in zip(with_lookahead.model.parameters(), initial, fast):
        assert torch.allclose(got, start + 0.3 * (end - start), atol=1e-6)


def test_mixup_loss_is_the_mixed_target_formula_on_a_fixed_batch(iris):
    run = set_up({**SMALL, "mixup": "on", "mixup_alpha": 0.4}, *iris, 1, seed=5, record_gradients=False)
    run.model.train()
    index = torch.arange(25)
    lam = float(copy.deepcopy(run.np_rng).beta(0.4, 0.4))
    generator = torch.Generator().manual_seed(0)
    generator.set_state(run.generator.get_state())
    partner = torch.randperm(25, generator=generator)
    loss, ce, logits = batch_loss(run, index)
    with torch.no_grad():
        hidden = run.model.embed(run.train.dense[index], run.train.indices[index])
        y = run.y_train[index]
        mixed_logits = run.model.body(lam * hidden + (1 - lam) * hidden[partner])
        expected = lam * F.cross_entropy(mixed_logits, y) + (1 - lam) * F.cross_entropy(mixed_logits, y[partner])
        plain = F.cross_entropy(run.model.body(hidden), y)
    assert 0 < lam < 1
    assert torch.allclose(logits, mixed_logits, atol=1e-6)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert abs(loss.item() - plain.item()) > 1e-3
    assert ce.item() == pytest.approx(F.cross_entropy(mixed_logits, y).item(), rel=1e-6)


def test_snapshot_ensemble_keeps_one_distinct_model_per_cycle_taken_at_its_end(iris):
    run = set_up({**SMALL, "snapshot": "on"}, *iris, 6, seed=0, record_gradients=False)
    at_epoch = {}
    for epoch in range(1, 7):
        run_epoch(run, epoch)
        at_epoch[epoch] = params(run.model)
    lrs = [record["Train/lr"] for record in run.curve]
    assert lrs[0] == lrs[2] == lrs[4] == pytest.approx(SMALL["lr"])   # three cycles of two epochs
    models = finish(run).pipeline.models
    assert len(models) == 3
    for model, end in zip(models, (2, 4, 6)):
        assert all(torch.equal(a, b) for a, b in zip(params(model), at_epoch[end]))
    for i, j in ((0, 1), (0, 2), (1, 2)):      # k distinct snapshots
        assert not all(torch.equal(a, b) for a, b in zip(params(models[i]), params(models[j]))), (i, j)


def test_train_pipeline_is_the_four_steps(iris):
    config = {**SMALL, "swa": "on", "mixup": "on", "mixup_alpha": 0.2}
    whole = train_pipeline(config, *iris, 4, seed=1, record_gradients=False)
    run = set_up(config, *iris, 4, seed=1, record_gradients=False)
    for epoch in range(1, 5):
        run_epoch(run, epoch)
    parts = finish(run)
    assert np.array_equal(whole.val_proba, parts.val_proba)
    assert [r["Train/loss"] for r in whole.curve] == [r["Train/loss"] for r in parts.curve]
