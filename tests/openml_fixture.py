"""Builds openml-python's on-disk cache by hand, in OpenML's own file formats, from data the
project has (scikit-learn's bundled datasets), so tests drive openml-python's real code path
with zero network requests."""
from __future__ import annotations

from pathlib import Path

import arff
import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold

OML = 'xmlns:oml="http://openml.org/openml"'


def iris_with_nominal() -> pd.DataFrame:
    """Iris plus a nominal feature and a few missing values: exercises typing and NaN handling."""
    from sklearn.datasets import load_iris

    bunch = load_iris(as_frame=True)
    frame = bunch.data.copy()
    frame.columns = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    frame["size"] = pd.cut(frame["sepal_length"], [0, 5.5, 6.5, 10], labels=["small", "medium", "large"]).astype(str)
    frame.loc[::17, "sepal_width"] = np.nan
    frame["class"] = np.asarray(bunch.target_names)[bunch.target]
    return frame


def build_cache(root: Path, frame: pd.DataFrame, target: str, task_id: int, dataset_id: int, name: str,
                n_folds: int = 10) -> Path:
    """Write dataset ``dataset_id`` and its ``n_folds``-fold CV task ``task_id`` under ``root``."""
    www = Path(root) / "org" / "openml" / "www"
    ddir, tdir = www / "datasets" / str(dataset_id), www / "tasks" / str(task_id)
    ddir.mkdir(parents=True, exist_ok=True)
    tdir.mkdir(parents=True, exist_ok=True)

    attributes, features = [], []
    for i, col in enumerate(frame.columns):
        nominal = not pd.api.types.is_numeric_dtype(frame[col])
        values = sorted(frame[col].dropna().astype(str).unique()) if nominal else None
        attributes.append((col, values if nominal else "REAL"))
        nominal_xml = "".join(f"<oml:nominal_value>{v}</oml:nominal_value>" for v in values or [])
        features.append(
            f"<oml:feature><oml:index>{i}</oml:index><oml:name>{col}</oml:name>"
            f"<oml:data_type>{'nominal' if nominal else 'numeric'}</oml:data_type>{nominal_xml}"
            f"<oml:is_target>{str(col == target).lower()}</oml:is_target><oml:is_ignore>false</oml:is_ignore>"
            f"<oml:is_row_identifier>false</oml:is_row_identifier>"
            f"<oml:number_of_missing_values>{int(frame[col].isna().sum())}</oml:number_of_missing_values></oml:feature>")
    rows = [[None if (isinstance(v, float) and np.isnan(v)) else v for v in r] for r in frame.itertuples(index=False)]
    (ddir / "dataset.arff").write_text(arff.dumps({"relation": name, "description": "", "attributes": attributes,
                                                   "data": rows}))
    (ddir / "description.xml").write_text(f"""<oml:data_set_description {OML}>
  <oml:id>{dataset_id}</oml:id><oml:name>{name}</oml:name><oml:version>1</oml:version>
  <oml:description>offline test fixture</oml:description><oml:format>ARFF</oml:format>
  <oml:upload_date>2020-01-01T00:00:00</oml:upload_date><oml:licence>Public</oml:licence>
  <oml:url>http://127.0.0.1:9/data/v1/download/{dataset_id}/{name}.arff</oml:url>
  <oml:file_id>{dataset_id}</oml:file_id><oml:default_target_attribute>{target}</oml:default_target_attribute>
  <oml:visibility>public</oml:visibility><oml:status>active</oml:status>
</oml:data_set_description>
""")
    (ddir / "features.xml").write_text(f"<oml:data_features {OML}>\n" + "\n".join(features) + "\n</oml:data_features>\n")
    y = frame[target].astype(str)
    qualities = {"NumberOfInstances": len(frame), "NumberOfFeatures": frame.shape[1], "NumberOfClasses": y.nunique(),
                 "NumberOfMissingValues": int(frame.isna().sum().sum())}
    (ddir / "qualities.xml").write_text(f"<oml:data_qualities {OML}>\n" + "".join(
        f"<oml:quality><oml:name>{k}</oml:name><oml:value>{float(v)}</oml:value></oml:quality>\n"
        for k, v in qualities.items()) + "</oml:data_qualities>\n")
    (tdir / "task.xml").write_text(f"""<oml:task {OML}>
  <oml:task_id>{task_id}</oml:task_id><oml:task_type_id>1</oml:task_type_id><oml:task_type>Supervised Classification</oml:task_type>
  <oml:input name="source_data"><oml:data_set><oml:data_set_id>{dataset_id}</oml:data_set_id><oml:target_feature>{target}</oml:target_feature></oml:data_set></oml:input>
  <oml:input name="estimation_procedure"><oml:estimation_procedure><oml:id>1</oml:id><oml:type>crossvalidation</oml:type>
    <oml:data_splits_url>http://127.0.0.1:9/api_splits/get/{task_id}/Task_{task_id}_splits.arff</oml:data_splits_url>
    <oml:parameter name="number_repeats">1</oml:parameter><oml:parameter name="number_folds">{n_folds}</oml:parameter>
    <oml:parameter name="percentage"></oml:parameter><oml:parameter name="stratified_sampling">true</oml:parameter>
  </oml:estimation_procedure></oml:input>
  <oml:input name="evaluation_measures"><oml:evaluation_measures><oml:evaluation_measure>predictive_accuracy</oml:evaluation_measure></oml:evaluation_measures></oml:input>
</oml:task>
""")
    splits = []
    for fold, (train, test) in enumerate(StratifiedKFold(n_folds, shuffle=True, random_state=1).split(frame, y)):
        splits += [["TRAIN", int(r), 0, fold] for r in train] + [["TEST", int(r), 0, fold] for r in test]
    (tdir / "datasplits.arff").write_text(arff.dumps({
        "relation": f"Task_{task_id}_splits", "description": "",
        "attributes": [("type", ["TRAIN", "TEST"]), ("rowid", "INTEGER"), ("repeat", "INTEGER"), ("fold", "INTEGER")],
        "data": splits}))
    return Path(root)
