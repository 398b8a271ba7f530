"""Partition registration (locally the equivalent of the Glue crawlers): record what the lake holds."""

from __future__ import annotations

import os

import duckdb

from orchestration.core.lake import Lake

CURATED_TABLES = ("notification_attempts", "notification_receipts", "experiences", "dim_customer")


def discover_partitions(lake: Lake, table: str) -> list[tuple[str, str, int, int]]:
    """(table, dt, files, bytes) for every published partition of a curated table."""
    root = lake.curated(table)
    if not os.path.isdir(root):
        return []
    found = []
    for name in sorted(os.listdir(root)):
        if not name.startswith("dt="):
            continue
        folder = os.path.join(root, name)
        files = [f for f in os.listdir(folder) if f.endswith(".parquet")]
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in files)
        found.append((table, name[3:], len(files), size))
    return found


def register_partitions(lake: Lake, tables: tuple[str, ...] = CURATED_TABLES) -> dict[str, int]:
    """Replace the `lake_partitions` catalog table in the analytics database with what is on disk."""
    rows = [p for table in tables for p in discover_partitions(lake, table)]
    with duckdb.connect(lake.analytics_db) as con:
        con.execute(
            "create or replace table main.lake_partitions "
            "(table_name varchar, dt date, files integer, bytes bigint)"
        )
        if rows:
            # One statement with one list parameter per column (DuckDB unnests them side by
            # side): 0.01 s for a year's 1,460 partitions, where a VALUES row of placeholders per
            # partition took 0.14-0.23 s to bind, and executemany one insert per partition.
            columns = [list(column) for column in zip(*rows, strict=True)]
            con.execute(
                "insert into main.lake_partitions "
                "select unnest($1), unnest($2)::date, unnest($3), unnest($4)",
                columns,
            )
    return {"rows_in": len(rows), "rows_out": len(rows), "quarantined": 0}
