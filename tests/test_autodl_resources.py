"""Exact resources: a real fit keeps to its cores (psutil, and the evaluations' own timestamps), a network result
arrives early, a gradient-boosting model lands in the first third, the data are shared memory-mapped."""
import json
import pickle
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import psutil
import pytest
from sklearn.datasets import make_classification

from autodl.data import TabularEncoder
from autodl.estimator import AutoDLClassifier
from autodl.search import read_search_data, write_search_data
from autodl.slots import CoreSlots
from autodl.traditional import TREE_CHUNK, TREES, rounds_fitted, train_learner


def _runnable_processes(root: psutil.Process, own_thread: int) -> int:
    """Processes of root's tree with a thread in state R (running or waiting for a core), this thread aside."""
    busy = 0
    for proc in [root, *root.children(recursive=True)]:
        try:
            for task in Path(f"/proc/{proc.pid}/task").iterdir():
                if int(task.name) == own_thread:
                    continue
                stat = (task / "stat").read_text()
                if stat[stat.rindex(")") + 2] == "R":
                    busy += 1
                    break
        except (OSError, psutil.Error):
            continue
    return busy


def _concurrency(intervals) -> int:
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    return peak


def _data(rows=2000, cols=20):
    X, y = make_classification(rows, cols, n_informative=8, random_state=0)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(cols)]), np.where(y == 1, "yes", "no")


@pytest.mark.timeout(180)
def test_one_core_fit_never_runs_two_computations_at_once(tmp_path):
    X, y = _data()
    samples, stop = [], threading.Event()
    me, own_thread = psutil.Process(), threading.get_native_id

    def sample():
        tid = own_thread()
        while not stop.is_set():
            samples.append(_runnable_processes(me, tid))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    time_limit = 45
    clf = AutoDLClassifier(time_limit=time_limit, n_workers=1, seed=0, device="cpu", run_dir=tmp_path,
                           record_gradients=False)
    sampler.start()
    started = time.time()
    clf.fit(X, y)
    stop.set()
    sampler.join()
    networks = [json.loads(line)["info"] for line in (tmp_path / "evaluations.jsonl").read_text().splitlines()]
    learners = [json.loads(line) for line in (tmp_path / "traditional.jsonl").read_text().splitlines()]
    intervals = [(i["t_start"], i["t_end"]) for i in networks if "t_start" in i]
    intervals += [(r["info"]["t_start"], r["info"]["t_end"]) for r in learners]
    assert len(learners) >= 3 and len(intervals) >= 8
    assert _concurrency(intervals) == 1            # learners took turns with the networks, never beside them
    # psutil: the fit's process tree wanted more than its one core in few samples (start-up and hand-overs);
    # with the learners beside the search it was more than a third of them
    over = np.mean(np.asarray(samples) > 1)
    assert over < 0.1, (over, len(samples))
    # results early: the first network result, and a gradient-boosting model within the first third
    first_network = min(i["t_end"] for i in networks if i["status"] == "ok") - started
    lightgbm = [r for r in learners if r["learner"] == "lightgbm"]
    assert first_network < 10, first_network
    assert lightgbm and lightgbm[0]["status"] == "ok"
    assert lightgbm[0]["info"]["t_end"] - started < time_limit / 3


def test_core_slots_alternate_and_never_exceed_cores():
    slots = CoreSlots(1)
    assert slots.try_network() and not slots.try_network()
    slots.searching(True)
    got = []
    learner = threading.Thread(target=lambda: got.append(slots.acquire_learner(time.time() + 5)))
    learner.start()
    time.sleep(0.2)
    slots.release()
    learner.join()
    assert got == [True] and not slots.try_network()           # the learner's turn came after one network
    slots.release()
    assert slots.try_network()
    slots.release()
    assert slots.grants == ["network", "learner", "network"] and slots.max_in_use == 1

    many = CoreSlots(2)
    many.searching(False)

    def hammer():
        for _ in range(200):
            if many.try_network():
                many.release()
            if many.acquire_learner(time.time() + 1):
                many.release()
    threads = [threading.Thread(target=hammer) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert many.max_in_use <= 2 and many.in_use == 0


@pytest.mark.parametrize("name", ["lightgbm", "catboost", "random_forest", "extra_trees", "lightgbm_large",
                                  "extra_trees_entropy"])
def test_learners_stop_adding_rounds_at_their_time_cap(name):
    X, y = _data(600, 10)
    capped = train_learner({"learner": name, "max_seconds": 0.0}, X[:400], y[:400], X[400:], y[400:])
    full = train_learner({"learner": name}, X[:400], y[:400], X[400:], y[400:])
    assert rounds_fitted(name, capped.pipeline.model) < rounds_fitted(name, full.pipeline.model)
    if name.startswith(("random_forest", "extra_trees")):
        assert rounds_fitted(name, capped.pipeline.model) == TREE_CHUNK and rounds_fitted(name, full.pipeline.model) == TREES
    assert capped.val_proba.shape == (200, 2) and np.allclose(capped.val_proba.sum(axis=1), 1)


def test_knn_keeps_a_subsample_of_large_training_sets(monkeypatch):
    import autodl.traditional

    monkeypatch.setattr(autodl.traditional, "KNN_MAX_ROWS", 100)
    X, y = _data(600, 10)
    result = train_learner({"learner": "knn"}, X[:400], y[:400], X[400:], y[400:])
    assert result.pipeline.model.n_samples_fit_ == 100


def test_search_data_is_memory_mapped_not_pickled(tmp_path):
    X, y = _data(5000, 30)
    encoder = TabularEncoder().fit(X)
    data = encoder.transform(X)
    codes = (y == "yes").astype(np.int64)
    write_search_data(tmp_path / "data.pkl", data, y, codes, np.array(["no", "yes"]), encoder,
                      [(np.arange(3000), np.arange(3000, 5000))])
    assert (tmp_path / "data.pkl").stat().st_size < data.numeric.nbytes / 4    # the matrices are not in it
    with open(tmp_path / "data.pkl", "rb") as fh:
        assert "X" not in pickle.load(fh)
    read = read_search_data(tmp_path / "data.pkl")
    assert isinstance(read["X"].numeric, np.memmap) and not read["X"].numeric.flags.writeable
    assert np.array_equal(read["X"].numeric, data.numeric) and np.array_equal(read["X"].categorical, data.categorical)
    assert np.array_equal(read["y_codes"], codes)
