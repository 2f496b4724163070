"""The one door to hpbandster: import hpbandster names from here, never directly.

hpbandster 0.7.4 talks over Pyro4, whose default serpent serializer cannot read numpy
scalars back (budgets are ``np.float64``, ConfigSpace 1.2 categoricals are ``np.str_``);
the calls are fire-and-forget, so without a fix the search hangs silently. Importing this
module registers the fix in the current process before any NameServer/Worker/Master
exists, and every process of ours (master, workers) imports hpbandster only through here.
"""
from __future__ import annotations

import warnings

import numpy as np
import serpent

# hpbandster 0.7.4 calls ConfigSpace APIs deprecated in 1.x (get_dictionary, ...) on every sample
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"hpbandster\.")
# statsmodels 0.15 warns on every KDEMultivariate made without rng= that its default generator will change;
# BOHB's KDEs (bw="normal_reference") draw no random numbers, so the change cannot touch them
warnings.filterwarnings("ignore", message="After 0.17 or January 2028", category=FutureWarning)


def _serialize_numpy_scalar(obj, serializer, out, level):
    serializer._serialize(obj.item(), out, level)


def install_numpy_serializer() -> None:
    """Let serpent write numpy scalars as the equivalent Python values (idempotent)."""
    serpent.register_class(np.generic, _serialize_numpy_scalar)


install_numpy_serializer()

# hpbandster only after the fix, and lazily: a worker needs only the light Worker class
# (0.3 s), not the master's statsmodels/scipy stack (several seconds).
_NAMES = {
    "Worker": ("hpbandster.core.worker", "Worker"),
    "NameServer": ("hpbandster.core.nameserver", "NameServer"),
    "nic_name_to_host": ("hpbandster.core.nameserver", "nic_name_to_host"),
    "Master": ("hpbandster.core.master", "Master"),
    "json_result_logger": ("hpbandster.core.result", "json_result_logger"),
    "base_config_generator": ("hpbandster.core.base_config_generator", "base_config_generator"),
    "BOHBConfigGenerator": ("hpbandster.optimizers.config_generators.bohb", "BOHB"),
    "SuccessiveHalving": ("hpbandster.optimizers.iterations", "SuccessiveHalving"),
}

__all__ = ["install_numpy_serializer", *_NAMES]


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module 'autodl.hpb' has no attribute {name!r}")
    import importlib

    module, attribute = _NAMES[name]
    return getattr(importlib.import_module(module), attribute)
