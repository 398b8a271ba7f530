"""dim_customer_daily: replicate the warehouse table dim_customer into lake/dim_customer/dt=D/."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow.parquet as pq

from ingestion.tables import CUSTOMERS, TableSpec
from ingestion.warehouse import RedshiftWarehouse, Warehouse, configured_warehouses
from orchestration.core.lake import Lake
from orchestration.core.publishing import staging_dir_for, swap_in
from orchestration.core.settings import Settings

PART_NAME = "part-00000.parquet"


def write_snapshot(spec: TableSpec, warehouse: Warehouse, out_path: str) -> int:
    """Stream the table into one Parquet file of the partition at `out_path`; returns its rows.

    Locally the partition is written aside and swapped in, so readers see the old or new one.
    """
    rows = 0
    if out_path.startswith("s3://"):
        from pyarrow import fs

        s3, key = fs.FileSystem.from_uri(out_path)
        target, filesystem, staging = f"{key}/{PART_NAME}", s3, None
    else:
        staging = staging_dir_for(out_path)
        os.makedirs(staging)
        target, filesystem = os.path.join(staging, PART_NAME), None
    with pq.ParquetWriter(
        target, spec.arrow_schema, compression="snappy", filesystem=filesystem
    ) as writer:
        for batch in warehouse.snapshot(spec):
            writer.write_batch(batch)
            rows += batch.num_rows
    if staging:
        swap_in(staging, out_path)
    return rows


def replicate_table(spec: TableSpec, warehouse: Warehouse, out_path: str) -> int:
    """Snapshot one warehouse table into a lake partition: Redshift UNLOADs it to S3 as Parquet,
    any other warehouse is read in batches and written here."""
    if isinstance(warehouse, RedshiftWarehouse):
        return warehouse.unload(spec, out_path)
    return write_snapshot(spec, warehouse, out_path)


def snapshot_source(warehouses: list[Warehouse]) -> Warehouse:
    """Redshift when configured (UNLOAD writes straight to the lake), else the primary warehouse."""
    return next((w for w in warehouses if isinstance(w, RedshiftWarehouse)), warehouses[0])


def replicate_customers(settings: Settings, lake: Lake, day: dt.date) -> dict[str, int]:
    source = snapshot_source(configured_warehouses(settings, lake))
    rows = replicate_table(CUSTOMERS, source, lake.curated("dim_customer", day))
    return {"rows_in": rows, "rows_out": rows, "quarantined": 0}
