"""Input checks, column encoding and the configurable preprocessing."""
import numpy as np
import pandas as pd
import pytest

from autodl.data import TabularData, TabularEncoder, check_xy
from autodl.preprocessing import Preprocessor
from tests.autodl_fixtures import mixed_frame


@pytest.mark.parametrize("X, y, message", [
    (pd.DataFrame(), [], "X is empty"),
    (pd.DataFrame({"a": [1, 2, 3]}), ["x", "x", "x"], "single class"),
    (pd.DataFrame({"a": [1, 2, 3]}), [0, np.nan, 1], "missing values"),
    (pd.DataFrame({"a": [1, 2, 3]}), [0, 1], "3 rows but y has 2"),
])
def test_bad_input_is_a_clear_error(X, y, message):
    with pytest.raises(ValueError, match=message):
        check_xy(X, y)


def test_mostly_numeric_object_column_with_garbage_is_rejected():
    X = pd.DataFrame({"num": [str(i) for i in range(30)] + ["oops"]})
    with pytest.raises(ValueError, match="'num' is mostly numeric.*'oops'"):
        TabularEncoder().fit(X)


def test_encoder_splits_numeric_and_categorical_with_missing_and_unseen():
    X, _ = mixed_frame()
    encoder = TabularEncoder().fit(X)
    assert encoder.categorical_columns_ == ["colour", "flag"]
    data = encoder.transform(X)
    assert data.numeric.shape == (len(X), 8) and np.isnan(data.numeric[::5, 1]).all()
    assert data.numeric.dtype == np.float32   # half the memory of float64 in every evaluation's copy
    assert (data.categorical[::7, 0] == -1).all()
    new = X.iloc[:3].copy()
    new["colour"] = new["colour"].cat.add_categories("purple")
    new.loc[new.index[0], "colour"] = "purple"
    assert encoder.transform(new).categorical[0, 0] == -1   # unseen = missing


def test_infinite_values_are_treated_as_missing():
    X = pd.DataFrame({"a": [1.0, np.inf, -np.inf, 2.0]})
    assert np.isnan(TabularEncoder().fit_transform(X).numeric[1:3, 0]).all()


@pytest.mark.parametrize("config, dense_width, n_indices", [
    ({"cat_encoding": "one_hot"}, 8 + 4 + 3, 0),            # one-hot includes a "missing" column per feature
    ({"cat_encoding": "embedding", "emb_max_dim": 4}, 8, 2),
    ({"cat_encoding": "one_hot", "svd": "on", "svd_dim": 5}, 5, 0),
])
def test_preprocessing_shapes(config, dense_width, n_indices):
    X, _ = mixed_frame()
    encoder = TabularEncoder().fit(X)
    data = encoder.transform(X)
    prepared = Preprocessor(config, encoder.cardinalities).fit_transform(data)
    assert prepared.dense.shape == (len(X), dense_width)
    assert prepared.indices.shape == (len(X), n_indices)
    assert prepared.dense.dtype == np.float32 and not np.isnan(prepared.dense).any()


@pytest.mark.parametrize("scaling", ["standard", "minmax"])
def test_scaling_in_place_never_changes_the_data_it_was_given(scaling):
    X, _ = mixed_frame()
    encoder = TabularEncoder().fit(X)
    data = encoder.transform(X)
    before = data.numeric.copy()
    preprocessor = Preprocessor({"scaling": scaling, "imputation": "median"}, encoder.cardinalities).fit(data)
    first = preprocessor.transform(data).dense.copy()
    assert np.array_equal(data.numeric, before, equal_nan=True)
    assert np.array_equal(preprocessor.transform(data).dense, first)   # the same input gives the same output


def test_preprocessing_is_fitted_on_train_only():
    train = TabularEncoder().fit_transform(pd.DataFrame({"a": [0.0, 2.0, np.nan]}))
    test = TabularEncoder().fit_transform(pd.DataFrame({"a": [100.0, np.nan]}))
    pre = Preprocessor({"imputation": "mean", "scaling": "none"}, []).fit(train)
    assert pre.transform(test).dense[:, 0].tolist() == [100.0, 1.0]


def test_text_column_of_numbers_is_numeric_and_unparseable_values_at_predict_become_missing():
    X = pd.DataFrame({"n": ["1", "2.5", None, "4"], "c": ["a", "b", "a", None]})
    encoder = TabularEncoder().fit(X)
    assert encoder.numeric_columns_ == ["n"] and encoder.categorical_columns_ == ["c"]
    data = encoder.transform(pd.DataFrame({"n": ["3", "junk"], "c": ["b", "zzz"]}))
    assert data.numeric[0, 0] == 3.0 and np.isnan(data.numeric[1, 0])
    assert data.categorical[:, 0].tolist() == [1, -1]


def test_median_imputation_matches_scikit_learns_and_fit_transform_matches_fit_then_transform():
    from sklearn.impute import SimpleImputer

    rng = np.random.default_rng(0)
    numeric = rng.normal(size=(200, 6)).astype(np.float32)
    numeric[rng.random(numeric.shape) < 0.2] = np.nan
    numeric[:, 3] = np.nan                                  # a column with no value at all
    data = TabularData(numeric, np.zeros((200, 0), dtype=np.int64))
    config = {"imputation": "median", "scaling": "none"}
    ours = Preprocessor(config, []).fit_transform(data).dense
    reference = SimpleImputer(strategy="median", keep_empty_features=True).fit_transform(numeric)
    assert np.allclose(ours, reference)
    config = {"imputation": "median", "scaling": "standard", "svd": "on", "svd_dim": 3}
    assert np.allclose(Preprocessor(config, []).fit_transform(data).dense,
                       Preprocessor(config, []).fit(data).transform(data).dense, atol=1e-4)


def test_holdout_stratifies_where_it_can_and_falls_back_to_random_for_a_singleton_class():
    from autodl.splits import holdout

    y = np.array([0] * 50 + [1] * 50)
    train, val = holdout(y, seed=0, test_size=0.2)
    assert np.bincount(y[val]).tolist() == [10, 10]                      # stratified
    y_rare = np.array([0] * 60 + [1] * 39 + [2])                         # class 2 cannot be on both sides
    train, val = holdout(y_rare, seed=0, test_size=0.2)
    assert len(val) == 20 and sorted(np.concatenate([train, val])) == list(range(100))


def test_kfold_stratifies_only_when_every_class_has_a_row_per_fold():
    from autodl.splits import kfold

    y = np.array([0] * 30 + [1] * 6)
    for _, val in kfold(y, 3, seed=0):
        assert np.bincount(y[val]).tolist() == [10, 2]                   # stratified: 2 of class 1 in each fold
    y_rare = np.array([0] * 30 + [1] * 2)                                # 2 rows < 3 folds: plain KFold
    splits = kfold(y_rare, 3, seed=0)
    assert len(splits) == 3 and sorted(np.concatenate([val for _, val in splits])) == list(range(32))
