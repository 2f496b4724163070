"""Runs inside H2O's venv. The JVM outlives its Python parent when that dies (re-parented to init,
holding its port, silently joined by the next ``h2o.init``), so every job starts its own JVM on a
free port with its own ice_root/log_dir, never connects to an existing one, and shuts it down in
``finally`` (SIGTERM becomes SystemExit, see exec_common)."""
import os
import socket
import time
import uuid

from exec_common import TERMINATING, fit_seconds, main, save_predictions


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
    log_dir = os.path.join(params["scratch"], "h2o_logs")
    os.makedirs(ice_root)
    os.makedirs(log_dir)
    port = free_port()
    # The JVM gets 2/3 of the job's memory as heap (AMLB's share); the rest is JVM overhead and Python
    heap_mb = max(512, params["memory_mb"] * 2 // 3)
    server = None
    try:
        server = H2OLocalServer.start(nthreads=params["cores"], max_mem_size=heap_mb << 20, port=port,
                                      ice_root=ice_root, log_dir=log_dir, name=f"ab-{uuid.uuid4().hex[:12]}",
                                      bind_to_localhost=True, verbose=False)
        h2o.connect(server=server, verbose=False)
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
        options = {"max_runtime_secs": int(round(fit_seconds(params))), "seed": params["seed"],
                   **params["framework_params"]}
        aml = H2OAutoML(**options)
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
                "leader": aml.leader.model_id, "jvm_pid": jvm_pid, "port": port}
    finally:
        if server is not None:
            jvm = server._process
            if not TERMINATING:   # a normal end: let the cluster shut itself down
                try:
                    h2o.cluster().shutdown()
                    jvm.wait(timeout=5)
                except Exception:
                    pass
            # h2o's own server.shutdown() retries SIGTERM, and its SIGKILL fallback has a bug
            # (it calls the Popen object): kill the JVM ourselves
            if jvm.poll() is None:
                jvm.kill()
            jvm.wait()


if __name__ == "__main__":
    main(fit_predict)
