"""Crash safety (DESIGN §9): a Spark job and the warehouse loader are killed (SIGKILL, their
whole process group) in the middle of writing. The previously published partition / table is
intact and readable, and the rerun completes. Two runs of the same pipeline and parameters at
once: the second is refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from ingestion.loader import load
from ingestion.warehouse import PostgresWarehouse
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from spark_jobs import notification_attempted
from tests.digests import digest_tree

ROOT = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 4, 1)
HEADER = "customer_id,client_id,is_test,segment,created_at,updated_at"


def attempts(count: int, prefix: str) -> str:
    return "".join(
        json.dumps(
            {
                "notification_id": f"{prefix}{i}",
                "client_id": f"c{i % 7}",
                "customer_id": f"u{i % 1000}",
                "experience_id": f"e{i % 13}",
                "channel": "email",
                "destination": f"user{i}@example.com",
                "attempted_at": "2026-04-01T08:00:00Z",
            }
        )
        + "\n"
        for i in range(count)
    )


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A child in its own process group, so SIGKILL reaches it and the JVM it starts."""
    return subprocess.Popen(
        args,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def kill_when(process: subprocess.Popen, condition, timeout: float = 240) -> None:
    """SIGKILL the process group as soon as `condition()` holds (it must, before the end)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "finished before the moment to kill it came"
        assert time.monotonic() < deadline, "the moment to kill it never came"
        time.sleep(0.01)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def staging_folders(lake: Lake, table: str) -> list[str]:
    parent = lake.curated(table)
    return (
        [n for n in os.listdir(parent) if n.startswith(".staging-")]
        if os.path.isdir(parent)
        else []
    )


def duckdb_count(lake: Lake, table: str) -> int:
    """Rows as every reader sees them: the dbt sources' glob over the whole table."""
    pattern = f"{lake.curated(table)}/dt=*/*.parquet"
    return (
        duckdb.connect()
        .execute(f"select count(*) from read_parquet('{pattern}', hive_partitioning = true)")
        .fetchall()[0][0]
    )


@pytest.mark.spark
def test_a_spark_job_killed_mid_write_leaves_the_published_partition_intact(tmp_path, spark):
    settings = Settings(LAKE_ROOT=str(tmp_path / "lake"), SPARK_SHUFFLE_PARTITIONS=2)
    lake = Lake.from_settings(settings)
    raw = lake.raw("notifications/attempted", DAY)
    os.makedirs(raw)
    Path(raw, "first.jsonl").write_text(attempts(1000, "a"))
    assert notification_attempted.run(settings, lake, DAY).rows_out == 1000
    published = lake.curated("notification_attempts", DAY)
    before = digest_tree(published)

    # A much bigger delivery lands; the rerun is killed while it writes the new partition.
    Path(raw, "second.jsonl").write_text(attempts(300_000, "b"))
    job = start(
        [sys.executable, "-m", "spark_jobs.notification_attempted", "--date", DAY.isoformat()],
        {"LAKE_ROOT": settings.lake_root, "SPARK_SHUFFLE_PARTITIONS": "2"},
    )
    kill_when(job, lambda: staging_folders(lake, "notification_attempts"))

    assert job.returncode == -signal.SIGKILL
    assert staging_folders(lake, "notification_attempts")  # it died mid-write ...
    assert digest_tree(published) == before  # ... and the published day is untouched
    assert duckdb_count(lake, "notification_attempts") == 1000  # and readable as before

    result = notification_attempted.run(settings, lake, DAY)  # the rerun completes
    assert (result.rows_out, result.quarantined) == (301_000, 0)
    assert duckdb_count(lake, "notification_attempts") == 301_000
    assert staging_folders(lake, "notification_attempts") == []  # the leftover is gone


def customers_csv(path: Path, count: int, prefix: str) -> None:
    rows = (
        f"{prefix}{i},k{i % 9},false,smb,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
        for i in range(count)
    )
    path.write_text(HEADER + "\n" + "".join(rows))


def copy_running(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "select 1 from pg_stat_activity where state = 'active' and query ilike 'copy%'"
        ).fetchall()
    return bool(rows)


def warehouse_rows(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        customers = conn.execute("select count(*) from dim_customer").fetchall()[0][0]
        loads = conn.execute("select count(*) from load_manifest").fetchall()[0][0]
    return customers, loads


def test_the_loader_killed_mid_copy_leaves_the_table_as_it_was(tmp_path, postgres_url):
    folder = tmp_path / "lake" / "incoming" / "customers"
    folder.mkdir(parents=True)
    customers_csv(folder / "first.csv", 100, "a")
    load(str(folder / "first.csv"), [PostgresWarehouse(postgres_url)])
    assert warehouse_rows(postgres_url) == (100, 1)

    customers_csv(folder / "big.csv", 400_000, "b")
    loader = start(
        [sys.executable, "-m", "orchestration.cli", "load", str(folder / "big.csv")],
        {"LAKE_ROOT": str(tmp_path / "lake"), "WAREHOUSE_URL": postgres_url},
    )
    kill_when(loader, lambda: copy_running(postgres_url))

    # The server rolls the dead client's transaction back: no row, no manifest entry.
    deadline = time.monotonic() + 30
    while copy_running(postgres_url) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert warehouse_rows(postgres_url) == (100, 1)

    [result] = load(str(folder / "big.csv"), [PostgresWarehouse(postgres_url)])
    assert (result.rows, result.skipped) == (400_000, False)
    assert warehouse_rows(postgres_url) == (400_100, 2)


def test_a_second_run_of_the_same_pipeline_and_parameters_is_refused(tmp_path):
    folder = tmp_path / "lake" / "incoming" / "customers"
    folder.mkdir(parents=True)
    customers_csv(folder / "big.csv", 300_000, "c")
    env = {"LAKE_ROOT": str(tmp_path / "lake")}
    args = [sys.executable, "-m", "orchestration.cli", "run", "warehouse_load"]
    first = start([*args, "--uri", str(folder / "big.csv")], env)
    locks = tmp_path / "lake" / "_runs" / "locks"
    deadline = time.monotonic() + 60
    while not (locks.is_dir() and any(locks.iterdir())):
        assert first.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)

    second = subprocess.run(
        [*args, "--uri", str(folder / "big.csv")],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert first.poll() is None  # the first was still running when the second was refused
    assert second.returncode == 2
    assert "already running" in second.stderr and "Traceback" not in second.stderr

    assert first.wait(timeout=120) == 0, first.stderr.read().decode()
    customers = duckdb.connect(str(tmp_path / "lake" / "warehouse.duckdb"), read_only=True)
    assert customers.execute("select count(*) from dim_customer").fetchall() == [(300_000,)]
