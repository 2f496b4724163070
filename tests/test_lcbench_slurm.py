"""LCBench sampling on the harness side (``benchmark.lcbench``): a SLURM array on the project's single-node
cluster writes the same records as autodl's own local sampler."""
import json

import pytest

from autodl.lcbench.cli import main as autodl_lcbench
from benchmark.cli import main as benchmark_main
from tests.lcbench_fixtures import tiny_suite
from tests.slurm_fixtures import LOCAL_PROFILE, slurm_cluster  # noqa: F401 - fixture


def lcbench(*argv: str) -> int:
    """``python -m benchmark lcbench ARGV`` in this process."""
    return benchmark_main(["lcbench", *argv])


@pytest.mark.slurm
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_slurm_array_writes_the_same_records_as_autodls_local_sampler(slurm_cluster, tmp_path, capsys):  # noqa: F811
    suite = tiny_suite(tmp_path / "data")
    common = ["--suite", str(suite), "--configs", "2", "--epochs", "2"]
    assert lcbench(*common, "--out", str(tmp_path / "slurm"), "--executor", "slurm", "--profile", str(LOCAL_PROFILE),
                   "--unit-minutes", "5", "--memory", "1024") == 0
    out = capsys.readouterr().out
    assert "submitted SLURM array" in out and "2 evaluated, 0 skipped" in out
    assert autodl_lcbench(["sample", *common, "--out", str(tmp_path / "local")]) == 0
    for cid in (0, 1):
        on_slurm = json.loads((tmp_path / "slurm" / "runs" / "tiny" / f"config_{cid}.json").read_text())
        here = json.loads((tmp_path / "local" / "runs" / "tiny" / f"config_{cid}.json").read_text())
        assert on_slurm["config"] == here["config"]
        assert {k: v for k, v in on_slurm["log"].items() if k != "time"} == \
               {k: v for k, v in here["log"].items() if k != "time"}
    # a rerun finds everything done and submits nothing
    assert lcbench(*common, "--out", str(tmp_path / "slurm"), "--executor", "slurm", "--profile", str(LOCAL_PROFILE)) == 0
    out = capsys.readouterr().out
    assert "0 evaluated, 2 skipped" in out and "submitted" not in out


def test_slurm_options_without_the_slurm_executor(tmp_path, capsys):
    suite = tiny_suite(tmp_path / "data")
    assert lcbench("--suite", str(suite), "--configs", "1", "--epochs", "1", "--out", str(tmp_path / "o"),
                   "--no-wait") == 2
    assert "--profile and --no-wait go with --executor slurm" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_harness_suites_run_locally_with_their_fold_0(tmp_path, capsys):
    """A named suite (scikit-learn's iris from the demo suite): test rows are the task's fold 0."""
    assert lcbench("--suite", "demo", "--datasets", "iris", "--configs", "1", "--epochs", "2",
                   "--out", str(tmp_path / "o")) == 0
    assert "1 evaluated, 0 skipped" in capsys.readouterr().out
    record = json.loads((tmp_path / "o" / "runs" / "iris" / "config_0.json").read_text())
    assert record["results"]["instances"] == 150 and record["results"]["test_split"] == pytest.approx(0.1)
    assert record["results"]["OpenML_task_id"] is None and len(record["log"]["epoch"]) == 2
