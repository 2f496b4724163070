"""Shared by the scripts that run inside a framework's own venv. Standard library only: it runs
under that venv's python (3.9 for auto-sklearn) and must not import ``benchmark`` or ``frameworks``.

Protocol (see ``frameworks/environments.py``): ``python <name>_exec.py PARAMS_JSON``; the script reads
``params["train"]``/``params["test"]`` (parquet), writes ``params["predictions"]`` (parquet, one
column per class label plus ``__label__``) and always ``params["result"]`` (JSON, with ``error``
when it failed).
"""
import json
import os
import signal
import sys
import time
import traceback

LABEL_COLUMN = "__label__"
MIN_FIT_S = 3.0


def fit_seconds(params: dict) -> int:
    """What is left of the budget for fitting, after start-up and imports, keeping the predict margin."""
    return max(MIN_FIT_S, params["deadline"] - time.time() - params["predict_margin_s"])


TERMINATING = []      # non-empty once SIGTERM arrived: clean up fast, the harness SIGKILLs after a grace period


def raise_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so ``finally`` blocks (JVM shutdown, ...) run."""
    def handler(signum, frame):
        TERMINATING.append(signum)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)     # a second SIGTERM must not interrupt the clean-up
        raise SystemExit("terminated by SIGTERM")
    signal.signal(signal.SIGTERM, handler)


def save_predictions(proba, labels, params: dict) -> None:
    """``proba``: a pandas DataFrame with one column per class label."""
    proba = proba.copy()
    proba.columns = [str(c) for c in proba.columns]
    proba[LABEL_COLUMN] = [str(x) for x in labels]
    proba.to_parquet(params["predictions"])


def main(fit_predict) -> None:
    """Run ``fit_predict(params) -> result dict`` and always write the result file."""
    with open(sys.argv[1]) as f:
        params = json.load(f)
    raise_on_sigterm()
    result = {}
    try:
        result = fit_predict(params) or {}
    except BaseException as err:  # every failure goes back to the harness as a message
        traceback.print_exc()
        message = ("%s: %s" % (type(err).__name__, err)).strip().splitlines()
        result = {"error": message[0][:500] if message else type(err).__name__}
    finally:
        tmp = params["result"] + ".tmp"
        with open(tmp, "w") as f:
            json.dump(result, f, indent=1, default=str)
        os.replace(tmp, params["result"])
    sys.stdout.flush()
    sys.exit(1 if result.get("error") else 0)
