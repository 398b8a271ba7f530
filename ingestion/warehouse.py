"""The warehouses incoming files are loaded into (DESIGN §5.3) and the SQL each of them runs.

One load, whatever the warehouse: in one transaction, skip the object if the load manifest has
seen it (same key and checksum/ETag), stage the file's rows in a temporary table, merge them into
the table (a staged row replaces the stored one when it is at least as recent), record the load.
The SQL is generated here once; only how rows reach the staging table differs: DuckDB registers
the parsed rows, PostgreSQL streams them with COPY FROM STDIN, Redshift runs COPY FROM 's3://...'.
"""

from __future__ import annotations

import datetime as dt
import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ingestion.tables import TableSpec
from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings

if TYPE_CHECKING:  # pyarrow is imported where rows are moved, so the Lambda can do without it
    import pyarrow as pa

Dialect = Literal["duckdb", "postgres", "redshift"]

STAGE = "_staged"
MANIFEST = "load_manifest"
SNAPSHOT_BATCH_ROWS = 50_000

COLUMN_TYPES: dict[Dialect, dict[str, str]] = {
    "duckdb": {"text": "varchar", "bool": "boolean", "timestamp": "timestamp"},
    "postgres": {"text": "text", "bool": "boolean", "timestamp": "timestamp"},
    "redshift": {"text": "varchar(65535)", "bool": "boolean", "timestamp": "timestamp"},
}


@dataclass(frozen=True)
class IncomingObject:
    """One file to load: where its bytes are locally, and what identifies it in the manifest."""

    local_path: str
    object_key: str  # incoming/<table>/<file>
    checksum: str  # S3 ETag, or sha256 of a local file
    s3_uri: str | None = None


@dataclass(frozen=True)
class LoadResult:
    path: str
    table: str
    warehouse: str
    rows: int
    skipped: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "table": self.table,
            "warehouse": self.warehouse,
            "rows": self.rows,
            "skipped": self.skipped,
        }


# --- SQL, generated once for every dialect --------------------------------------------------


def table_ddl(spec: TableSpec, dialect: Dialect) -> str:
    types = COLUMN_TYPES[dialect]
    cols = ", ".join(f"{c.name} {types[c.kind]}" for c in spec.columns)
    return f"create table if not exists {spec.name} ({cols}, primary key ({spec.key}))"


def manifest_ddl(dialect: Dialect) -> str:
    text = COLUMN_TYPES[dialect]["text"]
    return (
        f"create table if not exists {MANIFEST} (object_key {text}, checksum {text}, "
        f"table_name {text}, rows_loaded bigint, loaded_at timestamp, "
        f"primary key (object_key, checksum))"
    )


def lock_sql(spec: TableSpec, dialect: Dialect) -> str | None:
    """Serialise concurrent loads into one table (DuckDB has a single writer anyway)."""
    return {
        "duckdb": None,
        "postgres": f"lock table {spec.name} in exclusive mode",
        "redshift": f"lock {spec.name}",
    }[dialect]


def stage_ddl(spec: TableSpec) -> str:
    """An empty temporary copy of the table's columns (portable: no LIKE, no ON COMMIT)."""
    return (
        f"create temp table {STAGE} as select {', '.join(spec.header)} from {spec.name} where 1 = 0"
    )


def merge_statements(spec: TableSpec, dialect: Dialect) -> list[str]:
    """Upsert the staged rows: replace stored rows that are not newer, insert new keys.

    PostgreSQL and Redshift share plain DELETE ... USING + INSERT ... WHERE NOT EXISTS. DuckDB
    uses INSERT ... ON CONFLICT: in DuckDB 2.0 an anti-join over rows inserted in the same
    transaction finds nothing once they exceed one row group (tested in test_loader).
    """
    cols = ", ".join(spec.header)
    key, version = spec.key, spec.version_column
    if dialect == "duckdb":
        updates = ", ".join(f"{c} = excluded.{c}" for c in spec.header if c != key)
        return [
            f"insert into {spec.name} ({cols}) select {cols} from {STAGE} "
            f"on conflict ({key}) do update set {updates} "
            f"where excluded.{version} >= {spec.name}.{version}"
        ]
    return [
        f"delete from {spec.name} using {STAGE} "
        f"where {spec.name}.{key} = {STAGE}.{key} "
        f"and {STAGE}.{version} >= {spec.name}.{version}",
        f"insert into {spec.name} ({cols}) select {cols} from {STAGE} "
        f"where not exists (select 1 from {spec.name} where {spec.name}.{key} = {STAGE}.{key})",
    ]


def postgres_copy_sql(spec: TableSpec) -> str:
    return f"copy {STAGE} ({', '.join(spec.header)}) from stdin"


def redshift_copy_sql(spec: TableSpec, s3_uri: str, iam_role: str) -> str:
    """COPY a validated CSV (header line skipped) from S3 into the staging table."""
    return (
        f"copy {STAGE} ({', '.join(spec.header)}) from '{_quoted(s3_uri)}' "
        f"iam_role '{_quoted(iam_role)}' format as csv ignoreheader 1 "
        f"timeformat 'auto' emptyasnull"
    )


def redshift_unload_sql(spec: TableSpec, s3_prefix: str, iam_role: str) -> str:
    """UNLOAD a snapshot of the table as Parquet under `s3_prefix` (one partition folder)."""
    query = f"select {', '.join(spec.header)} from {spec.name}"
    return (
        f"unload ('{_quoted(query)}') to '{_quoted(s3_prefix.rstrip('/') + '/')}' "
        f"iam_role '{_quoted(iam_role)}' format as parquet allowoverwrite"
    )


def _quoted(text: str) -> str:
    return text.replace("'", "''")


class WarehouseUnavailable(InputError):
    """The configured warehouse cannot be reached: its URL is wrong or it is down (reported in
    one line; retried by the runner, as it may be back by then)."""

    retryable = True


# --- Warehouses -----------------------------------------------------------------------------


class Warehouse(ABC):
    """A database incoming files are merged into and dimension snapshots are read from."""

    dialect: Dialect
    placeholder = "%s"

    @property
    @abstractmethod
    def name(self) -> str:
        """Shown in logs and results: which warehouse a load went to."""

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor whose statements commit together, or roll back on any error."""

    @abstractmethod
    def stage(
        self, cursor: Any, spec: TableSpec, obj: IncomingObject, rows: Sequence[tuple]
    ) -> None:
        """Create the staging table and put the file's rows into it."""

    def load(self, spec: TableSpec, obj: IncomingObject, rows: Sequence[tuple]) -> LoadResult:
        """Stage and merge one validated file in one transaction; a no-op if already loaded."""
        p = self.placeholder
        with self.transaction() as cur:
            cur.execute(manifest_ddl(self.dialect))
            cur.execute(table_ddl(spec, self.dialect))
            lock = lock_sql(spec, self.dialect)
            if lock:
                cur.execute(lock)
            cur.execute(
                f"select 1 from {MANIFEST} where object_key = {p} and checksum = {p}",
                [obj.object_key, obj.checksum],
            )
            if cur.fetchall():
                return LoadResult(obj.local_path, spec.name, self.name, 0, skipped=True)
            self.stage(cur, spec, obj, rows)
            for statement in merge_statements(spec, self.dialect):
                cur.execute(statement)
            cur.execute(
                f"insert into {MANIFEST} values ({p}, {p}, {p}, {p}, {p})",
                [obj.object_key, obj.checksum, spec.name, len(rows), _now()],
            )
            cur.execute(f"drop table {STAGE}")
        return LoadResult(obj.local_path, spec.name, self.name, len(rows), skipped=False)

    @abstractmethod
    def snapshot(self, spec: TableSpec) -> Iterator[pa.RecordBatch]:
        """The whole table, ordered by its key, as Arrow batches (streamed, not held in memory)."""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def rows_to_arrow(spec: TableSpec, rows: Sequence[tuple]) -> pa.Table:
    import pyarrow as pa

    columns = list(zip(*rows, strict=True)) if rows else [() for _ in spec.columns]
    schema = spec.arrow_schema
    arrays = [pa.array(list(c), type=f.type) for c, f in zip(columns, schema, strict=True)]
    return pa.Table.from_arrays(arrays, schema=schema)


class DuckDBWarehouse(Warehouse):
    """The embedded warehouse: a DuckDB file (the local default)."""

    dialect: Dialect = "duckdb"
    placeholder = "?"

    def __init__(self, path: str) -> None:
        self.path = path

    @property
    def name(self) -> str:
        return f"duckdb:{self.path}"

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        import duckdb

        os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        with duckdb.connect(self.path) as con:
            con.execute("begin transaction")
            try:
                yield con
            except BaseException:
                con.execute("rollback")
                raise
            con.execute("commit")

    def stage(
        self, cursor: Any, spec: TableSpec, obj: IncomingObject, rows: Sequence[tuple]
    ) -> None:
        # Created from the rows in one statement: in DuckDB 2.0, rows appended to an empty
        # temporary table in the same transaction were invisible to the merge beyond one row
        # group (test_loader loads more than that).
        table = rows_to_arrow(spec, rows)
        cursor.register("_rows", table)
        types = COLUMN_TYPES[self.dialect]
        casts = ", ".join(f"cast({c.name} as {types[c.kind]}) as {c.name}" for c in spec.columns)
        cursor.execute(f"create temp table {STAGE} as select {casts} from _rows")
        cursor.unregister("_rows")

    def snapshot(self, spec: TableSpec) -> Iterator[pa.RecordBatch]:
        # DuckDB hands Arrow batches over directly.
        with self.transaction() as con:
            con.execute(table_ddl(spec, self.dialect))
            reader = con.sql(
                f"select {', '.join(spec.header)} from {spec.name} order by {spec.key}"
            ).to_arrow_reader(SNAPSHOT_BATCH_ROWS)
            for batch in reader:
                yield batch.cast(spec.arrow_schema) if batch.schema != spec.arrow_schema else batch


class PostgresWarehouse(Warehouse):
    """PostgreSQL (RDS): rows streamed into the staging table with COPY FROM STDIN."""

    dialect: Dialect = "postgres"

    def __init__(self, url: str) -> None:
        self.url = url

    @property
    def name(self) -> str:
        return "postgres:" + _without_password(self.url)

    def connect(self) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.OperationalError as err:
            reason = str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__
            raise WarehouseUnavailable(f"{self.name}: cannot connect: {reason}") from None

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self.connect() as conn, conn.transaction(), conn.cursor() as cur:
            yield cur

    def stage(
        self, cursor: Any, spec: TableSpec, obj: IncomingObject, rows: Sequence[tuple]
    ) -> None:
        cursor.execute(stage_ddl(spec))
        with cursor.copy(postgres_copy_sql(spec)) as copy:
            for row in rows:
                copy.write_row(row)

    def snapshot(self, spec: TableSpec) -> Iterator[pa.RecordBatch]:
        import pyarrow as pa

        # A server-side cursor: the table streams through in batches.
        with self.connect() as conn, conn.transaction():
            conn.execute(table_ddl(spec, self.dialect))
            with conn.cursor(name="snapshot") as cur:
                cur.execute(f"select {', '.join(spec.header)} from {spec.name} order by {spec.key}")
                while batch := cur.fetchmany(SNAPSHOT_BATCH_ROWS):
                    yield pa.RecordBatch.from_pylist(
                        [dict(zip(spec.header, row, strict=True)) for row in batch],
                        schema=spec.arrow_schema,
                    )


class RedshiftWarehouse(PostgresWarehouse):
    """Redshift: the object is COPied from S3 with an IAM role, then merged like everywhere else."""

    dialect: Dialect = "redshift"

    def __init__(self, url: str, iam_role: str) -> None:
        super().__init__(url)
        self.iam_role = iam_role

    @property
    def name(self) -> str:
        return "redshift:" + _without_password(self.url)

    def unload(self, spec: TableSpec, s3_prefix: str) -> int:
        """UNLOAD the table as Parquet under `s3_prefix`; returns the rows unloaded."""
        if not s3_prefix.startswith("s3://"):
            raise InputError(f"{s3_prefix}: Redshift unloads to S3 only; set LAKE_ROOT to s3://")
        with self.transaction() as cur:
            cur.execute(redshift_unload_sql(spec, s3_prefix, self.iam_role))
            cur.execute("select pg_last_unload_count()")
            return int(cur.fetchall()[0][0])

    def stage(
        self, cursor: Any, spec: TableSpec, obj: IncomingObject, rows: Sequence[tuple]
    ) -> None:
        if not obj.s3_uri:
            raise InputError(f"{obj.object_key}: Redshift loads read from S3; give an s3:// URI")
        cursor.execute(stage_ddl(spec))
        cursor.execute(redshift_copy_sql(spec, obj.s3_uri, self.iam_role))


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def configured_warehouses(settings: Settings, lake: Lake) -> list[Warehouse]:
    """Where loads go: PostgreSQL when WAREHOUSE_URL is set, else the embedded DuckDB file; plus
    Redshift when REDSHIFT_URL is set. The first one is the one dimension snapshots read."""
    primary: Warehouse = (
        PostgresWarehouse(settings.warehouse_url)
        if settings.warehouse_url
        else DuckDBWarehouse(lake.warehouse_db)
    )
    if settings.redshift_url and settings.redshift_iam_role:
        return [primary, RedshiftWarehouse(settings.redshift_url, settings.redshift_iam_role)]
    return [primary]
