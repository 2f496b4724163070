"""Runs inside H2O's venv. The JVM outlives its Python parent when that dies (re-parented to init,
holding its port, silently joined by the next ``h2o.init``), so every job starts its own JVM on a
free port with its own ice_root/log_dir, never connects to an existing one, and shuts it down in
``finally`` (SIGTERM becomes SystemExit, see exec_common).

As AMLB runs it: max_runtime_secs from the budget, sort_metric mean_per_class_error (AMLB's mapping of
``acc``), seed, nthreads = cores, 2/3 of the memory as heap; everything else H2O's defaults.
Logs, written into the job folder while H2O runs: the JVM's own log files (``log_dir``, capped by
``max_log_file_size``), the JVM's stderr, and the client's log of every REST call (``h2o_client.log``).
The anytime record: each leaderboard model's end time (from its model output) and its
validation accuracy (cross-validated, or on AutoML's blending frame), fetched best first within a
few seconds."""
import os
import socket
import time
import uuid

from exec_common import TERMINATING, fit_seconds, log_path, main, safe_anytime, save_predictions

ANYTIME_FETCH_S = 15.0    # at most this long (and a tenth of the budget) fetching models for the anytime record


def jvm_stderr_into(params):
    """The JVM's stderr (where a crash or an OutOfMemoryError is printed) goes to the job folder's
    log folder instead of a temporary file; stdout (H2O's own log lines again) stays where H2O reads it."""
    from h2o.backend import H2OLocalServer

    original = H2OLocalServer._tmp_file

    def tmp_file(self, kind):
        return log_path(params, "h2o_jvm.err") if kind == "stderr" else original(self, kind)

    H2OLocalServer._tmp_file = tmp_file


def validation_accuracy(output):
    """A model's validation accuracy as H2O AutoML scored it: the mean over cross-validation folds,
    or, where AutoML used a blending frame instead of cross-validation (larger data), the accuracy of
    the confusion matrix on that frame (at the threshold H2O predicts with)."""
    summary = output.get("cross_validation_metrics_summary")
    for row in getattr(summary, "cell_values", None) or []:
        if row and row[0] == "accuracy":
            return float(row[1])
    metrics = output.get("validation_metrics")            # the client turns it into a ModelMetrics object
    cm = (getattr(metrics, "_metric_json", None) or {}).get("cm") or {}
    table = cm.get("table") if isinstance(cm, dict) else getattr(cm, "table", None)
    header = list(getattr(table, "col_header", None) or [])
    if "Error" in header:
        return 1.0 - float(table.cell_values[-1][header.index("Error")])
    return None


def anytime(h2o, aml, started, budget_s):
    """Leaderboard models, best first, until the fetch time is up: end time and CV accuracy (raw REST
    calls: building Python model objects with ``h2o.get_model`` costs ten times more)."""
    h2o.connection().stop_logging()      # our calls, not the framework's: and logging each costs more than the call
    records, stop = [], time.time() + min(ANYTIME_FETCH_S, 0.1 * budget_s)
    ids = [row[0] for row in aml.leaderboard["model_id"].as_data_frame(use_pandas=False, header=False)]
    for model_id in ids:
        if time.time() > stop:
            break
        output = h2o.api("GET /3/Models/%s" % model_id)["models"][0]["output"]
        end_ms = output.get("end_time")
        records.append({"time": end_ms / 1000.0 - started if end_ms else None, "val_accuracy": validation_accuracy(output),
                        "kind": "ensemble" if model_id.startswith("StackedEnsemble") else "model",
                        "model": model_id})
    return records


def free_port() -> int:
    """A port p with p and p+1 free (H2O also listens on p+1)."""
    for _ in range(50):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            with socket.socket() as s:
                s.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports for the H2O JVM")


def fit_predict(params):
    os.environ.setdefault("DO_NOT_TRACK", "1")    # no telemetry from the client or the JVM
    import h2o
    import pandas as pd
    from h2o.automl import H2OAutoML
    from h2o.backend import H2OLocalServer

    ice_root = os.path.join(params["scratch"], "h2o_ice")
    log_dir = log_path(params, "h2o")
    os.makedirs(ice_root)
    os.makedirs(log_dir, exist_ok=True)
    jvm_stderr_into(params)
    port = free_port()
    # The JVM gets 2/3 of the job's memory as heap (AMLB's share); the rest is JVM overhead and Python
    heap_mb = max(512, params["memory_mb"] * 2 // 3)
    server = None
    try:
        server = H2OLocalServer.start(nthreads=params["cores"], max_mem_size=heap_mb << 20, port=port,
                                      ice_root=ice_root, log_dir=log_dir, name=f"ab-{uuid.uuid4().hex[:12]}",
                                      log_level="INFO", max_log_file_size="2MB", bind_to_localhost=True,
                                      verbose=False)
        h2o.connect(server=server, verbose=False)
        h2o.connection().start_logging(log_path(params, "h2o_client.log"))
        jvm_pid = server._process.pid
        h2o.no_progress()
        train_df = pd.read_parquet(params["train"])
        test_df = pd.read_parquet(params["test"])
        target = params["target"]
        types = {c: "enum" for c in train_df.columns
                 if c == target or not pd.api.types.is_numeric_dtype(train_df[c])}
        train = h2o.H2OFrame(train_df, column_types=types)
        test = h2o.H2OFrame(test_df, column_types={c: t for c, t in types.items() if c != target})
        domain = train[target].levels()[0]
        main_options = {"sort_metric": "mean_per_class_error", **params["framework_params"]}
        options = {"max_runtime_secs": int(round(fit_seconds(params))), "seed": params["seed"], **main_options}
        aml = H2OAutoML(**options)
        started = time.time()
        t0 = time.perf_counter()
        aml.train(y=target, training_frame=train)
        t1 = time.perf_counter()
        if aml.leader is None:
            raise RuntimeError(f"H2O AutoML built no model within max_runtime_secs={options['max_runtime_secs']}")
        pred = aml.leader.predict(test).as_data_frame()
        t2 = time.perf_counter()
        # Columns: predict, then one per class in domain order (binary ones are renamed p0/p1 by H2O)
        proba = pd.DataFrame(pred.iloc[:, 1:].to_numpy(), columns=domain)
        save_predictions(proba, pred["predict"].astype(str), params)
        return {"version": h2o.__version__, "models_count": aml.leaderboard.nrows, "training_duration": t1 - t0,
                "predict_duration": t2 - t1, "options": {**options, "nthreads": params["cores"],
                                                          "max_mem_size": f"{heap_mb}M"},
                "leader": aml.leader.model_id, "jvm_pid": jvm_pid, "port": port,
                "preset": "defaults", "main_options": main_options,
                "timeline": {"fit_started": started, "fit_ended": started + t1 - t0, "predicted": started + t2 - t0},
                "anytime_records": safe_anytime(params, lambda: anytime(h2o, aml, started, params["budget_s"]),
                                                "leaderboard models: output end_time + cross-validated accuracy")}
    finally:
        if server is not None:
            jvm = server._process
            if not TERMINATING:   # a normal end: the JVM's shutdown hooks run on SIGTERM (the REST
                jvm.terminate()   # shutdown call takes 2-3 s more, counted in the framework's time)
                try:
                    jvm.wait(timeout=3)
                except Exception:
                    pass
            # h2o's own server.shutdown() retries SIGTERM, and its SIGKILL fallback has a bug
            # (it calls the Popen object): kill the JVM ourselves
            if jvm.poll() is None:
                jvm.kill()
            jvm.wait()


if __name__ == "__main__":
    main(fit_predict)
