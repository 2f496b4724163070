"""`python -m autodl.lcbench sample` end to end on a tiny dataset, resume, export and re-import."""
import json

import pandas as pd
import pytest

from autodl.lcbench.__main__ import main
from autodl.lcbench.export import collect_runs, from_tidy, read_lcbench_json, to_lcbench_scale
from autodl.lcbench.space import to_trainer_config
from tests.lcbench_fixtures import genuine_style_record, tiny_suite

EPOCHS = 3
PER_EPOCH = ["epoch", "time", "Train/loss", "Train/lr", "Train/train_accuracy", "Train/train_balanced_accuracy",
             "Train/train_cross_entropy", "Train/val_accuracy", "Train/val_balanced_accuracy",
             "Train/val_cross_entropy", "Train/test_result", "Train/test_balanced_accuracy",
             "Train/test_cross_entropy", "Train/gradient_norm", "Train/gradient_q90"]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    root = tmp_path_factory.mktemp("lcbench")
    suite = tiny_suite(root / "data")
    out = root / "sample"
    assert main(["sample", "--suite", str(suite), "--configs", "2", "--epochs", str(EPOCHS), "--out", str(out)]) == 0
    return suite, out


@pytest.mark.timeout(300)
def test_sample_writes_one_lcbench_record_per_dataset_and_configuration(sample):
    _, out = sample
    files = sorted((out / "runs" / "tiny").glob("config_*.json"))
    assert [f.name for f in files] == ["config_0.json", "config_1.json"]
    for path in files:
        record = json.loads(path.read_text())
        log = record["log"]
        assert all(len(log[tag]) == EPOCHS for tag in PER_EPOCH)
        assert log["epoch"] == [1, 2, 3]
        assert log["Train/lr"][0] == pytest.approx(record["config"]["learning_rate"])
        assert log["Train/lr"][1] < log["Train/lr"][0]  # cosine annealing
        # a funnel MLP of num_layers hidden layers has num_layers + 1 linear layers
        layers = {t.rsplit("_", 1)[1] for t in log if t.startswith("Train/layer_wise_gradient_max_layer_")}
        assert layers == {str(i) for i in range(record["config"]["num_layers"] + 1)}
        assert 0 <= log["Train/val_accuracy"][-1] <= 1
        results = record["results"]
        assert results["instances"] == 60 and results["classes"] == 2 and results["features"] == 4
        assert results["final_val_accuracy"] == pytest.approx(log["Train/val_accuracy"][-1])
        assert results["model_parameters"] > 0
        assert record["config"]["loss"] == "cross_entropy"   # what the trainer minimises (unweighted)


def test_a_configuration_asking_for_another_loss_is_refused():
    record = genuine_style_record()   # LCBench's own runs used class-weighted cross-entropy
    with pytest.raises(ValueError, match="cross_entropy_weighted"):
        to_trainer_config(record["config"])


@pytest.mark.timeout(300)
def test_rerun_skips_finished_files_and_redoes_missing_ones(sample, capsys):
    suite, out = sample
    first = out / "runs" / "tiny" / "config_0.json"
    second = out / "runs" / "tiny" / "config_1.json"
    stamp = first.stat().st_mtime_ns
    kept = second.read_text()
    second.unlink()  # as if interrupted before this evaluation finished
    assert main(["sample", "--suite", str(suite), "--configs", "2", "--epochs", str(EPOCHS), "--out", str(out)]) == 0
    assert "1 evaluated, 1 skipped" in capsys.readouterr().out
    assert first.stat().st_mtime_ns == stamp
    redone = json.loads(second.read_text())
    assert redone["config"] == json.loads(kept)["config"]  # same seed, same configuration
    assert redone["log"]["Train/val_accuracy"] == json.loads(kept)["log"]["Train/val_accuracy"]  # and same training
    assert not list(out.rglob("*.tmp"))


def test_rerun_with_other_settings_is_refused(sample, capsys):
    suite, out = sample
    assert main(["sample", "--suite", str(suite), "--configs", "2", "--epochs", "5", "--out", str(out)]) == 2
    assert "epochs was 3, now 5" in capsys.readouterr().err


def test_export_and_reimport_round_trip_exactly(sample, tmp_path):
    _, out = sample
    assert main(["export", str(out), "--json", str(tmp_path / "lc.json"), "--parquet", str(tmp_path / "lc.parquet")]) == 0
    original = collect_runs(out)
    reread = read_lcbench_json(tmp_path / "lc.json")
    assert reread == original
    assert list(reread) == ["tiny"] and list(reread["tiny"]) == ["0", "1"]
    for cid, run in reread["tiny"].items():
        file = json.loads((out / "runs" / "tiny" / f"config_{cid}.json").read_text())
        assert run == to_lcbench_scale(file)
        # LCBench's scale: accuracies in percent, balanced accuracies and cross-entropies unchanged
        for tag in ("Train/train_accuracy", "Train/val_accuracy", "Train/test_result"):
            assert run["log"][tag] == pytest.approx([100 * v for v in file["log"][tag]])
        assert run["results"]["final_val_accuracy"] == pytest.approx(100 * file["results"]["final_val_accuracy"])
        assert run["log"]["Train/val_balanced_accuracy"] == file["log"]["Train/val_balanced_accuracy"]
        assert run["log"]["Train/val_cross_entropy"] == file["log"]["Train/val_cross_entropy"]
        assert run["results"]["final_val_balanced_accuracy"] == file["results"]["final_val_balanced_accuracy"]
        assert max(run["log"]["Train/val_accuracy"]) > 1
    table = pd.read_parquet(tmp_path / "lc.parquet")
    assert len(table) == 2 * EPOCHS and list(table.columns[:3]) == ["dataset", "config_id", "epoch"]
    back = from_tidy(table)
    for cid, run in original["tiny"].items():
        assert back["tiny"][cid]["config"] == run["config"]
        assert back["tiny"][cid]["log"] == run["log"]


def test_import_of_an_lcbench_file_and_conversion_to_parquet(tmp_path):
    data = {"adult": {str(i): genuine_style_record(seed=i) for i in range(3)},
            "higgs": {str(i): genuine_style_record(seed=10 + i) for i in range(3)}}
    (tmp_path / "six.json").write_text(json.dumps(data))
    assert read_lcbench_json(tmp_path / "six.json") == data
    assert main(["export", str(tmp_path / "six.json"), "--parquet", str(tmp_path / "six.parquet"),
                 "--json", str(tmp_path / "copy.json")]) == 0
    assert json.loads((tmp_path / "copy.json").read_text()) == data
    table = pd.read_parquet(tmp_path / "six.parquet")
    assert len(table) == 2 * 3 * 52
    assert from_tidy(table)["higgs"]["2"]["log"] == data["higgs"]["2"]["log"]


def test_export_of_a_folder_without_runs(tmp_path, capsys):
    assert main(["export", str(tmp_path), "--json", str(tmp_path / "x.json")]) == 2
    assert "no runs/<dataset>/config_<id>.json files" in capsys.readouterr().err


def test_a_named_suite_points_to_the_harness(tmp_path, capsys):
    assert main(["sample", "--suite", "demo", "--configs", "1", "--epochs", "1", "--out", str(tmp_path / "o")]) == 2
    assert "python -m benchmark lcbench --suite demo" in capsys.readouterr().err


def test_unknown_dataset_in_suite(sample, tmp_path, capsys):
    suite, _ = sample
    assert main(["sample", "--suite", str(suite), "--datasets", "nope", "--configs", "1", "--epochs", "1",
                 "--out", str(tmp_path / "o")]) == 2
    assert "dataset(s) nope are not in suite" in capsys.readouterr().err


@pytest.mark.timeout(300)
def test_parallel_workers_write_the_same_records_as_one_process(sample, tmp_path):
    suite, out = sample
    parallel = tmp_path / "parallel"
    assert main(["sample", "--suite", str(suite), "--configs", "2", "--epochs", str(EPOCHS), "--out", str(parallel),
                 "--workers", "2"]) == 0
    for cid in ("0", "1"):
        one = json.loads((out / "runs" / "tiny" / f"config_{cid}.json").read_text())
        two = json.loads((parallel / "runs" / "tiny" / f"config_{cid}.json").read_text())
        assert two["config"] == one["config"]
        assert {k: v for k, v in two["log"].items() if k != "time"} == {k: v for k, v in one["log"].items() if k != "time"}
