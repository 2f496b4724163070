"""Runs inside AutoGluon's venv: budget -> time_limit, cores -> num_cpus, memory -> memory_limit,
seed -> the bagged models' model_random_seed (AutoGluon has no seed for non-bagged models: they
always use 0, so medium_quality gives the same result for every seed), presets from the registry
entry (AMLB's ``AutoGluon`` is AutoGluon's default preset, medium_quality; ``AutoGluon_bestquality``
is best_quality). AutoGluon's log (logger ``autogluon``, its default verbosity) is written into the
job folder as it runs. A callback notes when each model finished; with the leaderboard's validation
scores that is the anytime record.
Ray (bagging and DyStack in best_quality, on more than one core) starts its processes in this job's
session and keeps its session files under $TMPDIR, which the host removes; ray.shutdown() in
``finally`` stops them, and the host kills what is left in the session."""
import os
import time

from exec_common import fit_seconds, log_to_file, main, safe_anytime, save_predictions  # first: it notes the start

from autogluon.core.callbacks import AbstractCallback  # noqa: E402 (a module-level class: the trainer pickles it)


FINISHED = {}     # model name -> wall-clock time AutoGluon reported it fitted (kept here: the trainer pickles its callbacks)


class FinishTimes(AbstractCallback):
    """Notes the time at which AutoGluon reports each model fitted.

    AutoGluon pickles its fit arguments into the Ray process of DyStack's sub-fit, where this script's
    ``__main__`` does not exist: the copy unpickles as AutoGluon's own no-op callback (DyStack drops
    callbacks anyway). Unpicklable, the sub-fit failed and AutoGluon skipped its stacking check."""

    def __reduce__(self):
        return AbstractCallback, ()

    def _after_model_fit(self, trainer, model_names, stack_name="core", level=1):
        now = time.time()
        for name in model_names:
            FINISHED.setdefault(name, now)
        return False


def one_core_options(cores):
    """On one core, bagged folds and DyStack's sub-fit run in this process instead of Ray processes:
    with one CPU Ray adds no parallelism, only start-up per worker, which AutoGluon does not count
    against its time limit (best_quality at 60 s ran 77 s of fit: +41 % over the budget). The same
    models and the same stacking check; AutoGluon's defaults on more cores."""
    if cores != 1:
        return {}
    return {"ag_args_ensemble": {"fold_fitting_strategy": "sequential_local"}, "ds_args": {"memory_safe_fits": False}}


def ray_without_dashboard():
    """AutoGluon starts Ray itself (bagging, DyStack's sub-fit) with Ray's defaults, which include the
    dashboard: 8-60 s of start-up here (longer when the dashboard fails to start), out of the budget.
    Ray's own monitoring UI is no part of the framework: start Ray without it."""
    import ray

    init = ray.init

    def init_without_dashboard(*args, **kwargs):
        kwargs.setdefault("include_dashboard", False)
        return init(*args, **kwargs)

    ray.init = init_without_dashboard


def anytime(predictor, started):
    """Every model on the leaderboard with its validation score; its time from the callback, or
    none where AutoGluon did not report it (e.g. a model made outside the trainer's fit loop)."""
    board = predictor.leaderboard(silent=True)
    return [{"time": FINISHED[m] - started if m in FINISHED else None,
             "kind": "ensemble" if m.startswith("WeightedEnsemble") else "model",
             "val_accuracy": score, "model": m}
            for m, score in zip(board["model"], board["score_val"])]


def fit_predict(params):
    import autogluon.tabular
    import pandas as pd
    from autogluon.tabular import TabularPredictor

    log_to_file(params, "autogluon.log", ["autogluon"])
    ray_without_dashboard()
    train = pd.read_parquet(params["train"])
    test = pd.read_parquet(params["test"])
    fw = dict(params["framework_params"])
    presets = fw.pop("presets", "medium_quality")
    ensemble = {"model_random_seed": params["seed"]}
    one_core = one_core_options(params["cores"])
    options = {"time_limit": fit_seconds(params), "presets": presets, "num_cpus": params["cores"],
               "num_gpus": params["gpus"], "memory_limit": params["memory_mb"] / 1024,
               "ag_args_ensemble": {**ensemble, **one_core.pop("ag_args_ensemble", {})}, **one_core, **fw}
    try:
        predictor = TabularPredictor(label=params["target"], eval_metric="accuracy",
                                     path=os.path.join(params["scratch"], "ag_models"))
        started = time.time()
        t0 = time.perf_counter()
        predictor.fit(train, callbacks=[FinishTimes()], **options)
        t1 = time.perf_counter()
        proba = predictor.predict_proba(test)
        labels = predictor.predict(test)
        t2 = time.perf_counter()
        save_predictions(proba, labels, params)
        return {"version": autogluon.tabular.__version__, "models_count": len(predictor.model_names()),
                "training_duration": t1 - t0, "predict_duration": t2 - t1, "options": options,
                "preset": presets, "main_options": {"presets": presets, **one_core_options(params["cores"]), **fw},
                "best_model": predictor.model_best,
                "timeline": {"fit_started": started, "fit_ended": started + t1 - t0, "predicted": started + t2 - t0},
                "anytime_records": safe_anytime(params, lambda: anytime(predictor, started),
                                                "fit callback + leaderboard score_val")}
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
