"""SLURM planning without a cluster: profiles, time limits, array splitting, sbatch text, dry runs."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.jobs import plan_jobs
from benchmark.results import read_results
from benchmark.tasks import TaskSpec
from frameworks.base import Constraint
from slurm import ledger
from slurm.arrays import array_tasks, split_arrays
from slurm.executor import sbatch_text
from slurm.profile import ClusterProfile, ProfileError, load_profile, parse_profile
from tests.slurm_fixtures import bench

REPO = Path(__file__).resolve().parents[1]
PROFILES = REPO / "slurm" / "profiles"
GOLDEN = Path(__file__).parent / "slurm_golden"


def _jobs(n_tasks: int, frameworks=("constantpredictor",), seeds=(0,)):
    tasks = [TaskSpec(name=f"t{i}", source="openml", ref=str(i), cache_dir="/nonexistent") for i in range(n_tasks)]
    return plan_jobs(list(frameworks), tasks, [0], list(seeds), Constraint(60))


@pytest.mark.parametrize("profile, constraint, n_tasks, name, golden", [
    ("gpu-example", Constraint(3600, 8, 32000, 1), 720, "cc18", "gpu_array.sbatch"),
    ("cpu-example", Constraint(600, 2, 4096, 0), 1, "demo", "cpu_single.sbatch"),
])
def test_sbatch_text_matches_golden_file(profile, constraint, n_tasks, name, golden):
    params = load_profile(PROFILES / f"{profile}.yaml").executor_parameters(constraint, job_name=f"bench-{name}")
    text = sbatch_text(params, Path(f"/cluster/runs/{name}/slurm/logs/%j"), n_tasks, python="python3")
    assert text == (GOLDEN / golden).read_text()


def test_time_limit_follows_the_budget_with_documented_margin():
    profile = ClusterProfile()
    # 3600 * 1.15 + 20 s start-up + 5 s kill grace + 90 s signal delay = 4255 s -> 71 min, + 5 min margin
    assert profile.time_limit(3600) == 76
    assert profile.time_limit(10) == 3 + 5     # 126.5 s -> 3 min
    assert ClusterProfile(time_limit_min=3).time_limit(3600) == 3


def test_every_shipped_profile_loads():
    names = sorted(p.stem for p in PROFILES.glob("*.yaml"))
    assert {"gpu-example", "cpu-example", "local-test"} <= set(names)
    for name in names:
        assert load_profile(PROFILES / f"{name}.yaml").name == name


def test_gpu_profile_requests_the_constraints_gpus():
    gpu = load_profile(PROFILES / "gpu-example.yaml")
    assert gpu.executor_parameters(Constraint(60, 1, 1000, 2))["gpus_per_node"] == 2
    assert "gpus_per_node" not in gpu.executor_parameters(Constraint(60, 1, 1000, 0))


@pytest.mark.parametrize("doc, message", [
    ({"partion": "gpu"}, "unknown key(s) partion"),
    ({"array_parallelism": "many"}, "array_parallelism must be an integer"),
    ({"setup": "module load x"}, "setup must be a list"),
    ({"max_array_size": 0}, "max_array_size must be at least 1"),
    ({"gpus_per_node": -1}, "must not be negative"),
])
def test_bad_profiles_are_rejected_with_the_key_named(doc, message):
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_profile(doc, "p.yaml")


def test_missing_profile_file_names_the_examples(tmp_path):
    with pytest.raises(ProfileError, match="gpu-example.yaml"):
        load_profile(tmp_path / "nope.yaml")


def test_constraint_beyond_the_partition_is_rejected():
    with pytest.raises(ProfileError, match="--gpus 1"):
        load_profile(PROFILES / "cpu-example.yaml").check_constraint(Constraint(60, 1, 1000, 1))
    with pytest.raises(ProfileError, match="cpus_per_task 2 below --cores 4"):
        ClusterProfile(cpus_per_task=2).check_constraint(Constraint(60, 4))


def test_arrays_are_split_in_balanced_chunks_below_max_array_size(tmp_path):
    jobs = _jobs(72, ("autodl", "autogluon", "autosklearn", "h2o"), seeds=range(5))
    arrays = split_arrays(array_tasks(tmp_path, jobs), 1000)
    assert [len(a) for a in arrays] == [720, 720]
    assert [t.job for a in arrays for t in a] == [j.to_dict() for j in jobs]
    assert len(split_arrays(array_tasks(tmp_path, jobs), 5000)) == 1
    assert all(len(a) <= 100 for a in split_arrays(array_tasks(tmp_path, jobs), 100))


def test_distributed_autodl_search_is_one_master_and_workers_in_one_array(tmp_path):
    jobs = _jobs(5, ("autodl", "constantpredictor"))
    groups = array_tasks(tmp_path, jobs, autodl_workers=3)
    roles = [[t.role for t in g] for g in groups]
    assert roles[:2] == [["master", "worker", "worker"], ["job"]]
    master, worker = groups[0][0], groups[0][1]
    assert master.search["dir"] == worker.search["dir"] and worker.search["index"] == 1
    arrays = split_arrays(groups, 4)
    for array in arrays:      # a search's tasks are never split over two arrays
        assert array[0].role != "worker" and len(array) <= 4
    with pytest.raises(ValueError, match="lower --autodl-workers"):
        split_arrays(groups, 2)


def _cli(*args, cwd=REPO, timeout=120):
    return subprocess.run([sys.executable, "-m", "benchmark", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)


@pytest.mark.timeout(120)
def test_dry_run_of_the_full_cc18_plan_needs_no_cluster_and_no_data(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text((PROFILES / "gpu-example.yaml").read_text().replace("max_array_size: null", "max_array_size: 1000"))
    out = tmp_path / "run"
    res = _cli("run", "--suite", "openml-cc18", "--framework", "constantpredictor,randomforest,lightgbm,tests.adapters:Crash",
               "--seeds", "5", "--budget", "3600", "--gpus", "1", "--cores", "64", "--cache-dir", str(tmp_path / "empty"),
               "--executor", "slurm", "--profile", str(profile), "--dry-run", "--out", str(out))
    assert res.returncode == 0, res.stderr
    assert "1440 jobs -> 1440 array tasks in 2 array(s) = 2 sbatch call(s)" in res.stdout
    scripts = sorted((out / "slurm" / "dry-run").glob("*.sbatch"))
    assert len(scripts) == 2
    assert "#SBATCH --array=0-719%32" in scripts[0].read_text()
    assert "#SBATCH --time=77" in scripts[0].read_text()
    assert not (out / "run.yaml").exists() and not (tmp_path / "empty").exists()


def test_bad_profile_stops_before_anything_runs(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("partition: gpu\ntime_limt_min: 5\n")
    res = _cli("run", "--executor", "slurm", "--profile", str(profile), "--dry-run", "--out", str(tmp_path / "run"))
    assert res.returncode == 2
    assert "unknown key(s) time_limt_min" in res.stderr and "known keys" in res.stderr


def test_bad_autodl_workers_is_rejected(tmp_path):
    res = _cli("run", "--executor", "slurm", "--autodl-workers", "0", "--dry-run", "--out", str(tmp_path / "run"))
    assert res.returncode == 2 and "--autodl-workers must be at least 1" in res.stderr


@pytest.mark.timeout(240)
def test_a_local_run_leaves_out_jobs_submitted_to_a_slurm_it_cannot_ask(tmp_path):
    """A folder copied off a cluster: jobs its ledger lists may still run there, so a local run skips them
    (saying why and how to run them here) rather than risk a second row."""
    out = tmp_path / "run"
    submission = ledger.Submission("constantpredictor/iris/fold0_seed1", "4242_0", "job", ledger.now_utc())
    ledger.record(out, [submission])
    args = ("run", "--suite", "demo", "--out", str(out), "--task", "iris", "--framework", "constantpredictor",
            "--budget", "1", "--seeds", "2")
    no_slurm = {"SLURM_CONF": str(tmp_path / "no-such-slurm.conf")}   # sinfo fails whether SLURM is installed or not
    first = bench(*args, **no_slurm)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "which cannot be asked here" in first.stdout and "delete" in first.stdout, first.stdout
    assert "1 job(s) still queued or running elsewhere" in first.stdout
    assert list(read_results(out)["job"]) == ["constantpredictor/iris/fold0_seed0"]
    (out / ledger.LEDGER).unlink()                         # the fix the message names
    second = bench(*args, **no_slurm)
    assert second.returncode == 0, second.stdout + second.stderr
    assert sorted(read_results(out)["job"]) == ["constantpredictor/iris/fold0_seed0",
                                                "constantpredictor/iris/fold0_seed1"]
    ledger.record(out, [submission])      # its row is newer than its submission: finished, nothing to say
    third = bench(*args, **no_slurm)
    assert third.returncode == 0, third.stdout + third.stderr
    assert "cannot be asked" not in third.stdout and "elsewhere" not in third.stdout, third.stdout
