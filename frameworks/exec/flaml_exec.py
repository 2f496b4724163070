"""Runs inside FLAML's venv: budget -> time_budget, cores -> n_jobs, seed -> seed."""
import time

from exec_common import fit_seconds, main, save_predictions


def fit_predict(params):
    import flaml
    import pandas as pd
    from flaml import AutoML

    train = pd.read_parquet(params["train"])
    test = pd.read_parquet(params["test"])
    y = train.pop(params["target"])
    options = {"task": "classification", "metric": "accuracy", "time_budget": fit_seconds(params),
               "n_jobs": params["cores"], "seed": params["seed"], "verbose": 0,
               "log_file_name": params["scratch"] + "/flaml.log", **params["framework_params"]}
    automl = AutoML()
    t0 = time.perf_counter()
    automl.fit(train, y, **options)
    t1 = time.perf_counter()
    proba = pd.DataFrame(automl.predict_proba(test), columns=[str(c) for c in automl.classes_])
    labels = automl.predict(test)
    t2 = time.perf_counter()
    save_predictions(proba, labels, params)
    return {"version": flaml.__version__, "models_count": len(automl.config_history), "training_duration": t1 - t0,
            "predict_duration": t2 - t1, "options": options, "best_estimator": automl.best_estimator}


if __name__ == "__main__":
    main(fit_predict)
