"""What the `analytics` program does as a process of its own: `analytics run` lets its Spark JVM
go once the run's Spark tasks are done (a call of the CLI from Python, a test, a notebook, keeps
the caller's session), and the garbage collector runs less often."""

from __future__ import annotations

import gc
import sys

import pytest

from orchestration import cli as cli_module
from orchestration.core.settings import get_settings
from orchestration.local.runner import Runner, RunResult
from orchestration.tasks import release_spark


@pytest.fixture
def runs(monkeypatch, tmp_path) -> list[dict]:
    """What each run was given to release (the run itself does nothing here)."""
    seen: list[dict] = []

    def run(self, pipeline, params, resume=False):
        seen.append(self.release)
        return RunResult("run-id", pipeline.name, params)

    monkeypatch.setattr(Runner, "run", run)
    monkeypatch.setenv("LAKE_ROOT", str(tmp_path / "lake"))
    get_settings.cache_clear()
    yield seen
    get_settings.cache_clear()


def test_only_the_analytics_program_releases_spark_during_its_run(runs, monkeypatch):
    args = ["run", "ace_daily", "--date", "2026-01-02"]
    cli_module.cli.main(args, prog_name="analytics", standalone_mode=False)
    monkeypatch.setattr(sys, "argv", ["analytics", *args])
    with pytest.raises(SystemExit) as ended:
        cli_module.main()
    assert ended.value.code == 0
    assert runs == [{}, {"spark": release_spark}]


def test_the_analytics_program_collects_garbage_less_often(runs, monkeypatch):
    """A short process with a large heap: Python's default thresholds (700, 10, 10) made a cold
    daily run collect ~814 times (0.7-0.8 s); the program raises them."""
    monkeypatch.setattr(sys, "argv", ["analytics", "run", "ace_daily", "--date", "2026-01-02"])
    before = gc.get_threshold()
    try:
        with pytest.raises(SystemExit):
            cli_module.main()
        young, middle, full = gc.get_threshold()
    finally:
        gc.set_threshold(*before)
    assert young >= 10_000 and full > 10
