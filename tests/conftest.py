import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() == "true"
ENABLE = "bash .ci/run (builds the competitors' venvs, installs Chromium, starts the SLURM test cluster)"


@pytest.fixture
def job_env(monkeypatch):
    """Let job processes import test-only adapters (``tests.adapters:Name``)."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    return REPO


def _reason(report) -> str:
    longrepr = report.longrepr
    return str(longrepr[2] if isinstance(longrepr, tuple) else longrepr).removeprefix("Skipped: ")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip is a failure: CI must have everything the tests need."""
    report = (yield).get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where nothing may be missing: {_reason(report)}"


def pytest_unconfigure(config):
    """The run's last line names what was skipped and the command that enables it."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        needs = sorted({_reason(r).split(";")[0] for r in skipped})
        reporter.write_line(f"{len(skipped)} test(s) skipped ({'; '.join(needs)[:600]}); enable them with: {ENABLE}")
