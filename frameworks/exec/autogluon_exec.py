"""Runs inside AutoGluon's venv: budget -> time_limit, cores -> num_cpus, memory -> memory_limit,
seed -> the bagged models' model_random_seed (AutoGluon has no seed for non-bagged models: they
always use 0, so medium_quality gives the same result for every seed), presets from the registry entry (default medium_quality).
Ray (used for bagging in best_quality) starts its processes in this job's session and keeps its
session files under $TMPDIR, which the host removes; ray.shutdown() in ``finally`` stops them."""
import os
import time

from exec_common import fit_seconds, main, save_predictions


def fit_predict(params):
    import autogluon.tabular
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    train = pd.read_parquet(params["train"])
    test = pd.read_parquet(params["test"])
    fw = dict(params["framework_params"])
    presets = fw.pop("presets", "medium_quality")
    options = {"time_limit": fit_seconds(params), "presets": presets, "num_cpus": params["cores"],
               "num_gpus": params["gpus"], "memory_limit": params["memory_mb"] / 1024,
               "ag_args_ensemble": {"model_random_seed": params["seed"]}, **fw}
    try:
        predictor = TabularPredictor(label=params["target"], eval_metric="accuracy", verbosity=1,
                                     path=os.path.join(params["scratch"], "ag_models"))
        t0 = time.perf_counter()
        predictor.fit(train, **options)
        t1 = time.perf_counter()
        proba = predictor.predict_proba(test)
        labels = predictor.predict(test)
        t2 = time.perf_counter()
        save_predictions(proba, labels, params)
        return {"version": autogluon.tabular.__version__, "models_count": len(predictor.model_names()),
                "training_duration": t1 - t0, "predict_duration": t2 - t1, "options": options,
                "best_model": predictor.model_best}
    finally:
        _stop_ray()


def _stop_ray():
    import sys
    if "ray" in sys.modules:
        try:
            sys.modules["ray"].shutdown()
        except Exception:
            pass


if __name__ == "__main__":
    main(fit_predict)
