"""Data for importance tests: LCBench-layout JSON and a real hpbandster BOHB run folder."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from autodl.lcbench.space import sample_configs


def synthetic_accuracy(config: dict, epoch: int, dataset: int) -> float:
    """Validation accuracy (percent) that depends mostly on learning rate, then on num_layers."""
    lr = np.log10(config["learning_rate"])
    plateau = 90 - 8 * (lr + 2) ** 2 - 3 * abs(config["num_layers"] - 2) + dataset
    return float(plateau - 15 * np.exp(-epoch / 2))


def write_lcbench_json(path: Path, *, datasets: int = 2, configs: int = 30, epochs: int = 3,
                       constant: dict | None = None) -> Path:
    data = {}
    for d in range(datasets):
        runs = {}
        for i, config in enumerate(sample_configs(configs, seed=0, epochs=epochs)):
            config.update(constant or {})
            curve = [synthetic_accuracy(config, e, d) for e in range(1, epochs + 1)]
            runs[str(i)] = {"config": config,
                            "log": {"epoch": list(range(1, epochs + 1)), "Train/val_accuracy": curve},
                            "results": {"final_val_accuracy": curve[-1]}}
        data[f"dataset{d}"] = runs
    path.write_text(json.dumps(data))
    return path


def run_bohb(folder: Path, *, n_iterations: int = 12, memout_from_layers: int | None = None) -> Path:
    """A real BOHB run (hpbandster 0.7.4, json_result_logger) on a cheap function.

    The space has a conditional hyperparameter (momentum only for sgd), so the log holds
    configurations where it is inactive. With ``memout_from_layers``, configurations with that many
    layers or more end as autodl's worker records an evaluation stopped for memory: status
    ``memout`` and a placeholder loss worse than any measured one.
    """
    import ConfigSpace as CS
    import hpbandster.core.nameserver as hpns
    import hpbandster.core.result as hpres
    import serpent
    from hpbandster.core.worker import Worker
    from hpbandster.optimizers import BOHB

    # hpbandster + numpy 2: serpent cannot serialise numpy scalars (see design.md)
    serpent.register_class(np.generic, lambda o, s, out, level: s._serialize(o.item(), out, level))
    logging.getLogger("hpbandster").setLevel(logging.WARNING)

    space = CS.ConfigurationSpace(seed=1)
    lr = CS.Float("lr", (1e-4, 1e-1), log=True)
    layers = CS.Integer("num_layers", (1, 5))
    optimizer = CS.Categorical("optimizer", ["adam", "sgd"])
    momentum = CS.Float("momentum", (0.1, 0.99))
    space.add([lr, layers, optimizer, momentum, CS.EqualsCondition(momentum, optimizer, "sgd")])

    class Quadratic(Worker):
        def compute(self, config, budget, **kwargs):
            if memout_from_layers is not None and config["num_layers"] >= memout_from_layers:
                return {"loss": 10.0, "info": {"status": "memout", "error": "evaluation exceeded 600 MB"}}
            loss = (np.log10(config["lr"]) + 2) ** 2 + 0.2 * abs(config["num_layers"] - 3) + 1.0 / budget
            return {"loss": float(loss), "info": {"status": "ok"}}

    folder.mkdir(parents=True, exist_ok=True)
    space.to_json(folder / "configspace.json")
    run_id = f"importance-test-{folder.name}"
    ns = hpns.NameServer(run_id=run_id, host="127.0.0.1", port=None)
    host, port = ns.start()
    worker = Quadratic(nameserver=host, nameserver_port=port, run_id=run_id)
    worker.run(background=True)
    bohb = BOHB(configspace=space, run_id=run_id, nameserver=host, nameserver_port=port,
                min_budget=3, max_budget=9, eta=3,
                result_logger=hpres.json_result_logger(directory=str(folder), overwrite=True))
    try:
        bohb.run(n_iterations=n_iterations)
    finally:
        bohb.shutdown(shutdown_workers=True)
        ns.shutdown()
    return folder
