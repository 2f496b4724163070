"""autodl's final candidate pool read back from a run folder, and ensemble-selection variants scored on it.

Shared by ``bench_autodl_evidence.py`` (which records the variants, and the best single learner, on
each of its autodl runs) and ``bench_autodl_ensemble.py`` (which studies them). The pool is what
``autodl.ensemble.EnsembleBuilder.pool()`` selects from at the end of a fit (``autodl.ensemble.select_pool``):
the ``nbest`` best candidates (validation error, then cross-entropy, then larger budget) and every traditional
learner outside them, of those whose model is on disk and whose validation predictions are finite.

Two variants change the pool itself: ``nbest_only`` selects (by error) from the ``nbest`` best alone (autodl's
pool before 2026-12-03, when traditional learners could be pushed out of it; the rows of
``bench/evidence/pool_300s.jsonl`` call today's pool ``traditional_kept`` and that one ``error``),
``traditional_only`` from the traditional learners alone. ``pool_traditional`` counts the traditional learners
among the ``nbest`` best, ``traditional`` all of them.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

VARIANTS = {"error": {"objective": "error"}, "cross_entropy": {"objective": "cross_entropy"},
            "error_no_init": {"objective": "error", "sorted_init": False}}


def validated_rows(splits) -> np.ndarray:
    """The rows a run's candidates have validation predictions for, in the order their arrays are read."""
    return np.sort(np.concatenate([val for _, val in splits]))


def accuracy_of(proba: np.ndarray, classes, truth: np.ndarray) -> float:
    """Accuracy of the class with the highest probability against the test rows' labels (strings)."""
    return float((np.asarray(classes)[np.argmax(proba, axis=1)].astype(str) == truth).mean())


def checked_selection(predictions, labels, size: int | None = None, seed: int = 0) -> np.ndarray:
    """``ensemble_selection``, or the best single candidate where selection does not generalise on these rows.

    On a small validation set greedy selection can fit the rows' noise. So selection is run on each half of
    the rows (2-fold split) and scored on the other half, against the single candidate best on the first
    half; where the selected ensembles make more errors on the unseen halves than the single picks, the
    candidate best on all rows takes all the weight. ``size``: autodl's ensemble size unless given."""
    from autodl.ensemble import ENSEMBLE_SIZE, best_candidate, ensemble_selection
    from autodl.splits import kfold

    size = ENSEMBLE_SIZE if size is None else size

    probas = np.stack([np.asarray(p, dtype=np.float64) for p in predictions])
    labels = np.asarray(labels, dtype=np.int64)
    ensemble_errors = single_errors = 0
    for fit_rows, check_rows in kfold(labels, 2, seed=seed):
        weights = ensemble_selection(probas[:, fit_rows], labels[fit_rows], size)
        single = best_candidate(probas[:, fit_rows], labels[fit_rows])
        ensemble_errors += int((np.tensordot(weights, probas[:, check_rows], axes=1).argmax(axis=1)
                                != labels[check_rows]).sum())
        single_errors += int((probas[single, check_rows].argmax(axis=1) != labels[check_rows]).sum())
    if ensemble_errors > single_errors:
        return np.eye(len(probas))[best_candidate(probas, labels)]
    return ensemble_selection(probas, labels, size)


def read_candidates(run_dir: Path):
    """Every usable candidate of the run (model on disk, finite predictions), best first, with its validation
    predictions on the validated rows. Returns ``(candidates, predictions, labels, classes)``."""
    from autodl.ensemble import Candidate   # its rank_key is the order EnsembleBuilder.pool() uses
    from autodl.search_data import read_search_data

    data = read_search_data(run_dir / "data.pkl", mmap=False)
    rows = validated_rows(data["splits"])
    usable = []
    for name, kind in (("evaluations.jsonl", "network"), ("traditional.jsonl", "traditional")):
        path = run_dir / name
        for line in (path.read_text().splitlines() if path.exists() else []):
            record = json.loads(line)
            if record["status"] != "ok":
                continue
            tag = record["info"]["tag"]
            candidate = Candidate(tag, kind, kind, float(record["loss"]),
                                  float(record["info"].get("val_cross_entropy", float("inf"))),
                                  float(record.get("budget", 0.0) if kind == "network" else 0.0),
                                  str(run_dir / "val_predictions" / f"{tag}.npy"),
                                  str(run_dir / "models" / f"{tag}.pkl"))
            if not (Path(candidate.model_path).exists() and Path(candidate.predictions_path).exists()):
                continue   # only the best few models are kept on disk
            predictions = np.load(candidate.predictions_path)[rows]
            if np.isfinite(predictions).all():
                usable.append((candidate, predictions))
    usable = sorted(usable, key=lambda pair: pair[0].rank_key())
    return [c for c, _ in usable], [p for _, p in usable], data["y_codes"][rows], data["classes"]


def score_variants(run_dir: Path, X_test: pd.DataFrame, truth: np.ndarray, nbest: int | None = None,
                   size: int | None = None) -> dict:
    """Test accuracy of each variant on the run's final pool (``best_single``: the pool's first).
    ``nbest`` and ``size``: autodl's own (``ENSEMBLE_NBEST``, ``ENSEMBLE_SIZE``) unless given."""
    from autodl.ensemble import ENSEMBLE_NBEST, ENSEMBLE_SIZE, ensemble_selection, select_pool

    nbest = ENSEMBLE_NBEST if nbest is None else nbest
    size = ENSEMBLE_SIZE if size is None else size

    candidates, val, labels, classes = read_candidates(run_dir)
    if not candidates:
        return {"pool": 0}
    in_pool = {c.tag for c in select_pool(candidates, nbest)}
    pool = [i for i, c in enumerate(candidates) if c.tag in in_pool]      # candidates are sorted as select_pool
    traditional = [i for i, c in enumerate(candidates) if c.kind == "traditional"]
    pools = {name: pool for name in [*VARIANTS, "checked", "best_single"]}
    pools["nbest_only"] = list(range(min(nbest, len(candidates))))
    if traditional:
        pools["traditional_only"] = traditional
    needed = sorted(set().union(*pools.values()))
    test = {}
    for i in needed:
        with open(candidates[i].model_path, "rb") as fh:
            pipelines = pickle.load(fh)
        test[i] = np.mean([p.predict_proba(X_test) for p in pipelines], axis=0)

    def select(members: list[int], **options) -> np.ndarray:
        return ensemble_selection([val[i] for i in members], labels, size, **options)

    weights = {name: select(pool, **options) for name, options in VARIANTS.items()}
    weights["checked"] = checked_selection([val[i] for i in pool], labels, size)
    weights["best_single"] = np.eye(len(pool))[0]
    weights.update({name: select(pools[name]) for name in ("nbest_only", "traditional_only") if name in pools})
    accuracy = {}
    for name, w in weights.items():
        proba = np.tensordot(w, np.stack([test[i] for i in pools[name]]), axes=1)
        accuracy[name] = accuracy_of(proba, classes, truth)
    chosen = {m["tag"]: m["weight"] for m in json.loads((run_dir / "ensemble.json").read_text())["members"]}
    mine = {candidates[i].tag: float(w) for i, w in zip(pool, weights["error"]) if w > 0}
    reproduced = chosen.keys() == mine.keys() and all(abs(chosen[t] - mine[t]) < 1e-9 for t in mine)
    return {"pool": len(pool), "val_rows": len(labels), "accuracy": accuracy, "reproduced": bool(reproduced),
            "best_single_tag": candidates[0].tag, "best_single_val_loss": candidates[0].loss,
            "pool_traditional": sum(i in traditional for i in pools["nbest_only"]), "traditional": len(traditional),
            "on_disk": len(candidates)}
