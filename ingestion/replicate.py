"""dim_customer_daily: replicate the warehouse table dim_customer into lake/dim_customer/dt=D/."""

from __future__ import annotations

import datetime as dt
import os

import duckdb

from ingestion.loader import CUSTOMERS, MANIFEST_SQL, TableSpec
from orchestration.lake import Lake, staging_dir_for, swap_in


def replicate_table(spec: TableSpec, warehouse_db: str, out_path: str) -> int:
    """Snapshot one warehouse table into a Parquet partition (atomic swap); returns its rows."""
    os.makedirs(os.path.dirname(os.path.abspath(warehouse_db)), exist_ok=True)
    with duckdb.connect(warehouse_db) as con:
        con.execute(MANIFEST_SQL)
        con.execute(spec.create_sql())
        staging = staging_dir_for(out_path)
        os.makedirs(staging)
        target = os.path.join(staging, "part-00000.parquet")
        cols = ", ".join(spec.header)
        con.execute(
            f"copy (select {cols} from {spec.name} order by {spec.key}) "
            f"to '{target}' (format parquet, compression snappy)"
        )
        rows = con.execute(f"select count(*) from {spec.name}").fetchall()[0][0]
    swap_in(staging, out_path)
    return int(rows)


def replicate_customers(lake: Lake, day: dt.date) -> dict[str, int]:
    rows = replicate_table(CUSTOMERS, lake.warehouse_db, lake.curated("dim_customer", day))
    return {"rows_in": rows, "rows_out": rows, "quarantined": 0}
