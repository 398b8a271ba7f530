"""The warehouse on a real PostgreSQL: customers loaded there (with a later file turning some
customers into test customers), replicated into the lake by dim_customer_daily, excluded by the
ACE pipeline; then the same dbt project built and tested with `--target postgres` on lake tables
copied into PostgreSQL. Both are checked against the independent reference computation."""

from __future__ import annotations

import csv
import datetime as dt
import glob
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import duckdb
import psycopg
import pytest

from ingestion.lake_tables import copy_day
from ingestion.warehouse import PostgresWarehouse
from orchestration.core.lake import Lake
from orchestration.local.dbt import ACE_SELECTION
from tests.e2e.reference_ace import ace_reference

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[2]
START = dt.date(2026, 1, 30)
DAYS = 3  # crosses the month boundary


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run(
        args, env={**os.environ, **env}, capture_output=True, text=True, timeout=900, cwd=REPO
    )
    if done.returncode != 0:
        raise AssertionError(
            f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
        )
    return done


def mark_as_test_customers(root: str, count: int) -> set[str]:
    """A later customers file turning `count` non-test customers into test customers."""
    [first] = glob.glob(f"{root}/incoming/customers/*.csv")
    with open(first, newline="", encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["is_test"] == "false"][:count]
    with open(f"{root}/incoming/customers/update.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "is_test": "true", "updated_at": "2026-01-15T00:00:00Z"})
    return {r["customer_id"] for r in rows}


@pytest.fixture(scope="module")
def pg_lake(tmp_path_factory, postgres_server):
    root = str(tmp_path_factory.mktemp("pg") / "lake")
    schema = f"it_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        for suffix in ("wh", "lake", "dbt"):
            conn.execute(f"create schema {schema}_{suffix}")
    warehouse_url = f"{postgres_server}?options=-csearch_path%3D{schema}_wh"
    env = {"LAKE_ROOT": root, "WAREHOUSE_URL": warehouse_url}
    analytics = str(BIN / "analytics")
    end = START + dt.timedelta(days=DAYS - 1)
    run([analytics, "generate", "--start", str(START), "--days", str(DAYS), "--scale", "300"], env)
    changed = mark_as_test_customers(root, 40)
    run([analytics, "load", f"{root}/incoming/customers/*.csv"], env)
    run([analytics, "backfill", "ace_daily", "--from", str(START), "--to", str(end)], env)
    yield {"root": root, "schema": schema, "env": env, "changed": changed, "end": end}
    with psycopg.connect(postgres_server, autocommit=True) as conn:
        for suffix in ("wh", "lake", "dbt"):
            conn.execute(f"drop schema if exists {schema}_{suffix} cascade")


def agg_from(rows) -> dict[tuple[str, str], dict[str, int]]:
    return {
        (c, m): {"ace_units": a, "notifications_attempted": n, "notifications_delivered": d}
        for c, m, a, n, d in rows
    }


def test_loads_went_to_postgres_and_snapshots_came_from_it(pg_lake):
    root = pg_lake["root"]
    assert not os.path.exists(Lake(root).warehouse_db)  # nothing loaded into the embedded file
    with psycopg.connect(pg_lake["env"]["WAREHOUSE_URL"]) as conn:
        stored = dict(conn.execute("select customer_id, is_test from dim_customer").fetchall())
        manifest = conn.execute("select count(*) from load_manifest").fetchall()[0][0]
    assert manifest == 2 and all(stored[c] for c in pg_lake["changed"])
    snapshot = Lake(root).curated("dim_customer", pg_lake["end"])
    replicated = dict(
        duckdb.sql(
            f"select customer_id, is_test from read_parquet('{snapshot}/*.parquet')"
        ).fetchall()
    )
    assert replicated == stored


def test_ace_pipeline_excludes_test_customers_read_from_the_warehouse(pg_lake):
    root = pg_lake["root"]
    with duckdb.connect(f"{root}/analytics.duckdb", read_only=True) as con:
        agg = con.execute(
            "select client_id, strftime(billing_month, '%Y-%m'), ace_units, "
            "notifications_attempted, notifications_delivered from ace_unit_agg"
        ).fetchall()
        excluded = {
            r[0]
            for r in con.execute(
                "select customer_id from ace_unit_audit where reason = 'test_customer'"
            ).fetchall()
        }
    expected = ace_reference(root)  # reads every incoming customers file, the update included
    assert agg_from(agg) == expected
    assert excluded & pg_lake["changed"]  # customers made test by the later file are excluded


def test_dbt_build_on_postgres_passes_and_agrees_with_the_reference(pg_lake):
    root, schema = pg_lake["root"], pg_lake["schema"]
    warehouse = PostgresWarehouse(pg_lake["env"]["WAREHOUSE_URL"])
    for offset in range(DAYS):
        copy_day(warehouse, Lake(root), START + dt.timedelta(days=offset), f"{schema}_lake")
    url = urlsplit(pg_lake["env"]["WAREHOUSE_URL"])
    env = {
        "ANALYTICS_TARGET": "postgres",
        "PII_SALT": "not-used-by-dbt",
        "PGHOST": url.hostname or "localhost",
        "PGPORT": str(url.port or 5432),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password or "",
        "PGDATABASE": url.path.lstrip("/"),
        "DBT_SCHEMA": f"{schema}_dbt",
        "LAKE_SCHEMA": f"{schema}_lake",
        "DBT_TARGET_PATH": f"{root}/_dbt_pg/target",
        "DBT_LOG_PATH": f"{root}/_dbt_pg/logs",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    dbt = str(BIN / "dbt")
    done = run(
        [
            dbt,
            "build",
            # The ACE models, as the ACE pipelines select them (usage events are not copied here).
            "--select",
            *ACE_SELECTION,
            "--target",
            "postgres",
            "--project-dir",
            "dbt_project",
            "--profiles-dir",
            "dbt_project",
        ],
        env,
    )
    assert "ERROR=0" in done.stdout and "PASS=" in done.stdout
    with psycopg.connect(pg_lake["env"]["WAREHOUSE_URL"]) as conn:
        agg = conn.execute(
            f"select client_id, to_char(billing_month, 'YYYY-MM'), ace_units, "
            f"notifications_attempted, notifications_delivered from {schema}_dbt.ace_unit_agg"
        ).fetchall()
        is_test = dict(
            conn.execute(f"select customer_id, is_test from {schema}_dbt.v_dim_customer").fetchall()
        )
    assert agg_from(agg) == ace_reference(root)
    assert all(is_test[c] for c in pg_lake["changed"])
