"""The autodl harness adapter, called directly on a small DataFrame."""
import numpy as np
import pytest
from sklearn.model_selection import train_test_split

from frameworks.autodl import AutoDL
from frameworks.base import Constraint
from tests.autodl_fixtures import mixed_frame


@pytest.mark.timeout(120)
def test_adapter_returns_probabilities_per_class_label(tmp_path):
    X, y = mixed_frame(n_rows=300)
    train = X.assign(diagnosis=y.to_numpy())
    train, test = train_test_split(train, test_size=0.3, stratify=y, random_state=0)
    adapter = AutoDL(min_budget=1, max_budget=4, record_gradients=False)
    result = adapter.run(train, test.drop(columns=["diagnosis"]), "diagnosis", Constraint(budget_s=30, cores=1),
                         seed=0, workdir=tmp_path)
    assert list(result.probabilities.columns) == ["benign", "malignant"]
    assert len(result.probabilities) == len(test)
    assert np.allclose(result.probabilities.to_numpy().sum(axis=1), 1)
    assert result.models_count >= 1 and result.training_duration > 0 and result.predict_duration >= 0
    assert result.version == adapter.version()
    assert (result.predicted_labels() == test["diagnosis"].to_numpy()).mean() > 0.7
    assert (tmp_path / "autodl" / "trajectory.jsonl").exists()
    # autodl's budgets are epochs, the harness's seconds: the row's info never says "budget"
    assert result.info["incumbent_epochs"] >= 1 and not any("budget" in key for key in result.info)


@pytest.mark.timeout(180)
def test_adapter_masters_a_search_that_a_worker_started_elsewhere_joins(tmp_path, monkeypatch):
    """The distributed contract without SLURM: the job's environment names a shared run directory and the
    master's address (as slurm/ writes it); a worker process started on its own joins through
    autodl.distributed.join and evaluates configurations of the adapter's search."""
    import subprocess
    import sys

    from autodl.distributed import environment, mark_finished, prepare_run_dir

    shared = tmp_path / "shared"
    prepare_run_dir(shared)
    for name, value in environment(shared, "127.0.0.1").items():
        monkeypatch.setenv(name, value)
    joiner = subprocess.Popen([sys.executable, "-c", "import sys; from autodl.distributed import join; "
                               "print('evaluations', join(sys.argv[1], 'elsewhere', host='127.0.0.1', give_up_s=120))",
                               str(shared)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        X, y = mixed_frame(n_rows=300)
        train = X.assign(diagnosis=y.to_numpy())
        train, test = train_test_split(train, test_size=0.3, stratify=y, random_state=0)
        result = AutoDL(min_budget=1, max_budget=4, record_gradients=False, traditional=False).run(
            train, test.drop(columns=["diagnosis"]), "diagnosis", Constraint(budget_s=40, cores=1), seed=0,
            workdir=tmp_path / "job")
    finally:
        mark_finished(shared)
        out, err = joiner.communicate(timeout=90)
    assert joiner.returncode == 0, err
    assert int(out.split()[-1]) >= 1, out + err                       # the joined worker evaluated configurations
    assert (shared / "results.json").exists() or any(shared.rglob("results.json"))   # the search ran in the shared folder
    assert len(result.probabilities) == len(test)
