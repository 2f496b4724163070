"""FLAML (Microsoft's fast AutoML) in its own venv; ``exec/flaml_exec.py`` runs inside it."""
from frameworks.environments import VenvFramework


class FLAML(VenvFramework):
    package = "flaml"
    # flaml[automl] would pull `xgboost` with its 335 MB NCCL wheel: xgboost-cpu provides the same module
    install = [["flaml==2.7.0", "lightgbm==4.7.0", "xgboost-cpu==3.2.0", "scikit-learn", "pandas", "pyarrow"]]
    exec_script = "flaml_exec.py"
