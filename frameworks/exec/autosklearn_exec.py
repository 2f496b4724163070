"""Runs inside auto-sklearn's venv (Python 3.9/3.10): budget -> time_left_for_this_task, cores -> n_jobs,
memory -> memory_limit (per model run), seed -> seed. ``_askl2`` (AMLB's switch) runs auto-sklearn 2.0
(``AutoSklearn2Classifier``: portfolio, policy-selected resampling) from the same install; other
framework parameters go to the estimator. Its logs (``autosklearn.log``, dask's ``distributed.log``)
are written into the job folder as they arrive, not into its temporary folder, which is deleted."""
import os
import time

from exec_common import LOG_MAX_BYTES, fit_seconds, log_path, main, safe_anytime, save_predictions


def logging_config(params):
    """auto-sklearn's own logging configuration, its two log files redirected to the job folder
    (absolute paths are kept as given) and size-capped."""
    import autosklearn
    import yaml

    with open(os.path.join(os.path.dirname(autosklearn.__file__), "util", "logging.yaml")) as f:
        config = yaml.safe_load(f)
    for handler, name in (("file_handler", "autosklearn.log"), ("distributed_logfile", "distributed.log")):
        config["handlers"][handler].update({"class": "logging.handlers.RotatingFileHandler",
                                            "filename": log_path(params, name),
                                            "maxBytes": LOG_MAX_BYTES, "backupCount": 1})
    return config


def anytime(model, started):
    """Every successful model run (SMAC's run history: end time, validation cost = 1 - accuracy) and
    every ensemble the ensemble builder made (its performance history)."""
    from smac.tae import StatusType

    automl = model.automl_
    records = [{"time": value.endtime - started, "kind": "model", "val_accuracy": 1.0 - float(value.cost),
                "model": f"config {key.config_id}"}
               for key, value in automl.runhistory_.data.items() if value.status == StatusType.SUCCESS]
    for entry in getattr(automl, "ensemble_performance_history", None) or []:
        # pandas Timestamp.now(): naive local time, as datetime.timestamp() reads it
        records.append({"time": entry["Timestamp"].to_pydatetime().timestamp() - started, "kind": "ensemble",
                        "val_accuracy": entry.get("ensemble_optimization_score"), "model": "ensemble"})
    return records


def fit_predict(params):
    import autosklearn
    import pandas as pd
    from autosklearn.classification import AutoSklearnClassifier
    from autosklearn.experimental.askl2 import AutoSklearn2Classifier

    train = pd.read_parquet(params["train"])
    test = pd.read_parquet(params["test"])
    y = train.pop(params["target"])
    for c in train.columns:      # auto-sklearn takes categoricals as the pandas category dtype only
        if not pd.api.types.is_numeric_dtype(train[c]):
            train[c] = train[c].astype("category")
            test[c] = pd.Categorical(test[c], categories=train[c].cat.categories)
    fw = dict(params["framework_params"])
    askl2 = bool(fw.pop("_askl2", False))
    cores = params["cores"]
    time_left = int(fit_seconds(params))
    main_options = {
        # auto-sklearn's own default is a tenth of the budget; at short budgets that kills every model
        "per_run_time_limit": "budget/3 under 300 s, else budget/10",
        "memory_limit": "2/3 of the job's memory per core, at least 1024 MB",
        **fw}
    options = {"time_left_for_this_task": time_left,
               "per_run_time_limit": max(time_left // 3, 5) if time_left < 300 else time_left // 10,
               "n_jobs": cores, "memory_limit": max(1024, params["memory_mb"] * 2 // 3 // cores),
               "seed": params["seed"], "tmp_folder": os.path.join(params["scratch"], "autosklearn"),
               "delete_tmp_folder_after_terminate": True, **fw}
    estimator = AutoSklearn2Classifier if askl2 else AutoSklearnClassifier
    model = estimator(**options, logging_config=logging_config(params))
    started = time.time()
    t0 = time.perf_counter()
    model.fit(train, y)
    t1 = time.perf_counter()
    proba = model.predict_proba(test)
    labels = model.predict(test)
    t2 = time.perf_counter()
    timeline = {"fit_started": started, "fit_ended": started + t1 - t0, "predicted": started + t2 - t0}
    save_predictions(pd.DataFrame(proba, columns=[str(c) for c in model.classes_]), labels, params)
    return {"version": autosklearn.__version__, "models_count": len(model.get_models_with_weights()),
            "training_duration": t1 - t0, "predict_duration": t2 - t1, "options": options,
            "preset": "auto-sklearn 2.0" if askl2 else "auto-sklearn 1.0", "main_options": main_options,
            "timeline": timeline,
            "anytime_records": safe_anytime(params, lambda: anytime(model, started), "SMAC run history + "
                                            "ensemble performance history")}


if __name__ == "__main__":
    main(fit_predict)
