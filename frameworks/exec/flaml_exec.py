"""Runs inside FLAML's venv: budget -> time_budget, cores -> n_jobs, seed -> seed, metric accuracy (as AMLB
maps ``acc``); FLAML's other settings are its defaults. FLAML's trial log (``log_file_name``, every
trial) and its logger (default verbosity, INFO) are written into the job folder as it runs; the trial
log's wall-clock times and validation losses are the anytime record."""
import json
import logging
import time

from exec_common import fit_seconds, log_path, log_to_file, main, safe_anytime, save_predictions


def anytime(trial_log):
    """Every trial of the trial log: ``wall_clock_time`` (seconds since the search started) and
    ``validation_loss`` (1 - accuracy)."""
    records = []
    with open(trial_log) as f:
        for line in f:
            try:
                trial = json.loads(line)
            except ValueError:
                continue
            if "validation_loss" in trial and "wall_clock_time" in trial:
                records.append({"time": trial["wall_clock_time"], "kind": "model",
                                "val_accuracy": 1.0 - float(trial["validation_loss"]),
                                "model": trial.get("learner", "")})
    return records


def fit_predict(params):
    import flaml
    import pandas as pd
    from flaml import AutoML

    # Our handler first: FLAML then adds no console handler of its own (its INFO lines go to the file only)
    log_to_file(params, "flaml.log", ["flaml.automl.logger"])
    logging.getLogger("flaml.automl.logger").propagate = False
    train = pd.read_parquet(params["train"])
    test = pd.read_parquet(params["test"])
    y = train.pop(params["target"])
    trial_log = log_path(params, "flaml_trials.jsonl")
    options = {"task": "classification", "metric": "accuracy", "time_budget": fit_seconds(params),
               "n_jobs": params["cores"], "seed": params["seed"], "log_file_name": trial_log, "log_type": "all",
               **params["framework_params"]}
    automl = AutoML()
    started = time.time()
    t0 = time.perf_counter()
    automl.fit(train, y, **options)
    t1 = time.perf_counter()
    proba = pd.DataFrame(automl.predict_proba(test), columns=[str(c) for c in automl.classes_])
    labels = automl.predict(test)
    t2 = time.perf_counter()
    save_predictions(proba, labels, params)
    return {"version": flaml.__version__, "models_count": len(automl.config_history), "training_duration": t1 - t0,
            "predict_duration": t2 - t1, "options": options, "best_estimator": automl.best_estimator,
            "preset": "defaults", "main_options": {"metric": "accuracy", **params["framework_params"]},
            "timeline": {"fit_started": started, "fit_ended": started + t1 - t0, "predicted": started + t2 - t0},
            "anytime_records": safe_anytime(params, lambda: anytime(trial_log), "trial log (log_type=all)")}


if __name__ == "__main__":
    main(fit_predict)
