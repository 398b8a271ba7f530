"""Load files dropped under incoming/<table>/ into the warehouse: validate, then upsert on the key."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from orchestration.errors import InputError


class LoadError(InputError, ValueError):
    """A file that cannot be loaded; the message names the file, line and problem."""


@dataclass(frozen=True)
class Column:
    name: str
    kind: str  # text | bool | timestamp
    required: bool = True

    @property
    def sql_type(self) -> str:
        return {"text": "varchar", "bool": "boolean", "timestamp": "timestamp"}[self.kind]


@dataclass(frozen=True)
class TableSpec:
    """A warehouse table fed from incoming files: its columns, key and freshness column."""

    name: str
    columns: tuple[Column, ...]
    key: str
    version_column: str

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]

    def create_sql(self) -> str:
        cols = ", ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        return f"create table if not exists {self.name} ({cols}, primary key ({self.key}))"


CUSTOMERS = TableSpec(
    name="dim_customer",
    columns=(
        Column("customer_id", "text"),
        Column("client_id", "text"),
        Column("is_test", "bool"),
        Column("segment", "text", required=False),
        Column("created_at", "timestamp"),
        Column("updated_at", "timestamp"),
    ),
    key="customer_id",
    version_column="updated_at",
)

TABLES = {"customers": CUSTOMERS}

MANIFEST_SQL = """
create table if not exists load_manifest (
    object_key varchar, checksum varchar, table_name varchar, rows_loaded bigint,
    loaded_at timestamp, primary key (object_key, checksum)
)
"""

TRUE_TEXT = {"true": True, "t": True, "1": True, "false": False, "f": False, "0": False}


@dataclass(frozen=True)
class LoadResult:
    path: str
    table: str
    rows: int
    skipped: bool

    def as_dict(self) -> dict[str, Any]:
        return {"path": self.path, "table": self.table, "rows": self.rows, "skipped": self.skipped}


def parse_value(column: Column, text: str) -> Any:
    """Convert one CSV cell; raises ValueError with a short reason."""
    if text == "":
        if column.required:
            raise ValueError(f"{column.name} is empty")
        return None
    if column.kind == "bool":
        if text.lower() not in TRUE_TEXT:
            raise ValueError(f"{column.name}={text!r} is not true/false")
        return TRUE_TEXT[text.lower()]
    if column.kind == "timestamp":
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{column.name}={text!r} is not an ISO-8601 timestamp") from None
        if value.tzinfo is None:
            raise ValueError(f"{column.name}={text!r} has no Z or offset")
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return text


def read_rows(path: str, spec: TableSpec) -> list[tuple[Any, ...]]:
    """Parse and validate a whole CSV file, or raise LoadError naming the first problem."""
    name = os.path.basename(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header != spec.header:
                raise LoadError(
                    f"{name}: line 1: header {header} does not match {','.join(spec.header)}"
                )
            rows, seen = [], {}
            key_index = spec.header.index(spec.key)
            for record in reader:
                line = reader.line_num
                if len(record) != len(spec.columns):
                    raise LoadError(
                        f"{name}: line {line}: {len(record)} fields, expected {len(spec.columns)}"
                    )
                try:
                    row = tuple(
                        parse_value(c, v) for c, v in zip(spec.columns, record, strict=True)
                    )
                except ValueError as err:
                    raise LoadError(f"{name}: line {line}: {err}") from None
                if row[key_index] in seen:
                    raise LoadError(
                        f"{name}: line {line}: duplicate {spec.key} {row[key_index]!r} "
                        f"(first on line {seen[row[key_index]]})"
                    )
                seen[row[key_index]] = line
                rows.append(row)
    except UnicodeDecodeError as err:
        raise LoadError(f"{name}: not UTF-8 text ({err.reason})") from None
    except csv.Error as err:
        raise LoadError(f"{name}: unreadable CSV: {err}") from None
    return rows


def file_checksum(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def table_for(path: str) -> TableSpec:
    """The table a file feeds, from its folder: incoming/<table>/file."""
    folder = os.path.basename(os.path.dirname(os.path.abspath(path)))
    if folder not in TABLES:
        known = ", ".join(sorted(TABLES))
        raise LoadError(f"{path}: not under incoming/<table>/ for a known table ({known})")
    return TABLES[folder]


def upsert_sql(spec: TableSpec) -> str:
    """Insert staged rows; a row replaces the stored one only if it is at least as recent."""
    cols = ", ".join(spec.header)
    updates = ", ".join(f"{c} = excluded.{c}" for c in spec.header if c != spec.key)
    return (
        f"insert into {spec.name} ({cols}) select {cols} from _staged "
        f"on conflict ({spec.key}) do update set {updates} "
        f"where excluded.{spec.version_column} >= {spec.name}.{spec.version_column}"
    )


ARROW_TYPES = {"text": pa.string(), "bool": pa.bool_(), "timestamp": pa.timestamp("us")}


def staged_arrow(spec: TableSpec, rows: list[tuple[Any, ...]]) -> pa.Table:
    """Parsed rows as an Arrow table with the spec's column types (zero rows allowed)."""
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in spec.columns]
    return pa.table(
        {
            c.name: pa.array(list(v), type=ARROW_TYPES[c.kind])
            for c, v in zip(spec.columns, columns, strict=True)
        }
    )


def load_file(path: str, warehouse_db: str) -> LoadResult:
    """Load one incoming file into the embedded warehouse in one transaction (a no-op if seen)."""
    if not os.path.isfile(path):
        raise LoadError(f"{path}: no such file")
    spec = table_for(path)
    checksum = file_checksum(path)
    rows = read_rows(path, spec)
    object_key = f"incoming/{os.path.basename(os.path.dirname(os.path.abspath(path)))}/" + (
        os.path.basename(path)
    )
    os.makedirs(os.path.dirname(os.path.abspath(warehouse_db)), exist_ok=True)
    with duckdb.connect(warehouse_db) as con:
        con.execute(MANIFEST_SQL)
        con.execute(spec.create_sql())
        seen = con.execute(
            "select 1 from load_manifest where object_key = ? and checksum = ?",
            [object_key, checksum],
        ).fetchall()
        if seen:
            return LoadResult(path, spec.name, 0, skipped=True)
        con.execute("begin transaction")
        try:
            con.register("_rows", staged_arrow(spec, rows))
            casts = ", ".join(f"cast({c.name} as {c.sql_type}) as {c.name}" for c in spec.columns)
            con.execute(f"create temp table _staged as select {casts} from _rows")
            con.unregister("_rows")
            con.execute(upsert_sql(spec))
            con.execute(
                "insert into load_manifest values (?, ?, ?, ?, ?)",
                [
                    object_key,
                    checksum,
                    spec.name,
                    len(rows),
                    dt.datetime.now(dt.UTC).replace(tzinfo=None),
                ],
            )
            con.execute("drop table _staged")
            con.execute("commit")
        except Exception:
            con.execute("rollback")
            raise
    return LoadResult(path, spec.name, len(rows), skipped=False)
