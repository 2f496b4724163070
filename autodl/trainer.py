"""The tabular trainer: one configuration, one budget in epochs, one learning curve.

Public API (stable; the LCBench sampler calls it)::

    result = train_pipeline(config, X_train, y_train, X_val, y_val, epochs,
                            X_test=None, y_test=None, device="cpu", threads=1, seed=0,
                            record_gradients=True)
    result.curve          # one dict per epoch, LCBench's tags (see autodl.curves)
    result.val_proba      # validation class probabilities of the final pipeline
    result.predict_proba(X_new)
    result.pipeline       # FittedPipeline: encoder, preprocessor, network(s), classes

Data lives as tensors on the device for the whole run and minibatches are index
permutations (no DataLoader). Train metrics in the curve come from the training forward
passes themselves (no extra pass over the training data). Early stopping (``patience``
epochs without a better validation cross-entropy) stops training; the weights at that
point are kept.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch._dynamo  # noqa: F401 - optimizers import it lazily (~2 s); paid once here, preloaded by workers
from torch import nn
from torch.nn import functional as F

from autodl.curves import classification_metrics, gradient_stats
from autodl.data import TabularData, TabularEncoder, as_frame, resolve_encoding
from autodl.networks import TabularNet, build_network
from autodl.preprocessing import Prepared, Preprocessor

EVAL_BATCH = 8192


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


@dataclass
class FittedPipeline:
    """Everything needed to predict: column encoding, preprocessing, network(s), classes."""

    config: dict
    classes: np.ndarray
    encoder: TabularEncoder
    preprocessor: Preprocessor
    models: list[TabularNet]       # several for snapshot ensembles; probabilities are averaged

    def prepare(self, X) -> Prepared:
        data = X if isinstance(X, TabularData) else self.encoder.transform(as_frame(X))
        return self.preprocessor.transform(data)

    def predict_proba(self, X, device: str = "cpu") -> np.ndarray:
        prepared = self.prepare(X)
        dev = resolve_device(device)
        dense = torch.from_numpy(prepared.dense).to(dev)
        indices = torch.from_numpy(prepared.indices).to(dev)
        return _predict(self.models, dense, indices, dev)


@dataclass
class TrainResult:
    curve: list[dict]
    val_proba: np.ndarray
    pipeline: FittedPipeline
    final: dict = field(default_factory=dict)    # LCBench's final_{train,val,test}_* where known
    epochs_run: int = 0

    def predict_proba(self, X) -> np.ndarray:
        return self.pipeline.predict_proba(X)


@torch.no_grad()
def _predict(models, dense, indices, device) -> np.ndarray:
    total = None
    for model in models:
        model.to(device).eval()
        parts = [torch.softmax(model(dense[i:i + EVAL_BATCH], indices[i:i + EVAL_BATCH]), dim=1)
                 for i in range(0, len(dense), EVAL_BATCH)]
        proba = torch.cat(parts) if parts else torch.zeros((0, 1), device=device)
        total = proba if total is None else total + proba
    return (total / len(models)).double().cpu().numpy()


class Lookahead:
    """Zhang et al. 2019: every ``steps`` fast steps, slow += alpha * (fast - slow); fast = slow."""

    def __init__(self, params, alpha: float, steps: int):
        self.params = [p for p in params if p.requires_grad]
        self.slow = [p.detach().clone() for p in self.params]
        self.alpha, self.steps, self.count = alpha, steps, 0

    @torch.no_grad()
    def step(self):
        self.count += 1
        if self.count % self.steps:
            return
        for p, s in zip(self.params, self.slow):
            s.add_(p - s, alpha=self.alpha)
            p.copy_(s)


def _optimizer(config: dict, model: nn.Module) -> torch.optim.Optimizer:
    lr, wd = float(config.get("lr", 1e-3)), float(config.get("weight_decay", 1e-4))
    name = config.get("optimizer", "adam")
    if name == "adam":
        return torch.optim.Adam(model.parameters(), lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    if name == "sgd":
        return torch.optim.SGD(model.parameters(), lr=lr, weight_decay=wd,
                               momentum=float(config.get("momentum", 0.9)), nesterov=True)
    raise ValueError(f"unknown optimizer {name!r}")


def lr_schedule(config: dict, epochs: int) -> tuple[list[float], set[int]]:
    """Learning rate per epoch (1-based list index 0 = epoch 1) and the snapshot epochs."""
    base = float(config.get("lr", 1e-3))
    if config.get("snapshot", "off") == "on":
        cycles = min(3, epochs)
        ends = [round(epochs * (i + 1) / cycles) for i in range(cycles)]
        lrs, start = [], 0
        for end in ends:  # cosine annealing restarted at each cycle (Huang et al. 2017)
            length = end - start
            lrs += [base * 0.5 * (1 + math.cos(math.pi * i / length)) for i in range(length)]
            start = end
        return lrs, set(ends)
    if config.get("cosine", "on") == "on":
        return [base * 0.5 * (1 + math.cos(math.pi * i / epochs)) for i in range(epochs)], set()
    return [base] * epochs, set()


@torch.no_grad()
def _recompute_batch_norm(model, dense, indices, batch_size):
    """BN statistics of averaged (SWA) weights must be re-estimated on the training data."""
    bns = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    momenta = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    model.train()
    for i in range(0, len(dense), batch_size):
        if len(dense[i:i + batch_size]) > 1:
            model(dense[i:i + batch_size], indices[i:i + batch_size])
    for bn, m in zip(bns, momenta):
        bn.momentum = m


def _labels(y, classes) -> np.ndarray:
    codes = pd.Index(classes).get_indexer(np.asarray(y))
    if (codes < 0).any():
        raise ValueError(f"labels {sorted(set(np.asarray(y)[codes < 0]))[:5]} are not among the classes {list(classes)}")
    return codes.astype(np.int64)


def _encode(X, encoder):
    return X if isinstance(X, TabularData) else encoder.transform(as_frame(X))


def train_pipeline(config: dict, X_train, y_train, X_val, y_val, epochs: int, *, X_test=None, y_test=None,
                   device: str = "cpu", threads: int = 1, seed: int = 0, record_gradients: bool = True,
                   patience: int | None = None, encoder: TabularEncoder | None = None,
                   classes=None) -> TrainResult:
    """Fit preprocessing + network for ``epochs`` epochs and record the learning curve.

    ``X_*`` are DataFrames/arrays, or ``TabularData`` already encoded by ``encoder`` (then
    ``encoder`` is required). ``classes`` fixes the label order of the probabilities
    (default: sorted labels of train and validation).
    """
    started = time.perf_counter()
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    torch.set_num_threads(max(1, int(threads)))
    torch.manual_seed(seed)
    np_rng = np.random.default_rng(seed)
    dev = resolve_device(device)
    encoder, classes = resolve_encoding(X_train, y_train, y_val, encoder, classes)
    train, val = _encode(X_train, encoder), _encode(X_val, encoder)
    test = _encode(X_test, encoder) if X_test is not None else None

    preprocessor = Preprocessor(config, encoder.cardinalities, seed).fit(train)
    def tensors(data):
        prepared = preprocessor.transform(data)
        return torch.from_numpy(prepared.dense).to(dev), torch.from_numpy(prepared.indices).to(dev)
    tr_dense, tr_idx = tensors(train)
    va_dense, va_idx = tensors(val)
    te_dense, te_idx = tensors(test) if test is not None else (None, None)
    y_tr = torch.from_numpy(_labels(y_train, classes)).to(dev)
    y_va = _labels(y_val, classes)
    y_te = _labels(y_test, classes) if test is not None and y_test is not None else None
    n_classes, n = len(classes), len(y_tr)

    model = build_network(config, tr_dense.shape[1], n_classes, preprocessor.embedding_cardinalities).to(dev)
    optimizer = _optimizer(config, model)
    lookahead = (Lookahead(model.parameters(), float(config.get("la_alpha", 0.5)), int(config.get("la_steps", 6)))
                 if config.get("lookahead", "off") == "on" else None)
    lrs, snapshot_epochs = lr_schedule(config, epochs)
    swa = torch.optim.swa_utils.AveragedModel(model) if config.get("swa", "off") == "on" else None
    swa_start = max(1, int(math.ceil(0.75 * epochs)))
    mixup_alpha = float(config.get("mixup_alpha", 0.0)) if config.get("mixup", "off") == "on" else 0.0
    batch_size = max(1, min(int(config.get("batch_size", 128)), n))
    generator = torch.Generator(device=dev).manual_seed(seed)

    curve, snapshots, best_val, since_best = [], [], float("inf"), 0
    for epoch in range(1, epochs + 1):
        for group in optimizer.param_groups:
            group["lr"] = lrs[epoch - 1]
        model.train()
        # per-batch bookkeeping stays on the device and is reduced once per epoch (no syncs, few kernels)
        losses, ces, sizes, labels, predictions = [], [], [], [], []
        order = torch.randperm(n, device=dev, generator=generator)
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            if len(index) < 2 and n > 1:
                continue  # a single-row batch breaks batch norm; its row comes back next epoch
            yb = y_tr[index]
            hidden = model.embed(tr_dense[index], tr_idx[index])
            if mixup_alpha > 0:
                lam = float(np_rng.beta(mixup_alpha, mixup_alpha))
                partner = torch.randperm(len(index), device=dev, generator=generator)
                logits = model.body(lam * hidden + (1 - lam) * hidden[partner])
                ce = F.cross_entropy(logits, yb)
                loss = lam * ce + (1 - lam) * F.cross_entropy(logits, yb[partner])
                ces.append(ce.detach())
            else:
                logits = model.body(hidden)
                loss = F.cross_entropy(logits, yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if lookahead is not None:
                lookahead.step()
            losses.append(loss.detach())
            sizes.append(len(index))
            labels.append(yb)
            predictions.append(logits.detach().argmax(dim=1))
        record = {"epoch": epoch}
        grads = gradient_stats(model) if record_gradients else {}
        if swa is not None and epoch >= swa_start:
            swa.update_parameters(model)
        if epoch in snapshot_epochs:
            snapshots.append(copy.deepcopy(model))

        seen = max(sum(sizes), 1)
        weights = torch.tensor(sizes, device=dev, dtype=torch.float64)
        loss_mean = float((torch.stack(losses).double() * weights).sum()) / seen if losses else float("nan")
        ce_mean = float((torch.stack(ces).double() * weights).sum()) / seen if ces else loss_mean
        cm = torch.zeros(n_classes * n_classes, device=dev, dtype=torch.int64)
        if labels:
            cm = torch.bincount(torch.cat(labels) * n_classes + torch.cat(predictions), minlength=n_classes ** 2)
        cm = cm.reshape(n_classes, n_classes).cpu().numpy()
        support = cm.sum(axis=1)
        recalls = np.diag(cm)[support > 0] / support[support > 0]
        record.update({"Train/loss": loss_mean, "Train/lr": lrs[epoch - 1],
                       "Train/train_accuracy": float(np.trace(cm)) / seen,
                       "Train/train_balanced_accuracy": float(recalls.mean()) if len(recalls) else float("nan"),
                       "Train/train_cross_entropy": ce_mean})
        val_acc, val_bal, val_ce = classification_metrics(_predict([model], va_dense, va_idx, dev), y_va)
        record.update({"Train/val_accuracy": val_acc, "Train/val_balanced_accuracy": val_bal,
                       "Train/val_cross_entropy": val_ce})
        if te_dense is not None and y_te is not None:
            acc, bal, ce = classification_metrics(_predict([model], te_dense, te_idx, dev), y_te)
            record.update({"Train/test_result": acc, "Train/test_balanced_accuracy": bal,
                           "Train/test_cross_entropy": ce})
        record.update(grads)
        record["time"] = time.perf_counter() - started
        curve.append(record)
        if val_ce < best_val - 1e-6:
            best_val, since_best = val_ce, 0
        else:
            since_best += 1
        if patience is not None and since_best >= patience:
            break

    if snapshots:
        final_models = snapshots
    elif swa is not None and int(swa.n_averaged) > 0:
        final_models = [swa.module]
        _recompute_batch_norm(swa.module, tr_dense, tr_idx, batch_size)
    else:
        final_models = [model]
    val_proba = _predict(final_models, va_dense, va_idx, dev)
    final = dict(zip(["final_val_accuracy", "final_val_balanced_accuracy", "final_val_cross_entropy"],
                     classification_metrics(val_proba, y_va)))
    if te_dense is not None and y_te is not None:
        final.update(zip(["final_test_accuracy", "final_test_balanced_accuracy", "final_test_cross_entropy"],
                         classification_metrics(_predict(final_models, te_dense, te_idx, dev), y_te)))
    if curve:
        final.update({"final_train_accuracy": curve[-1]["Train/train_accuracy"],
                      "final_train_balanced_accuracy": curve[-1]["Train/train_balanced_accuracy"],
                      "final_train_cross_entropy": curve[-1]["Train/train_cross_entropy"]})
    pipeline = FittedPipeline(dict(config), classes, encoder, preprocessor, [m.to("cpu").eval() for m in final_models])
    return TrainResult(curve, val_proba, pipeline, final, epochs_run=len(curve))
