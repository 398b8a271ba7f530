"""register_partitions: the lake_partitions table holds exactly the published partitions on disk."""

from __future__ import annotations

import datetime as dt
import os

import duckdb

from orchestration.core.lake import Lake
from orchestration.local.catalog import register_partitions


def _file(path: str, size: int) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(b"x" * size)


def _catalog(lake: Lake) -> list[tuple]:
    with duckdb.connect(lake.analytics_db, read_only=True) as con:
        return con.execute("select * from main.lake_partitions order by table_name, dt").fetchall()


def test_catalog_lists_every_partition_with_its_parquet_files_and_bytes(tmp_path):
    lake = Lake(str(tmp_path))
    attempts = lake.curated("notification_attempts")
    _file(os.path.join(attempts, "dt=2026-01-01", "part-0.parquet"), 10)
    _file(os.path.join(attempts, "dt=2026-01-01", "part-1.parquet"), 5)
    _file(os.path.join(attempts, "dt=2026-01-01", "_SUCCESS"), 0)  # not a data file
    _file(os.path.join(attempts, "dt=2026-01-02", "part-0.parquet"), 7)
    _file(os.path.join(attempts, "_staging", "part-0.parquet"), 3)  # not a partition
    _file(os.path.join(lake.curated("dim_customer"), "dt=2026-01-02", "part-0.parquet"), 4)

    assert register_partitions(lake) == {"rows_in": 3, "rows_out": 3, "quarantined": 0}
    assert _catalog(lake) == [
        ("dim_customer", dt.date(2026, 1, 2), 1, 4),
        ("notification_attempts", dt.date(2026, 1, 1), 2, 15),
        ("notification_attempts", dt.date(2026, 1, 2), 1, 7),
    ]

    # A later run replaces the catalog: a removed partition goes, a new one comes.
    os.remove(os.path.join(attempts, "dt=2026-01-02", "part-0.parquet"))
    os.rmdir(os.path.join(attempts, "dt=2026-01-02"))
    _file(os.path.join(attempts, "dt=2026-01-03", "part-0.parquet"), 1)
    register_partitions(lake)
    assert _catalog(lake) == [
        ("dim_customer", dt.date(2026, 1, 2), 1, 4),
        ("notification_attempts", dt.date(2026, 1, 1), 2, 15),
        ("notification_attempts", dt.date(2026, 1, 3), 1, 1),
    ]


def test_an_empty_lake_gives_an_empty_catalog(tmp_path):
    lake = Lake(str(tmp_path))
    assert register_partitions(lake)["rows_in"] == 0
    assert _catalog(lake) == []
