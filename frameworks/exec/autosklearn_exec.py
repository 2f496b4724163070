"""Runs inside auto-sklearn's venv (Python 3.9/3.10): budget -> time_left_for_this_task, cores -> n_jobs,
memory -> memory_limit (per model run), seed -> seed."""
import os
import time

from exec_common import fit_seconds, main, save_predictions


def fit_predict(params):
    import autosklearn
    import pandas as pd
    from autosklearn.classification import AutoSklearnClassifier

    train = pd.read_parquet(params["train"])
    test = pd.read_parquet(params["test"])
    y = train.pop(params["target"])
    for c in train.columns:      # auto-sklearn takes categoricals as the pandas category dtype only
        if not pd.api.types.is_numeric_dtype(train[c]):
            train[c] = train[c].astype("category")
            test[c] = pd.Categorical(test[c], categories=train[c].cat.categories)
    cores = params["cores"]
    time_left = int(fit_seconds(params))
    options = {"time_left_for_this_task": time_left,
               # auto-sklearn's own default is a tenth of the budget; at short budgets that kills every model
               "per_run_time_limit": max(time_left // 3, 5) if time_left < 300 else time_left // 10,
               "n_jobs": cores, "memory_limit": max(1024, params["memory_mb"] * 2 // 3 // cores),
               "seed": params["seed"], "tmp_folder": os.path.join(params["scratch"], "autosklearn"),
               "delete_tmp_folder_after_terminate": True, **params["framework_params"]}
    model = AutoSklearnClassifier(**options)
    t0 = time.perf_counter()
    model.fit(train, y)
    t1 = time.perf_counter()
    proba = model.predict_proba(test)
    labels = model.predict(test)
    t2 = time.perf_counter()
    save_predictions(pd.DataFrame(proba, columns=[str(c) for c in model.classes_]), labels, params)
    return {"version": autosklearn.__version__, "models_count": len(model.get_models_with_weights()),
            "training_duration": t1 - t0, "predict_duration": t2 - t1, "options": options}


if __name__ == "__main__":
    main(fit_predict)
