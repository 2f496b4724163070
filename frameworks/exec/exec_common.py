"""Shared by the scripts that run inside a framework's own venv. Standard library only: it runs
under that venv's python (3.9 for auto-sklearn) and must not import ``benchmark`` or ``frameworks``.

Protocol (see ``frameworks/environments.py``): ``python <name>_exec.py PARAMS_JSON``; the script reads
``params["train"]``/``params["test"]`` (parquet), writes ``params["predictions"]`` (parquet, one
column per class label plus ``__label__``) and always ``params["result"]`` (JSON, with ``error``
when it failed). Its result names the variant that ran: ``preset`` (a short name) and ``main_options``
(what defines the variant, the same for every job), beside ``options`` (every argument passed).

The framework's own logs go to ``params["logs"]`` (the job folder's ``framework_logs/``) while it
runs; ``params["anytime"]`` receives its anytime record (see ``write_anytime``).
"""
import json
import logging
import logging.handlers
import math
import os
import signal
import sys
import time
import traceback

STARTED = time.time()            # this script's start: where a framework's time goes is in result["timeline"]
TIMELINE = {"exec_started": STARTED}     # epoch seconds of the steps every exec script shares
LABEL_COLUMN = "__label__"
MIN_FIT_S = 3.0
LOG_MAX_BYTES = 2 << 20          # per log file, one backup kept (frameworks/logs.py: MAX_BYTES)
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def fit_seconds(params: dict) -> int:
    """What is left of the budget for fitting, after start-up and imports, keeping the predict margin."""
    return max(MIN_FIT_S, params["deadline"] - time.time() - params["predict_margin_s"])


TERMINATING = []      # non-empty once SIGTERM arrived: clean up fast, the harness SIGKILLs after a grace period


def raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (JVM shutdown, ...) run.

    In this process only: a process the framework forks (auto-sklearn's model runs under pynisher)
    gets SIGTERM's default action back. pynisher stops a run past its time limit with SIGTERM; with
    our Python handler inherited, the signal waited until the run's C code returned (a libsvm fit
    with a polynomial kernel on unscaled features: 10 minutes in a 60 s budget, 18 s per run)."""
    def handler(signum, frame):
        TERMINATING.append(signum)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)     # a second SIGTERM must not interrupt the clean-up
        raise SystemExit("terminated by SIGTERM")
    signal.signal(signal.SIGTERM, handler)
    os.register_at_fork(after_in_child=_default_sigterm)


def _default_sigterm() -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def log_path(params: dict, filename: str) -> str:
    """A file in the job folder's framework log folder (created)."""
    os.makedirs(params["logs"], exist_ok=True)
    return os.path.join(params["logs"], filename)


def log_to_file(params: dict, filename: str, loggers, level=logging.INFO) -> logging.Handler:
    """Send the named Python loggers to ``framework_logs/<filename>`` as records arrive, size-capped
    (rotating, one backup), with time and level on every line."""
    handler = logging.handlers.RotatingFileHandler(log_path(params, filename), maxBytes=LOG_MAX_BYTES,
                                                   backupCount=1, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.setLevel(level)
    for name in loggers:
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        if logger.getEffectiveLevel() > level:
            logger.setLevel(level)
    return handler


def write_anytime(params: dict, records, source: str) -> int:
    """Write the framework's anytime record: one JSON line per model or ensemble it built, when it
    became available (``time``: seconds since fit started, or None where the framework gives no
    timing) and its validation accuracy, ordered by time (untimed records last). Returns the count."""
    lines = []
    for r in records:
        t, val = r.get("time"), r.get("val_accuracy")
        if val is None or not math.isfinite(float(val)):
            continue
        t = None if t is None or not math.isfinite(float(t)) else round(max(0.0, float(t)), 3)
        lines.append({"time": t, "kind": r.get("kind", "model"), "val_accuracy": float(val),
                      "model": str(r.get("model", "")), "source": source,
                      **({"timing": "none"} if t is None else {})})
    lines.sort(key=lambda r: (r["time"] is None, r["time"] or 0.0))
    os.makedirs(os.path.dirname(params["anytime"]), exist_ok=True)
    tmp = params["anytime"] + ".tmp"
    with open(tmp, "w") as f:
        f.writelines(json.dumps(line) + "\n" for line in lines)
    os.replace(tmp, params["anytime"])
    return len(lines)


def safe_anytime(params: dict, collect, source: str):
    """``write_anytime(params, collect(), source)``; a framework whose records cannot be read still
    returns its predictions (the failure is printed and the count is None)."""
    try:
        return write_anytime(params, collect(), source)
    except Exception:
        print("anytime record not written:", file=sys.stderr)
        traceback.print_exc()
        return None
    finally:
        TIMELINE["anytime_written"] = time.time()


def save_predictions(proba, labels, params: dict) -> None:
    """``proba``: a pandas DataFrame with one column per class label."""
    proba = proba.copy()
    proba.columns = [str(c) for c in proba.columns]
    proba[LABEL_COLUMN] = [str(x) for x in labels]
    proba.to_parquet(params["predictions"])
    TIMELINE["predictions_saved"] = time.time()


def main(fit_predict) -> None:
    """Run ``fit_predict(params) -> result dict`` and always write the result file."""
    with open(sys.argv[1]) as f:
        params = json.load(f)
    raise_on_sigterm()
    result = {}
    TIMELINE["params_read"] = time.time()
    try:
        result = fit_predict(params) or {}
    except BaseException as err:  # every failure goes back to the harness as a message
        traceback.print_exc()
        if not TERMINATING:      # the framework's own error, kept with its logs (a kill is the harness's)
            try:
                with open(log_path(params, "traceback.log"), "a") as f:
                    traceback.print_exc(file=f)
            except OSError:
                pass
        message = ("%s: %s" % (type(err).__name__, err)).strip().splitlines()
        result = {"error": message[0][:500] if message else type(err).__name__}
    finally:
        result["timeline"] = {**TIMELINE, **result.get("timeline", {}), "result_written": time.time()}
        tmp = params["result"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1, default=str)
        os.replace(tmp, params["result"])
    sys.stdout.flush()
    sys.exit(1 if result.get("error") else 0)
