"""python -m autodl.importance on a real BOHB run folder and on LCBench-layout data, and its bad-input messages."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from autodl.importance.__main__ import main
from autodl.importance.data import load
from tests.importance_fixtures import run_bohb, write_lcbench_json

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bohb_run(tmp_path_factory):
    return run_bohb(tmp_path_factory.mktemp("bohb") / "run")


def ranked(output: str, budget: str, method: str) -> list[str]:
    lines = output.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"budget {budget} "))
    line = next(line for line in lines[start + 1:start + 3] if line.split()[0] == method)
    return line.split()[1::2]


@pytest.mark.timeout(120)
def test_run_folder_ranks_the_hyperparameter_that_matters_first(bohb_run, tmp_path, capsys):
    assert main([str(bohb_run), "--budget", "all", "--out", str(tmp_path), "--trees", "16"]) == 0
    out = capsys.readouterr().out
    for budget in ("3", "9"):
        assert ranked(out, budget, "fANOVA")[0] == "lr"
        assert ranked(out, budget, "LPI")[0] == "lr"
        # momentum is inactive for adam configurations: imputed, still analysed
        assert set(ranked(out, budget, "fANOVA")) == {"lr", "num_layers", "optimizer", "momentum"}
    rows = pd.read_csv(tmp_path / "importance.csv")
    assert set(rows["budget"]) == {3.0, 9.0} and set(rows["method"]) == {"fanova", "lpi"}
    assert rows["importance"].notna().all()
    assert (tmp_path / "importance.png").stat().st_size > 0
    assert "| budget | hyperparameter | fANOVA | LPI |" in (tmp_path / "importance.md").read_text()


@pytest.mark.timeout(120)
def test_evaluations_without_a_measured_loss_are_left_out(tmp_path, capsys):
    """Evaluations stopped for memory (here: every configuration with 4 or 5 layers) carry a placeholder
    loss; counted as measurements they would make num_layers look like what matters."""
    run = run_bohb(tmp_path / "memout", memout_from_layers=4)
    results = [json.loads(line) for line in (run / "results.json").read_text().splitlines()]
    memouts = sum(r[3]["info"]["status"] == "memout" for r in results)
    assert 0 < memouts < len(results)
    study = load(run)
    assert len(study.evaluations) == len(results) - memouts
    assert any(f"{memouts} evaluation(s) without a measured loss left out ({memouts} memout)" in n for n in study.notes)
    assert main([str(run), "--budget", "9", "--out", str(tmp_path / "out"), "--trees", "16"]) == 0
    assert ranked(capsys.readouterr().out, "9", "fANOVA")[0] == "lr"


def test_lcbench_json_writes_ranking_and_both_figures(tmp_path, capsys):
    data = write_lcbench_json(tmp_path / "lc.json", datasets=2, configs=30, epochs=3)
    assert main([str(data), "--budget", "1,3", "--trees", "16", "--pairs"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n  pairs   ") == 2
    assert ranked(out, "3", "fANOVA")[0] == "learning_rate"
    assert ranked(out, "1", "LPI")[0] == "learning_rate"
    assert "2 dataset(s)" in out
    folder = tmp_path / "lc_importance"
    assert (folder / "importance.png").exists()
    assert (folder / "val_accuracy_by_dataset_epoch3.png").exists()
    summary = pd.read_csv(folder / "importance_summary.csv")
    assert set(summary["groups"]) == {2}
    pairs = pd.read_csv(folder / "importance_pairs.csv")
    assert len(pairs) == 2 * 2 * 21  # budgets x datasets x pairs of 7 hyperparameters
    assert pairs["importance"].notna().all()


def test_constant_hyperparameter_is_dropped_with_a_note(tmp_path, capsys):
    data = write_lcbench_json(tmp_path / "lc.json", datasets=1, configs=20, epochs=2, constant={"num_layers": 3})
    assert main([str(data), "--budget", "2", "--trees", "8", "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert "'num_layers' is constant in the data (= 3); dropped" in captured.err
    rows = pd.read_csv(tmp_path / "out" / "importance.csv")
    assert "num_layers" not in set(rows["hyperparameter"]) and rows["importance"].notna().all()


def test_budget_not_in_the_data_lists_the_available_ones(tmp_path, capsys):
    data = write_lcbench_json(tmp_path / "lc.json", datasets=1, configs=5, epochs=4)
    assert main([str(data), "--budget", "7"]) == 2
    assert "error: budget 7 is not in the data; epoch available: 1-4" in capsys.readouterr().err


def test_run_folder_without_finished_evaluations(tmp_path, capsys):
    (tmp_path / "configs.json").write_text(json.dumps([[0, 0, 0], {"lr": 0.01}, {}]) + "\n")
    failed = [[0, 0, 0], 3.0, {"submitted": 0, "started": 0, "finished": 1}, None, "Traceback: out of memory"]
    (tmp_path / "results.json").write_text(json.dumps(failed) + "\n")
    assert main([str(tmp_path), "--budget", "3"]) == 2
    assert "no finished evaluations (1 exception in results.json)" in capsys.readouterr().err


def test_folder_that_is_not_a_run(tmp_path, capsys):
    assert main([str(tmp_path), "--budget", "3"]) == 2
    assert "no configs.json + results.json" in capsys.readouterr().err


def test_json_that_is_not_lcbench_layout(tmp_path, capsys):
    (tmp_path / "x.json").write_text(json.dumps({"a": [1, 2]}))
    assert main([str(tmp_path / "x.json"), "--budget", "1"]) == 2
    assert "LCBench's layout" in capsys.readouterr().err


@pytest.mark.timeout(120)
def test_module_entry_point(tmp_path):
    data = write_lcbench_json(tmp_path / "lc.json", datasets=1, configs=10, epochs=2)
    done = subprocess.run([sys.executable, "-m", "autodl.importance", str(data), "--budget", "2", "--trees", "8"],
                          cwd=REPO, capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("budget 2 epoch (1 dataset(s), 10 evaluations")


def test_run_folder_without_configspace_uses_autodl_space(tmp_path, capsys):
    # configurations from autodl's own space, conditional hyperparameters absent where inactive
    from autodl.space import build_space

    configs = [dict(c) for c in build_space(seed=3).sample_configuration(40)]
    with open(tmp_path / "configs.json", "w") as fh, open(tmp_path / "results.json", "w") as rh:
        for i, config in enumerate(configs):
            config = {k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()}
            fh.write(json.dumps([[0, 0, i], config, {}]) + "\n")
            loss = (__import__("math").log10(config["lr"]) + 2.5) ** 2
            rh.write(json.dumps([[0, 0, i], 9.0, {"submitted": 0}, {"loss": loss, "info": {}}, None]) + "\n")
    assert main([str(tmp_path), "--budget", "9", "--trees", "16"]) == 0
    captured = capsys.readouterr()
    assert "ranges seen in the data" not in captured.err
    assert ranked(captured.out, "9", "fANOVA")[0] == "lr"
    assert ranked(captured.out, "9", "LPI")[0] == "lr"


def test_lcbench_file_with_lcbench_own_fields(tmp_path, capsys):
    # LCBench's own record shape: 52 logged epochs, accuracies in percent, dataset entries in results
    from tests.lcbench_fixtures import genuine_style_record

    data = {"adult": {str(i): genuine_style_record(seed=i) for i in range(8)}}
    (tmp_path / "lc.json").write_text(json.dumps(data))
    assert main([str(tmp_path / "lc.json"), "--budget", "60"]) == 2
    assert "budget 60 is not in the data; epoch available: 1-52" in capsys.readouterr().err
    assert main([str(tmp_path / "lc.json"), "--budget", "12,52", "--trees", "8"]) == 0
    out = capsys.readouterr().out
    assert "budget 52 epoch (1 dataset(s), 8 evaluations" in out
    assert len(ranked(out, "12", "fANOVA")) == 7


@pytest.mark.parametrize("result, exception, outcome", [
    ({"loss": 0.2, "info": {"status": "ok"}}, None, "ok"),
    ({"loss": 0.2}, None, "ok"),                                        # runs recorded before statuses
    ({"loss": 1.0, "info": {"status": "crash"}}, None, "crash"),
    ({"loss": 1.0, "info": {"status": "timeout"}}, None, "timeout"),
    ({"loss": 1.0, "info": {"status": "memout"}}, None, "memout"),
    ({"loss": 1.0, "info": {"status": "skipped"}}, None, "skipped"),
    (None, "Traceback ... RuntimeError", "exception"),
    ({"loss": float("nan"), "info": {"status": "ok"}}, None, "no loss"),
    ({"loss": None}, None, "no loss"),
])
def test_only_evaluations_with_a_measured_loss_count(result, exception, outcome):
    from autodl.importance.data import evaluation_outcome

    assert evaluation_outcome(result, exception) == outcome
