"""End to end through the CLI: generate → load → daily backfill → monthly export, checked against
an independent computation, for idempotent reruns, and for reconciled row counts."""

from __future__ import annotations

import glob
import gzip
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.e2e.reference_ace import ace_reference

pytestmark = pytest.mark.e2e

ANALYTICS = str(Path(sys.executable).with_name("analytics"))
DBT = str(Path(sys.executable).with_name("dbt"))
REPO = Path(__file__).resolve().parents[2]
START, END = "2026-01-29", "2026-02-01"  # crosses a month boundary, with late data both ways


def cli(lake_root: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "LAKE_ROOT": lake_root}
    done = subprocess.run([ANALYTICS, *args], env=env, capture_output=True, text=True, timeout=900)
    if check and done.returncode != 0:
        raise AssertionError(f"analytics {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def built_lake(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("e2e") / "lake")
    cli(
        root,
        "generate",
        "--start",
        START,
        "--days",
        "4",
        "--scale",
        "400",
        "--anomaly-rate",
        "0.05",
    )
    cli(root, "load", f"{root}/incoming/customers/*.csv")
    cli(root, "backfill", "ace_daily", "--from", START, "--to", END)
    cli(root, "run", "ace_monthly", "--month", "2026-01")
    # The usage and social models too, so that every model's unit tests have their inputs built.
    for path in sorted(glob.glob(f"{root}/raw/usage_events/*/events.jsonl")):
        with open(path, "rb") as handle:
            env = {**os.environ, "LAKE_ROOT": root}
            subprocess.run([ANALYTICS, "ingest", "events"], stdin=handle, env=env, check=True)
    cli(root, "run", "usage_daily", "--date", END)
    cli(root, "run", "social_daily", "--date", START)
    return root


def query(root: str, sql: str) -> list[tuple]:
    with duckdb.connect(os.path.join(root, "analytics.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_ace_numbers_agree_with_independent_computation(built_lake):
    expected = ace_reference(built_lake)
    rows = query(
        built_lake,
        "select client_id, strftime(billing_month, '%Y-%m'), ace_units, "
        "notifications_attempted, notifications_delivered from main.ace_unit_agg",
    )
    actual = {
        (c, m): {"ace_units": a, "notifications_attempted": n, "notifications_delivered": d}
        for c, m, a, n, d in rows
    }
    assert actual == expected
    assert {m for _, m in actual} == {"2026-01", "2026-02"}
    assert sum(v["ace_units"] for v in expected.values()) > 100


def test_finance_export_for_january_matches_reference(built_lake):
    path = f"{built_lake}/exports/finance/ace_unit_monthly_output/month=2026-01/ace_unit_monthly_output.csv"
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    header = lines[0].split(",")
    assert header[:3] == ["client_id", "billing_month", "ace_units"]
    exported = {line.split(",")[0]: int(line.split(",")[2]) for line in lines[1:]}
    expected = {
        c: v["ace_units"] for (c, m), v in ace_reference(built_lake).items() if m == "2026-01"
    }
    assert exported == expected
    outcome = (
        f"{built_lake}/exports/finance/ace_unit_monthly_outcome_experience_output/month=2026-01"
    )
    assert os.path.getsize(f"{outcome}/ace_unit_monthly_outcome_experience_output.csv") > 100


def test_every_raw_line_is_accepted_or_quarantined(built_lake):
    history = [
        json.loads(x) for x in Path(built_lake, "_runs/history.jsonl").read_text().splitlines()
    ]
    for day in ("2026-01-29", "2026-01-30", "2026-01-31", "2026-02-01"):
        record = next(
            r
            for r in history
            if r["task"] == "notification_attempted_daily"
            and r["params"]["date"] == day
            and r["status"] == "succeeded"
        )
        raw_lines = 0
        for path in glob.glob(f"{built_lake}/raw/notifications/attempted/dt={day}/*.jsonl.gz"):
            with gzip.open(path, "rt") as f:
                raw_lines += len(f.read().splitlines())
        assert record["rows_in"] == raw_lines == record["rows_out"] + record["quarantined"]
        assert record["quarantined"] > 0


def test_destination_never_reaches_the_lake_in_clear(built_lake):
    files = glob.glob(f"{built_lake}/lake/**/*.parquet", recursive=True)
    columns = {
        c
        for f in files
        for (c,) in duckdb.sql(f"select name from parquet_schema('{f}')").fetchall()
    }
    assert "destination" not in columns and "destination_hash" in columns
    for f in glob.glob(f"{built_lake}/lake/notification_attempts/**/*.parquet", recursive=True):
        assert b"@example.com" not in Path(f).read_bytes()


def snapshot(root: str) -> dict[str, str]:
    """A digest of every table's full, ordered content and every export file's bytes."""
    digests = {}
    for (table,) in query(
        root,
        "select table_name from information_schema.tables "
        "where table_schema = 'main' and table_name != 'lake_partitions'",
    ):
        rows = query(root, f"select * from main.{table} order by all")
        digests[table] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for table in ("notification_attempts", "notification_receipts", "experiences", "dim_customer"):
        rows = duckdb.sql(
            f"select * from read_parquet('{root}/lake/{table}/*/*.parquet', "
            "hive_partitioning = true) order by all"
        ).fetchall()
        digests[f"lake/{table}"] = hashlib.sha256(repr(rows).encode()).hexdigest()
    for path in sorted(glob.glob(f"{root}/exports/**/*.csv", recursive=True)):
        digests[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return digests


def test_rerunning_a_day_and_a_month_changes_nothing(built_lake):
    before = snapshot(built_lake)
    cli(built_lake, "run", "ace_daily", "--date", "2026-01-30")
    cli(built_lake, "run", "ace_monthly", "--month", "2026-01")
    assert snapshot(built_lake) == before


def test_dbt_unit_tests_pass(built_lake):
    env = {
        **os.environ,
        "LAKE_ROOT": built_lake,
        "DBT_TARGET_PATH": f"{built_lake}/_dbt/target",
        "DBT_LOG_PATH": f"{built_lake}/_dbt/logs",
    }
    done = subprocess.run(
        [
            DBT,
            "test",
            "--select",
            "test_type:unit",
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    # One per §5.1 rule, plus the customer fold, 3 for usage, 1 for social (the models' YAML).
    assert "PASS=16 " in done.stdout


def test_summary_prints_units_and_quarantine(built_lake):
    done = cli(built_lake, "summary")
    assert "ACE units per client and billing month" in done.stdout
    assert "Rows quarantined by reason" in done.stdout and "malformed_json" in done.stdout
    history = cli(built_lake, "history", "--limit", "200").stdout
    assert "notification_attempted_daily" in history and "export_finance" in history


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "ace_daily", "--date", "2026-02-30"], "not a valid date"),
        (["run", "ace_monthly", "--month", "2026-13"], "not a valid month"),
        (["run", "nope", "--date", "2026-01-01"], "unknown pipeline 'nope'"),
        (["run", "ace_daily"], "ace_daily needs --date"),
        (
            ["backfill", "ace_daily", "--from", "2026-01-05", "--to", "2026-01-01"],
            "--to is before --from",
        ),
        (["load", "/nonexistent/incoming/customers/x.csv"], "no such file"),
        (["run", "ace_daily", "--date", "1999-01-01"], "no raw data at"),
    ],
)
def test_user_mistakes_get_one_line_errors(tmp_path, args, message):
    done = cli(str(tmp_path / "lake"), *args, check=False)
    assert done.returncode != 0
    assert message in done.stderr + done.stdout
    assert "Traceback" not in done.stderr


# Arrow types of the Parquet the jobs write, as the Hive types a Glue table declares.
HIVE_TYPES = {
    "string": "string",
    "large_string": "string",
    "bool": "boolean",
    "int64": "bigint",
    "double": "double",
    "timestamp[us]": "timestamp",
    "timestamp[ns]": "timestamp",
}


def test_glue_tables_declare_the_columns_the_jobs_write(built_lake):
    """Athena reads the lake through infra/glue_tables.py: its columns must be what is on disk."""
    import pyarrow.parquet as pq

    from infra.glue_tables import CURATED

    checked = 0
    for table in CURATED:
        files = sorted(glob.glob(os.path.join(built_lake, "lake", table.name, "dt=*", "*.parquet")))
        if not files:
            continue  # listings are written by the weekly EMR pipeline (tests/unit/test_listings.py)
        schema = pq.read_schema(files[0])
        on_disk = [(f.name, HIVE_TYPES.get(str(f.type), str(f.type))) for f in schema]
        assert on_disk == list(table.columns), table.name
        checked += 1
    assert checked == 4
