"""Training throughput of autodl's trainer against a minimal hand-written PyTorch loop (not a test).

Same network (built by autodl.networks from the same config and seed), same data, same batch
size, same optimizer, one thread each. The minimal loop does nothing but shuffle, forward,
loss, backward, step. Our trainer also preprocesses, evaluates on validation data every
epoch and keeps the learning curve; with ``record_gradients`` it also computes LCBench's
gradient statistics once per epoch. Target: our trainer within 1.15x of the minimal loop.

    .venv/bin/python bench/bench_autodl_trainer.py [--rows 20000] [--epochs 5] [--repeats 3]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.datasets import make_classification

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodl.networks import build_network  # noqa: E402
from autodl.space import default_config  # noqa: E402
from autodl.trainer import train_pipeline  # noqa: E402

CONFIG = dict(default_config(), mlp_layers=3, mlp_units=256, mlp_shape="brick", batch_size=128, cosine="off")


def minimal_loop(X: np.ndarray, y: np.ndarray, epochs: int, seed: int) -> float:
    torch.manual_seed(seed)
    model = build_network(CONFIG, X.shape[1], 2, [])
    optimizer = torch.optim.Adam(model.parameters(), lr=CONFIG["lr"], weight_decay=CONFIG["weight_decay"])
    data, labels = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.int64))
    empty = torch.zeros((len(X), 0), dtype=torch.int64)
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        order = torch.randperm(len(X))
        for start in range(0, len(X), CONFIG["batch_size"]):
            index = order[start:start + CONFIG["batch_size"]]
            loss = torch.nn.functional.cross_entropy(model(data[index], empty[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    return time.perf_counter() - started


def ours(X, y, X_val, y_val, epochs, seed, record_gradients) -> float:
    started = time.perf_counter()
    train_pipeline(CONFIG, X, y, X_val, y_val, epochs, threads=1, seed=seed, record_gradients=record_gradients)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=50)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    X, y = make_classification(args.rows + args.rows // 4, args.features, n_informative=10, random_state=0)
    X_train, y_train, X_val, y_val = X[:args.rows], y[:args.rows], X[args.rows:], y[args.rows:]
    minimal_loop(X_train[:1000], y_train[:1000], 1, 0)  # warm-up (lazy imports, allocator)
    times = {"minimal": [], "ours": [], "ours+gradients": []}
    for repeat in range(args.repeats):  # interleaved so machine load hits all variants alike
        times["minimal"].append(minimal_loop(X_train, y_train, args.epochs, repeat))
        times["ours"].append(ours(X_train, y_train, X_val, y_val, args.epochs, repeat, False))
        times["ours+gradients"].append(ours(X_train, y_train, X_val, y_val, args.epochs, repeat, True))
    base = statistics.median(times["minimal"])
    print(f"data {args.rows} x {args.features} (+{len(y_val)} validation rows), MLP 3x256, batch "
          f"{CONFIG['batch_size']}, {args.epochs} epochs, 1 thread, median of {args.repeats}")
    for name, values in times.items():
        median = statistics.median(values)
        rows_per_s = args.rows * args.epochs / median
        print(f"{name:15s} {median:7.2f} s  {rows_per_s:9.0f} rows/s  ratio {median / base:5.3f}x")
    print("target: ours within 1.15x of minimal")


if __name__ == "__main__":
    main()
