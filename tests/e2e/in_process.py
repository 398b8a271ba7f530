"""The `analytics` CLI called in the test process, for runs whose console-script behaviour is
not the point: the same command line, and the test process's Spark session serves the jobs
instead of a cold JVM per command."""

from __future__ import annotations

from click.testing import CliRunner, Result


def run_cli(lake_root: str, *args: str) -> Result:
    """`analytics <args>` on the lake `lake_root`; AssertionError with its output unless it
    exits 0."""
    from orchestration.cli import cli as analytics
    from orchestration.core.settings import get_settings

    get_settings.cache_clear()  # the CLI reads its settings once per process
    try:
        done = CliRunner().invoke(analytics, list(args), env={"LAKE_ROOT": lake_root})
    finally:
        get_settings.cache_clear()
    if done.exit_code != 0:
        raise AssertionError(
            f"analytics {' '.join(args)} failed ({done.exit_code}):\n{done.output[-3000:]}"
        ) from done.exception
    return done
