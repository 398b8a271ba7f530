"""What the writers put on disk, as the Hive types a Glue table declares (infra/glue_tables.py):
Athena reads the lake through those tables, so their columns must be what the files hold."""

from __future__ import annotations

import glob
import os

import pyarrow.parquet as pq

# Arrow types of the Parquet the jobs write, as Hive types.
HIVE_TYPES = {
    "string": "string",
    "large_string": "string",
    "bool": "boolean",
    "int32": "int",
    "int64": "bigint",
    "double": "double",
    "timestamp[us]": "timestamp",
    "timestamp[ns]": "timestamp",
}


def hive_type(arrow: str) -> str:
    """The Glue (Hive) type of a Parquet column as pyarrow names it: decimal128(12, 2) is
    decimal(12,2)."""
    if arrow.startswith("decimal128("):
        return "decimal(" + arrow.removeprefix("decimal128(").replace(" ", "")
    return HIVE_TYPES.get(arrow, arrow)


def columns_on_disk(lake_root: str, table: str) -> list[tuple[str, str]] | None:
    """(name, Hive type) of the first Parquet file under lake/<table>/ (any partition depth),
    or None when the table has no file yet."""
    pattern = os.path.join(lake_root, "lake", table, "**", "*.parquet")
    files = sorted(glob.glob(pattern, recursive=True))
    if not files:
        return None
    return [(f.name, hive_type(str(f.type))) for f in pq.read_schema(files[0])]


def glue_columns(table: str) -> list[tuple[str, str]]:
    from infra.glue_tables import TABLES

    return list(next(t for t in TABLES if t.name == table).columns)
