"""Running the dbt project in-process (dbt's programmatic API), its log captured in the task log."""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.core.storage import read_bytes, write_bytes

log = logging.getLogger(__name__)

# The checkout's dbt project; an installed copy (the image) is named by DBT_PROJECT_DIR.
CHECKOUT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# What dbt leaves after an invocation, kept in the lake's run folder when the lake is on S3.
ARTIFACTS = ("run_results.json", "manifest.json", "sources.json")
# dbt's partial-parse state: without it every invocation parses the whole project again.
PARSE_STATE = "partial_parse.msgpack"

# The models (and their tests) the ACE pipelines build, with everything upstream of them.
ACE_SELECTION = ("+marts.ace", "+marts.reports", "+marts.warehouse")
# The usage models (§5.4) over the events the delivery stream landed, and their source freshness.
USAGE_SELECTION = ("+marts.usage",)
# The social report models (§5.2) over the statistics the shards published.
SOCIAL_SELECTION = ("+marts.social",)
# Unit tests check the SQL, not the data: they run in `make test`, not in scheduled builds.
SCHEDULED_BUILD = ("build", "--exclude-resource-type", "unit_test")
# A daily build leaves out the data tests that scan the whole history (tag whole_history: the
# views over every snapshot, the orphan receipts, the reconciliations): its cost must follow the
# day, not the lake. Its other staging and intermediate tests are narrowed to the landing day
# (`where:` placeholders, dbt_project/macros/get_where_subquery.sql). The monthly rebuild runs
# all of them.
DAILY_EXCLUDE = ("--exclude", "tag:whole_history")

# dbt reads its settings from the process environment and is not re-entrant: one call at a time.
_dbt_lock = threading.Lock()


class DbtError(RuntimeError):
    """dbt reported a failure; the task log holds its output."""


def project_dir(settings: Settings) -> Path:
    path = Path(settings.dbt_project_dir) if settings.dbt_project_dir else CHECKOUT_PROJECT_DIR
    if not (path / "dbt_project.yml").is_file():
        raise DbtError(f"no dbt project at {path} (DBT_PROJECT_DIR)")
    return path


def dbt_env(settings: Settings, lake: Lake, work_dir: str) -> dict[str, str]:
    """Environment for a dbt invocation: where the lake is, which target and its settings, where
    artefacts go (a local lake keeps its own target/ and logs/; on S3, `work_dir`, uploaded to
    the run folder afterwards)."""
    env = {
        "LAKE_ROOT": lake.root,
        "ANALYTICS_TARGET": settings.target,
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "AWS_REGION": settings.aws_region,
        "LAKE_SCHEMA": settings.lake_schema,
        "ATHENA_SCHEMA": settings.athena_schema,
        "ATHENA_WORKGROUP": settings.athena_workgroup,
        **{
            name: value
            for name, value in (
                ("ATHENA_STAGING_DIR", settings.athena_staging_dir),
                ("ATHENA_DATA_DIR", settings.athena_data_dir),
            )
            if value
        },
    }
    if lake.is_local:
        # Each lake gets its own dbt artefacts, so separate lakes never share target/ or logs/.
        env["DBT_TARGET_PATH"] = os.path.join(lake.root, "_dbt", "target")
        env["DBT_LOG_PATH"] = os.path.join(lake.root, "_dbt", "logs")
    else:
        env["DBT_TARGET_PATH"] = os.path.join(work_dir, "target")
        env["DBT_LOG_PATH"] = os.path.join(work_dir, "logs")
    return env


def keep_artifacts(work_dir: str, destination: str) -> list[str]:
    """Copy an invocation's run results, manifest, source freshness and dbt log from `work_dir`
    to `destination` (the task's run folder in the lake); returns the paths written."""
    found = [os.path.join(work_dir, "target", name) for name in ARTIFACTS]
    found.append(os.path.join(work_dir, "logs", "dbt.log"))
    written = []
    for path in found:
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                target = f"{destination}/{os.path.basename(path)}"
                write_bytes(target, handle.read())
            written.append(target)
    return written


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
    artifacts: str | None = None,
) -> None:
    """Run `dbt <args>` against the configured target with run parameters as environment
    variables (e.g. ACE_LANDING_DATE); raise DbtError on failure. On an S3 lake the artefacts
    go under `artifacts/<command>/` (the task's run folder), failed or not."""
    with tempfile.TemporaryDirectory(prefix="dbt-") as work_dir:
        restored = None if lake.is_local else restore_parse_state(lake, settings.target, work_dir)
        try:
            _invoke(settings, lake, args, params, log_path, work_dir)
        finally:
            if not lake.is_local:
                save_parse_state(lake, settings.target, work_dir, restored)
                if artifacts:
                    keep_artifacts(work_dir, f"{artifacts}/{_command_name(args)}")


def restore_parse_state(lake: Lake, target: str, work_dir: str) -> bytes | None:
    """Put the target's last partial-parse state (kept in the lake) into `work_dir`'s target
    folder, so dbt re-parses only what changed; None when there is none yet. dbt checks the
    state itself (its version, the files' checksums, the profile, the env vars it read) and
    parses afresh what it cannot trust. A state that cannot be read costs a full parse only."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        state = read_bytes(lake.dbt_parse_state(target))
    except (ClientError, BotoCoreError) as error:
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if code not in ("NoSuchKey", "404"):
            log.warning("dbt's parse state not restored (a full parse follows): %s", error)
        return None
    path = os.path.join(work_dir, "target", PARSE_STATE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as handle:
        handle.write(state)
    return state


def save_parse_state(lake: Lake, target: str, work_dir: str, restored: bytes | None) -> None:
    """Keep the invocation's partial-parse state in the lake for the next one, when it changed.
    Two tasks saving at once leave one valid state (each is a whole object)."""
    from botocore.exceptions import BotoCoreError, ClientError

    path = os.path.join(work_dir, "target", PARSE_STATE)
    if not os.path.isfile(path):
        return
    with open(path, "rb") as handle:
        state = handle.read()
    if state == restored:
        return
    try:
        write_bytes(lake.dbt_parse_state(target), state)
    except (ClientError, BotoCoreError) as error:
        log.warning("dbt's parse state not kept (the next run parses afresh): %s", error)


def _command_name(args: list[str]) -> str:
    """`build`, `source-freshness`, ...: the folder of one invocation's artefacts."""
    return "-".join(args[:2] if args[0] == "source" else args[:1])


def _invoke(
    settings: Settings,
    lake: Lake,
    args: list[str],
    params: dict[str, str],
    log_path: str,
    work_dir: str,
) -> None:
    from dbt.cli.main import dbtRunner

    project = str(project_dir(settings))
    command = [
        *args,
        "--quiet",
        "--project-dir",
        project,
        "--profiles-dir",
        project,
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

        with _environment({**dbt_env(settings, lake, work_dir), **params}):
            try:
                result = dbtRunner(callbacks=[to_log]).invoke(command)
            finally:
                _release_duckdb()
    if not result.success:
        reason = f": {result.exception}" if result.exception else ""
        failed = failures(result.result)
        if failed:
            reason = ": " + "; ".join(failed)
        raise DbtError(f"dbt {args[0]} failed{reason}; see {log_path}")


def failures(outcome: object) -> list[str]:
    """What failed in an invocation's results, one entry per node: its description (a test's
    says what its failure means and what to do), else its name and dbt's message."""
    lines = []
    for result in getattr(outcome, "results", None) or []:
        if str(getattr(result, "status", "")) not in ("error", "fail", "runtime error"):
            continue
        node = getattr(result, "node", None)
        name = getattr(node, "name", None) or getattr(result, "unique_id", "?")
        description = " ".join((getattr(node, "description", "") or "").split())
        message = " ".join(str(getattr(result, "message", "") or "").split())
        lines.append(description or f"{name}: {message}")
    return lines
