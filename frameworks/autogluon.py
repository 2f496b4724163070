"""AutoGluon-Tabular in its own venv; presets are registry variants (autogluon, autogluon_best). See exec/autogluon_exec.py."""
from frameworks.environments import VenvFramework


class AutoGluon(VenvFramework):
    package = "autogluon.tabular"
    # torch first, pinned to the CPU wheel the project uses, so autogluon's resolver keeps it
    install = [["torch==2.13.0"], ["autogluon.tabular[all]==1.6.3", "pyarrow"]]
    exec_script = "autogluon_exec.py"
