"""Bench-only variants (not in the registry): named on the command line as ``bench.overrun_adapters:Name``
(the job process needs the repository on PYTHONPATH, which bench_overrun.py sets)."""
from frameworks.autosklearn import AutoSklearn


class SVCOnlyAutoSklearn(AutoSklearn):
    """auto-sklearn 1.0 searching libsvm_svc only: on unscaled features some polynomial-kernel fits run
    for minutes, so every run needs its per-run time limit to hold."""

    def __init__(self, **params):
        super().__init__(include={"classifier": ["libsvm_svc"]})

    def venv_name(self) -> str:
        return "autosklearn"
