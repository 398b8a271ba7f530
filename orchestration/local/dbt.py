"""Running the dbt project in-process (dbt's programmatic API), its log captured in the task log."""

from __future__ import annotations

import gc
import os
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# The models (and their tests) the ACE pipelines build, with everything upstream of them.
ACE_SELECTION = ("+marts.ace", "+marts.reports", "+marts.warehouse")
# The usage models (§5.4) over the events the delivery stream landed, and their source freshness.
USAGE_SELECTION = ("+marts.usage",)
# The social report models (§5.2) over the statistics the shards published.
SOCIAL_SELECTION = ("+marts.social",)
# Unit tests check the SQL, not the data: they run in `make test`, not in scheduled builds.
SCHEDULED_BUILD = ("build", "--exclude-resource-type", "unit_test")
# A daily build also leaves out the data tests that scan the whole history (staging views over
# every partition, the notification state table, the customer view over every snapshot, the
# tests tagged whole_history such as those of the orphan receipts view): its cost must follow
# the day, not the lake.
# The monthly rebuild runs all of them.
DAILY_EXCLUDE = (
    "--exclude",
    "resource_type:test,path:models/staging",
    "resource_type:test,path:models/intermediate",
    "resource_type:test,path:models/marts/warehouse",
    "resource_type:test,path:tests/warehouse",
    "resource_type:test,tag:whole_history",
)

# dbt reads its settings from the process environment and is not re-entrant: one call at a time.
_dbt_lock = threading.Lock()


class DbtError(RuntimeError):
    """dbt reported a failure; the task log holds its output."""


def dbt_env(settings: Settings, lake: Lake) -> dict[str, str]:
    """Environment for a dbt invocation: where the lake is, which target, where artefacts go."""
    env = {
        "LAKE_ROOT": lake.root,
        "ANALYTICS_TARGET": settings.target,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    if lake.is_local:
        # Each lake gets its own dbt artefacts, so separate lakes never share target/ or logs/.
        env["DBT_TARGET_PATH"] = os.path.join(lake.root, "_dbt", "target")
        env["DBT_LOG_PATH"] = os.path.join(lake.root, "_dbt", "logs")
    return env


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


def _release_duckdb() -> None:
    """Close dbt-duckdb's cached database handle so other readers (exports, users) can open it."""
    if "dbt.adapters.duckdb.connections" not in sys.modules:
        return
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    DuckDBConnectionManager.close_all_connections()
    gc.collect()


def run_dbt(
    settings: Settings,
    lake: Lake,
    args: list[str],
    params: dict[str, str],
    log_path: str,
) -> None:
    """Run `dbt <args>` against the configured target with run parameters as environment
    variables (e.g. ACE_LANDING_DATE); raise DbtError on failure."""
    from dbt.cli.main import dbtRunner

    command = [
        *args,
        "--quiet",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--target",
        settings.target,
    ]
    if lake.is_local:
        os.makedirs(lake.root, exist_ok=True)
    with _dbt_lock, open(log_path, "a", encoding="utf-8") as log:
        log.write("$ dbt " + " ".join(command) + f"  # env {params}\n")

        def to_log(event) -> None:
            if event.info.level in ("info", "warn", "error"):
                log.write(f"{event.info.ts.ToJsonString()[:19]} {event.info.msg}\n")

        with _environment({**dbt_env(settings, lake), **params}):
            try:
                result = dbtRunner(callbacks=[to_log]).invoke(command)
            finally:
                _release_duckdb()
    if not result.success:
        reason = f": {result.exception}" if result.exception else ""
        raise DbtError(f"dbt {args[0]} failed{reason}; see {log_path}")
