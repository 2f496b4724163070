"""`python -m autodl.lcbench sample --executor slurm` on the project's single-node SLURM cluster."""
import json

import pytest

from autodl.lcbench.__main__ import main
from tests.lcbench_fixtures import tiny_suite
from tests.slurm_fixtures import LOCAL_PROFILE, slurm_cluster  # noqa: F401 - fixture

pytestmark = [pytest.mark.slurm, pytest.mark.slow]


@pytest.mark.timeout(300)
def test_slurm_array_writes_the_same_records_as_a_local_run(slurm_cluster, tmp_path, capsys):  # noqa: F811
    suite = tiny_suite(tmp_path / "data")
    common = ["sample", "--suite", str(suite), "--configs", "2", "--epochs", "2"]
    assert main([*common, "--out", str(tmp_path / "slurm"), "--executor", "slurm", "--profile", str(LOCAL_PROFILE),
                 "--unit-minutes", "5", "--memory", "1024"]) == 0
    out = capsys.readouterr().out
    assert "submitted SLURM array" in out and "2 evaluated, 0 skipped" in out
    assert main([*common, "--out", str(tmp_path / "local")]) == 0
    for cid in (0, 1):
        on_slurm = json.loads((tmp_path / "slurm" / "runs" / "tiny" / f"config_{cid}.json").read_text())
        here = json.loads((tmp_path / "local" / "runs" / "tiny" / f"config_{cid}.json").read_text())
        assert on_slurm["config"] == here["config"]
        assert {k: v for k, v in on_slurm["log"].items() if k != "time"} == \
               {k: v for k, v in here["log"].items() if k != "time"}
    # a rerun finds everything done and submits nothing
    assert main([*common, "--out", str(tmp_path / "slurm"), "--executor", "slurm", "--profile", str(LOCAL_PROFILE)]) == 0
    out = capsys.readouterr().out
    assert "0 evaluated, 2 skipped" in out and "submitted" not in out


def test_slurm_options_without_the_slurm_executor(tmp_path, capsys):
    suite = tiny_suite(tmp_path / "data")
    assert main(["sample", "--suite", str(suite), "--configs", "1", "--epochs", "1", "--out", str(tmp_path / "o"),
                 "--no-wait"]) == 2
    assert "--profile and --no-wait go with --executor slurm" in capsys.readouterr().err
