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
