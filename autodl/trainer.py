"""The tabular trainer: one configuration, one budget in epochs, one learning curve.

Public API (stable; the LCBench sampler calls it)::

    result = train_pipeline(config, X_train, y_train, X_val, y_val, epochs,
                            X_test=None, y_test=None, device="cpu", threads=1, seed=0,
                            record_gradients=True)
    result.curve          # one dict per epoch, LCBench's tags (see autodl.curves)
    result.val_proba      # validation class probabilities of the final pipeline
    result.predict_proba(X_new)
    result.pipeline       # FittedPipeline: encoder, preprocessor, network(s), classes

``train_pipeline`` is four steps, each usable alone: ``set_up`` (data as tensors, network,
optimizer and the techniques of ``autodl.techniques``), ``run_epoch`` (the minibatches of
one epoch: ``batch_loss`` then ``step``; then the techniques' end-of-epoch hooks and the
epoch's record, ``epoch_record``), and ``finish`` (the final network(s): snapshots, the
SWA average with re-estimated batch norm, or the trained network).

Data lives as tensors on the device for the whole run and minibatches are index
permutations (no DataLoader). Train metrics in the curve come from the training forward
passes themselves (no extra pass over the training data). Early stopping (``patience``
epochs without a better validation cross-entropy) stops training; the weights at that
point are kept.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch._dynamo  # noqa: F401 - optimizers import it lazily (~2 s); paid once here, preloaded by workers
from torch import nn
from torch.nn import functional as F

from autodl.curves import gradient_stats
from autodl.data import TabularData, TabularEncoder, as_frame, resolve_encoding
from autodl.metrics import classification_metrics
from autodl.networks import TabularNet, build_network
from autodl.preprocessing import Prepared, Preprocessor
from autodl.techniques import SWA, Lookahead, Snapshots, lr_schedule, mix, mixup_alpha, mixup_loss

__all__ = ["FittedPipeline", "TrainResult", "TrainingRun", "batch_loss", "epoch_record", "finish", "lr_schedule",
           "run_epoch", "set_up", "step", "train_pipeline"]

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


def _labels(y, classes) -> np.ndarray:
    codes = pd.Index(classes).get_indexer(np.asarray(y))
    if (codes < 0).any():
        raise ValueError(f"labels {sorted(set(np.asarray(y)[codes < 0]))[:5]} are not among the classes {list(classes)}")
    return codes.astype(np.int64)


def _encode(X, encoder):
    return X if isinstance(X, TabularData) else encoder.transform(as_frame(X))


@dataclass
class Split:
    """One split's rows as tensors on the device (labels as class codes)."""

    dense: torch.Tensor
    indices: torch.Tensor
    labels: np.ndarray | None


@dataclass
class TrainingRun:
    """One training run: what ``set_up`` made and what its epochs change."""

    config: dict
    classes: np.ndarray
    encoder: TabularEncoder
    preprocessor: Preprocessor
    model: TabularNet
    optimizer: torch.optim.Optimizer
    lrs: list[float]                       # per epoch
    batch_size: int
    train: Split
    y_train: torch.Tensor                  # the training labels on the device
    val: Split
    test: Split | None
    device: torch.device
    generator: torch.Generator             # minibatch order and mixup partners
    np_rng: np.random.Generator            # mixup's lambda
    record_gradients: bool
    started: float                         # time.perf_counter() at set_up
    lookahead: Lookahead | None = None
    mixup_alpha: float = 0.0
    swa: SWA | None = None
    snapshots: Snapshots | None = None
    curve: list[dict] = field(default_factory=list)

    @property
    def n_classes(self) -> int:
        return len(self.classes)


@dataclass
class EpochStats:
    """Per-minibatch bookkeeping of one epoch, kept on the device (reduced once in ``epoch_record``)."""

    losses: list = field(default_factory=list)
    ces: list = field(default_factory=list)       # plain cross-entropy (differs from the loss under mixup)
    sizes: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    predictions: list = field(default_factory=list)


def set_up(config: dict, X_train, y_train, X_val, y_val, epochs: int, *, X_test=None, y_test=None,
           device: str = "cpu", threads: int = 1, seed: int = 0, record_gradients: bool = True,
           encoder: TabularEncoder | None = None, classes=None) -> TrainingRun:
    """Encode and preprocess the data, build the network, the optimizer and the configured techniques."""
    started = time.perf_counter()
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    torch.set_num_threads(max(1, int(threads)))
    torch.manual_seed(seed)
    dev = resolve_device(device)
    encoder, classes = resolve_encoding(X_train, y_train, y_val, encoder, classes)
    train, val = _encode(X_train, encoder), _encode(X_val, encoder)
    test = _encode(X_test, encoder) if X_test is not None else None
    preprocessor = Preprocessor(config, encoder.cardinalities, seed)

    def split(prepared, y) -> Split:
        return Split(torch.from_numpy(prepared.dense).to(dev), torch.from_numpy(prepared.indices).to(dev),
                     None if y is None else _labels(y, classes))

    # fitted on the training split only; its matrix computed once
    train_split = split(preprocessor.fit_transform(train), y_train)
    val_split = split(preprocessor.transform(val), y_val)
    test_split = split(preprocessor.transform(test), y_test) if test is not None else None
    n = len(train_split.labels)
    model = build_network(config, train_split.dense.shape[1], len(classes), preprocessor.embedding_cardinalities).to(dev)
    lrs, snapshot_epochs = lr_schedule(config, epochs)
    return TrainingRun(
        config=config, classes=classes, encoder=encoder, preprocessor=preprocessor, model=model,
        optimizer=_optimizer(config, model), lrs=lrs, batch_size=max(1, min(int(config.get("batch_size", 128)), n)),
        train=train_split, y_train=torch.from_numpy(train_split.labels).to(dev), val=val_split, test=test_split,
        device=dev, generator=torch.Generator(device=dev).manual_seed(seed), np_rng=np.random.default_rng(seed),
        record_gradients=record_gradients, started=started,
        lookahead=Lookahead.from_config(config, model), mixup_alpha=mixup_alpha(config),
        swa=SWA.from_config(config, model, epochs),
        snapshots=Snapshots(snapshot_epochs) if snapshot_epochs else None)


def batch_loss(run: TrainingRun, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Forward pass on the training rows ``index``: (loss to minimise, plain cross-entropy, logits)."""
    yb = run.y_train[index]
    hidden = run.model.embed(run.train.dense[index], run.train.indices[index])
    if run.mixup_alpha > 0:
        mixed, partner, lam = mix(hidden, run.mixup_alpha, run.np_rng, run.generator)
        logits = run.model.body(mixed)
        return mixup_loss(logits, yb, partner, lam), F.cross_entropy(logits, yb), logits
    logits = run.model.body(hidden)
    loss = F.cross_entropy(logits, yb)
    return loss, loss, logits


def step(run: TrainingRun, loss: torch.Tensor) -> None:
    """One optimizer step (then lookahead's)."""
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    if run.lookahead is not None:
        run.lookahead.step()


def train_epoch(run: TrainingRun, epoch: int) -> EpochStats:
    """The minibatches of one epoch (a fresh permutation of the training rows)."""
    for group in run.optimizer.param_groups:
        group["lr"] = run.lrs[epoch - 1]
    run.model.train()
    stats = EpochStats()
    n = len(run.y_train)
    order = torch.randperm(n, device=run.device, generator=run.generator)
    for start in range(0, n, run.batch_size):
        index = order[start:start + run.batch_size]
        if len(index) < 2 and n > 1:
            continue  # a single-row batch breaks batch norm; its row comes back next epoch
        loss, ce, logits = batch_loss(run, index)
        step(run, loss)
        stats.losses.append(loss.detach())
        stats.ces.append(ce.detach())
        stats.sizes.append(len(index))
        stats.labels.append(run.y_train[index])
        stats.predictions.append(logits.detach().argmax(dim=1))
    return stats


def epoch_record(run: TrainingRun, epoch: int, stats: EpochStats, gradients: dict) -> dict:
    """The epoch's learning-curve record in LCBench's tags (train metrics from the epoch's own batches)."""
    k, dev = run.n_classes, run.device
    seen = max(sum(stats.sizes), 1)
    weights = torch.tensor(stats.sizes, device=dev, dtype=torch.float64)

    def mean(values) -> float:
        return float((torch.stack(values).double() * weights).sum()) / seen if values else float("nan")

    cm = torch.zeros(k * k, device=dev, dtype=torch.int64)
    if stats.labels:
        cm = torch.bincount(torch.cat(stats.labels) * k + torch.cat(stats.predictions), minlength=k ** 2)
    cm = cm.reshape(k, k).cpu().numpy()
    support = cm.sum(axis=1)
    recalls = np.diag(cm)[support > 0] / support[support > 0]
    record = {"epoch": epoch, "Train/loss": mean(stats.losses), "Train/lr": run.lrs[epoch - 1],
              "Train/train_accuracy": float(np.trace(cm)) / seen,
              "Train/train_balanced_accuracy": float(recalls.mean()) if len(recalls) else float("nan"),
              "Train/train_cross_entropy": mean(stats.ces)}
    val_acc, val_bal, val_ce = classification_metrics(
        _predict([run.model], run.val.dense, run.val.indices, dev), run.val.labels)
    record.update({"Train/val_accuracy": val_acc, "Train/val_balanced_accuracy": val_bal,
                   "Train/val_cross_entropy": val_ce})
    if run.test is not None and run.test.labels is not None:
        acc, bal, ce = classification_metrics(_predict([run.model], run.test.dense, run.test.indices, dev),
                                              run.test.labels)
        record.update({"Train/test_result": acc, "Train/test_balanced_accuracy": bal,
                       "Train/test_cross_entropy": ce})
    record.update(gradients)
    record["time"] = time.perf_counter() - run.started
    return record


def run_epoch(run: TrainingRun, epoch: int) -> dict:
    """Train one epoch, let SWA and snapshots see its weights, append and return its record."""
    stats = train_epoch(run, epoch)
    gradients = gradient_stats(run.model) if run.record_gradients else {}   # the last step's gradients
    for technique in (run.swa, run.snapshots):
        if technique is not None:
            technique.after_epoch(run.model, epoch)
    record = epoch_record(run, epoch, stats, gradients)
    run.curve.append(record)
    return record


def final_models(run: TrainingRun) -> list[nn.Module]:
    """Snapshot ensemble, else the SWA average (batch norm re-estimated), else the trained network."""
    if run.snapshots is not None and run.snapshots.models:
        return run.snapshots.models
    if run.swa is not None and run.swa.collected > 0:
        return [run.swa.final_model(run.train.dense, run.train.indices, run.batch_size)]
    return [run.model]


def finish(run: TrainingRun) -> TrainResult:
    models = final_models(run)
    dev = run.device
    val_proba = _predict(models, run.val.dense, run.val.indices, dev)
    final = dict(zip(["final_val_accuracy", "final_val_balanced_accuracy", "final_val_cross_entropy"],
                     classification_metrics(val_proba, run.val.labels)))
    if run.test is not None and run.test.labels is not None:
        final.update(zip(["final_test_accuracy", "final_test_balanced_accuracy", "final_test_cross_entropy"],
                         classification_metrics(_predict(models, run.test.dense, run.test.indices, dev),
                                                run.test.labels)))
    if run.curve:
        last = run.curve[-1]
        final.update({"final_train_accuracy": last["Train/train_accuracy"],
                      "final_train_balanced_accuracy": last["Train/train_balanced_accuracy"],
                      "final_train_cross_entropy": last["Train/train_cross_entropy"]})
    pipeline = FittedPipeline(dict(run.config), run.classes, run.encoder, run.preprocessor,
                              [m.to("cpu").eval() for m in models])
    return TrainResult(run.curve, val_proba, pipeline, final, epochs_run=len(run.curve))


def train_pipeline(config: dict, X_train, y_train, X_val, y_val, epochs: int, *, X_test=None, y_test=None,
                   device: str = "cpu", threads: int = 1, seed: int = 0, record_gradients: bool = True,
                   patience: int | None = None, encoder: TabularEncoder | None = None,
                   classes=None) -> TrainResult:
    """Fit preprocessing + network for ``epochs`` epochs and record the learning curve.

    ``X_*`` are DataFrames/arrays, or ``TabularData`` already encoded by ``encoder`` (then
    ``encoder`` is required). ``classes`` fixes the label order of the probabilities
    (default: sorted labels of train and validation).
    """
    run = set_up(config, X_train, y_train, X_val, y_val, epochs, X_test=X_test, y_test=y_test, device=device,
                 threads=threads, seed=seed, record_gradients=record_gradients, encoder=encoder, classes=classes)
    best_val, since_best = float("inf"), 0
    for epoch in range(1, epochs + 1):
        val_ce = run_epoch(run, epoch)["Train/val_cross_entropy"]
        if val_ce < best_val - 1e-6:
            best_val, since_best = val_ce, 0
        else:
            since_best += 1
        if patience is not None and since_best >= patience:
            break
    return finish(run)
