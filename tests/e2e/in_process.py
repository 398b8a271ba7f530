"""The `analytics` CLI and dbt called in the test process, for runs whose console-script
behaviour is not the point: the same command line, and the test process's Spark session serves
the jobs instead of a cold JVM per command (dbt is imported once instead of per command)."""

from __future__ import annotations

import os
from pathlib import Path

from click.testing import CliRunner, Result

PROJECT = Path(__file__).resolve().parents[2] / "dbt_project"


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


def project_args(target_path: Path, log_path: Path | None = None) -> list[str]:
    """The flags of a dbt invocation on the checkout's project and profiles, its artefacts in
    `target_path` and its log in `log_path` (default: `target_path`/logs)."""
    return [
        "--project-dir",
        str(PROJECT),
        "--profiles-dir",
        str(PROJECT),
        "--target-path",
        str(target_path),
        "--log-path",
        str(log_path or target_path / "logs"),
    ]


def run_dbt(args: list[str], env: dict[str, str]) -> str:
    """`dbt <args>` in the test process (dbt imported once, not in every subprocess) with `env`
    added to the environment for the invocation; returns the messages dbt logged (what its
    console shows). AssertionError with those messages unless it succeeds."""
    from unittest.mock import patch

    from dbt.cli.main import dbtRunner

    from orchestration.local.dbt import _release_duckdb

    messages: list[str] = []

    def keep(event) -> None:
        if event.info.level in ("info", "warn", "error"):
            messages.append(event.info.msg)

    with patch.dict(os.environ, {"DBT_SEND_ANONYMOUS_USAGE_STATS": "false", **env}):
        try:
            result = dbtRunner(callbacks=[keep]).invoke(args)
        finally:
            _release_duckdb()  # the test opens the database after
    output = "\n".join(messages)
    if not result.success:
        raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception}\n{output[-5000:]}")
    return output
