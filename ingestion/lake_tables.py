"""Copy curated lake partitions into PostgreSQL tables (schema `lake` by default): the sources the
dbt `postgres` target builds from (DuckDB reads the lake's Parquet in place, Athena and Redshift
Spectrum through external tables)."""

from __future__ import annotations

import datetime as dt
import glob
import os

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg import sql

from ingestion.warehouse import PostgresWarehouse
from orchestration.core.errors import InputError
from orchestration.core.lake import Lake

DEFAULT_SCHEMA = "lake"
# The lake tables the dbt models read (dbt_project/models/staging/lake/_lake__sources.yml).
SOURCE_TABLES = ("notification_attempts", "notification_receipts", "experiences", "dim_customer")

PG_TYPES = {
    pa.string(): "text",
    pa.large_string(): "text",
    pa.bool_(): "boolean",
    pa.int32(): "integer",
    pa.int64(): "bigint",
    pa.float64(): "double precision",
    pa.date32(): "date",
}


def pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if arrow_type in PG_TYPES:
        return PG_TYPES[arrow_type]
    raise ValueError(f"no PostgreSQL type for Arrow type {arrow_type}")


def partition_files(lake: Lake, table: str, day: dt.date) -> list[str]:
    files = sorted(glob.glob(os.path.join(lake.curated(table, day), "*.parquet")))
    if not files:
        raise InputError(
            f"no Parquet files in {lake.curated(table, day)}: run the daily jobs first"
        )
    return files


def copy_partition(
    warehouse: PostgresWarehouse,
    lake: Lake,
    table: str,
    day: dt.date,
    schema: str = DEFAULT_SCHEMA,
) -> int:
    """Replace the rows of partition `day` of `lake.<table>` (created from the Parquet schema,
    with a `dt` date column) by the lake's files, in one transaction; returns the rows copied."""
    files = partition_files(lake, table, day)
    arrow_schema = pq.read_schema(files[0])
    columns = [f.name for f in arrow_schema]
    # Identifiers quoted by psycopg: the schema comes from the settings (LAKE_SCHEMA).
    name = sql.Identifier(schema, table)
    definition = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(f.name), sql.SQL(pg_type(f.type)))
        for f in arrow_schema
    )
    rows = 0
    with warehouse.transaction() as cur:
        cur.execute(sql.SQL("create schema if not exists {}").format(sql.Identifier(schema)))
        cur.execute(
            sql.SQL("create table if not exists {} ({}, dt date not null)").format(name, definition)
        )
        cur.execute(sql.SQL("delete from {} where dt = %s").format(name), [day])
        copy_sql = sql.SQL("copy {} ({}, dt) from stdin").format(
            name, sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        with cur.copy(copy_sql) as copy:
            for path in files:
                for batch in pq.ParquetFile(path).iter_batches(columns=columns):
                    for record in batch.to_pylist():
                        copy.write_row([*(record[c] for c in columns), day])
                        rows += 1
    return rows


def copy_day(
    warehouse: PostgresWarehouse, lake: Lake, day: dt.date, schema: str = DEFAULT_SCHEMA
) -> dict[str, int]:
    """Every source table's partition of landing day `day`."""
    return {t: copy_partition(warehouse, lake, t, day, schema) for t in SOURCE_TABLES}
