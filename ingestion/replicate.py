"""dim_customer_daily: replicate the warehouse table dim_customer into lake/dim_customer/dt=D/."""

from __future__ import annotations

import datetime as dt
import os

import pyarrow.parquet as pq

from ingestion.tables import CUSTOMERS, TableSpec
from ingestion.warehouse import RedshiftWarehouse, Warehouse, configured_warehouses
from orchestration.core.lake import Lake
from orchestration.core.publishing import (
    new_version,
    publish_version,
    staging_dir_for,
    swap_in,
    version_uri,
)
from orchestration.core.settings import Settings

PART_NAME = "part-00000.parquet"


def write_snapshot(spec: TableSpec, warehouse: Warehouse, out_path: str) -> int:
    """Stream the table into one Parquet file in folder `out_path`; returns its rows."""
    rows = 0
    target, filesystem = os.path.join(out_path, PART_NAME), None
    if out_path.startswith("s3://"):
        from pyarrow import fs

        filesystem, key = fs.FileSystem.from_uri(out_path)
        target = f"{key}/{PART_NAME}"
    else:
        os.makedirs(out_path)
    with pq.ParquetWriter(
        target, spec.arrow_schema, compression="snappy", filesystem=filesystem
    ) as writer:
        for batch in warehouse.snapshot(spec):
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def replicate_table(
    spec: TableSpec, warehouse: Warehouse, out_path: str, retention: dt.timedelta
) -> int:
    """Snapshot one warehouse table into a lake partition, published in one step (a folder
    swapped in, or on S3 a version folder its manifest is switched to): Redshift UNLOADs it to
    S3 as Parquet, any other warehouse is read in batches and written here."""
    if out_path.startswith("s3://"):
        version = version_uri(out_path, new_version())
        if isinstance(warehouse, RedshiftWarehouse):
            rows = warehouse.unload(spec, version)
        else:
            rows = write_snapshot(spec, warehouse, version)
        publish_version(out_path, version, retention)
        return rows
    if isinstance(warehouse, RedshiftWarehouse):
        return warehouse.unload(spec, out_path)  # a clear error: Redshift unloads to S3 only
    staging = staging_dir_for(out_path)
    rows = write_snapshot(spec, warehouse, staging)
    swap_in(staging, out_path)
    return rows


def snapshot_source(warehouses: list[Warehouse]) -> Warehouse:
    """Redshift when configured (UNLOAD writes straight to the lake), else the primary warehouse."""
    return next((w for w in warehouses if isinstance(w, RedshiftWarehouse)), warehouses[0])


def replicate_customers(settings: Settings, lake: Lake, day: dt.date) -> dict[str, int]:
    source = snapshot_source(configured_warehouses(settings, lake))
    out_path = lake.curated("dim_customer", day)
    rows = replicate_table(CUSTOMERS, source, out_path, settings.publish_retention)
    return {"rows_in": rows, "rows_out": rows, "quarantined": 0}
