"""The table never charges the harness's own failures to a framework."""
from __future__ import annotations

from benchmark.execute import Limits, execute_job
from benchmark.jobs import Job
from benchmark.results import read_results
from benchmark.table import comparison_table, framework_summary
from benchmark.tasks import TaskSpec
from frameworks.base import Constraint


def test_harness_failures_are_footnoted_and_kept_apart_from_the_frameworks(tmp_path):
    iris = TaskSpec("iris", "sklearn", "iris", target="class")
    vanished = TaskSpec("iris", "file", str(tmp_path / "deleted.csv"), target="class")
    for seed, task in ((0, iris), (1, vanished)):
        execute_job(tmp_path, Job("constantpredictor", task, 0, seed, Constraint(10)), Limits(startup_s=8))
    df = read_results(tmp_path)
    assert sorted(df["failure"].fillna("")) == ["", "harness"]
    table = comparison_table(df)
    assert "constantpredictor on iris: 1 of 2 jobs failed (harness; harness: the harness's own failure" in table
    summary = framework_summary(df).loc["constantpredictor"]
    assert summary["failures"] == "none" and summary["harness_failures"] == 1
