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

if TYPE_CHECKING:  # pyarrow and psycopg are imported where used: the Lambda does without them
    import pyarrow as pa
    from psycopg import sql

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
# Composed with psycopg's sql module: identifiers quoted by the driver (double quotes, the rule
# DuckDB and Redshift share), values as literals or parameters, never pasted in as text.


def compose(template: str, **parts: sql.Composable) -> str:
    """`template` with its {names} filled in, as the text every driver here runs."""
    from psycopg import sql

    return sql.SQL(template).format(**parts).as_string(None)


def identifiers(names: Sequence[str]) -> sql.Composed:
    from psycopg import sql

    return sql.SQL(", ").join(sql.Identifier(n) for n in names)


def table_ddl(spec: TableSpec, dialect: Dialect) -> str:
    from psycopg import sql

    types = COLUMN_TYPES[dialect]
    cols = sql.SQL(", ").join(
        sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(types[c.kind]))
        for c in spec.columns
    )
    return compose(
        "create table if not exists {table} ({cols}, primary key ({key}))",
        table=sql.Identifier(spec.name),
        cols=cols,
        key=sql.Identifier(spec.key),
    )


def manifest_ddl(dialect: Dialect) -> str:
    from psycopg import sql

    return compose(
        "create table if not exists {manifest} (object_key {text}, checksum {text}, "
        "table_name {text}, rows_loaded bigint, loaded_at timestamp, "
        "primary key (object_key, checksum))",
        manifest=sql.Identifier(MANIFEST),
        text=sql.SQL(COLUMN_TYPES[dialect]["text"]),
    )


def lock_sql(spec: TableSpec, dialect: Dialect) -> str | None:
    """Serialise concurrent loads into one table (DuckDB has a single writer anyway)."""
    from psycopg import sql

    table = sql.Identifier(spec.name)
    if dialect == "postgres":
        return compose("lock table {table} in exclusive mode", table=table)
    if dialect == "redshift":
        return compose("lock {table}", table=table)
    return None


def stage_ddl(spec: TableSpec) -> str:
    """An empty temporary copy of the table's columns (portable: no LIKE, no ON COMMIT)."""
    from psycopg import sql

    return compose(
        "create temp table {stage} as select {cols} from {table} where 1 = 0",
        stage=sql.Identifier(STAGE),
        cols=identifiers(spec.header),
        table=sql.Identifier(spec.name),
    )


def merge_statements(spec: TableSpec, dialect: Dialect) -> list[str]:
    """Upsert the staged rows: replace stored rows that are not newer, insert new keys.

    PostgreSQL and Redshift share plain DELETE ... USING + INSERT ... WHERE NOT EXISTS. DuckDB
    uses INSERT ... ON CONFLICT: in DuckDB 2.0 an anti-join over rows inserted in the same
    transaction finds nothing once they exceed one row group (tested in test_loader).
    """
    from psycopg import sql

    names = {
        "table": sql.Identifier(spec.name),
        "stage": sql.Identifier(STAGE),
        "cols": identifiers(spec.header),
        "key": sql.Identifier(spec.key),
        "version": sql.Identifier(spec.version_column),
    }
    if dialect == "duckdb":
        updates = sql.SQL(", ").join(
            sql.SQL("{c} = excluded.{c}").format(c=sql.Identifier(c))
            for c in spec.header
            if c != spec.key
        )
        return [
            compose(
                "insert into {table} ({cols}) select {cols} from {stage} "
                "on conflict ({key}) do update set {updates} "
                "where excluded.{version} >= {table}.{version}",
                updates=updates,
                **names,
            )
        ]
    return [
        compose(
            "delete from {table} using {stage} where {table}.{key} = {stage}.{key} "
            "and {stage}.{version} >= {table}.{version}",
            **names,
        ),
        compose(
            "insert into {table} ({cols}) select {cols} from {stage} "
            "where not exists (select 1 from {table} where {table}.{key} = {stage}.{key})",
            **names,
        ),
    ]


def postgres_copy_sql(spec: TableSpec) -> str:
    from psycopg import sql

    return compose(
        "copy {stage} ({cols}) from stdin",
        stage=sql.Identifier(STAGE),
        cols=identifiers(spec.header),
    )


def redshift_copy_sql(spec: TableSpec, s3_uri: str, iam_role: str) -> str:
    """COPY a validated CSV (header line skipped) from S3 into the staging table."""
    from psycopg import sql

    return compose(
        "copy {stage} ({cols}) from {uri} iam_role {role} format as csv ignoreheader 1 "
        "timeformat 'auto' emptyasnull",
        stage=sql.Identifier(STAGE),
        cols=identifiers(spec.header),
        uri=sql.Literal(s3_uri),
        role=sql.Literal(iam_role),
    )


def redshift_unload_sql(spec: TableSpec, s3_prefix: str, iam_role: str) -> str:
    """UNLOAD a snapshot of the table as Parquet under `s3_prefix` (one partition folder)."""
    from psycopg import sql

    query = select_sql(spec)
    return compose(
        "unload ({query}) to {prefix} iam_role {role} format as parquet allowoverwrite",
        query=sql.Literal(query),
        prefix=sql.Literal(s3_prefix.rstrip("/") + "/"),
        role=sql.Literal(iam_role),
    )


def select_sql(spec: TableSpec, ordered: bool = False) -> str:
    """The table's columns, in key order when `ordered` (a snapshot streamed in batches)."""
    from psycopg import sql

    order = compose("order by {key}", key=sql.Identifier(spec.key)) if ordered else ""
    return compose(
        "select {cols} from {table} {order}",
        cols=identifiers(spec.header),
        table=sql.Identifier(spec.name),
        order=sql.SQL(order),
    ).rstrip()


def manifest_lookup_sql(placeholder: str) -> str:
    from psycopg import sql

    return compose(
        "select 1 from {manifest} where object_key = {p} and checksum = {p}",
        manifest=sql.Identifier(MANIFEST),
        p=sql.SQL(placeholder),
    )


def manifest_insert_sql(placeholder: str) -> str:
    from psycopg import sql

    return compose(
        "insert into {manifest} values ({p}, {p}, {p}, {p}, {p})",
        manifest=sql.Identifier(MANIFEST),
        p=sql.SQL(placeholder),
    )


def drop_stage_sql() -> str:
    from psycopg import sql

    return compose("drop table {stage}", stage=sql.Identifier(STAGE))


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
            cur.execute(manifest_lookup_sql(p), [obj.object_key, obj.checksum])
            if cur.fetchall():
                return LoadResult(obj.local_path, spec.name, self.name, 0, skipped=True)
            self.stage(cur, spec, obj, rows)
            for statement in merge_statements(spec, self.dialect):
                cur.execute(statement)
            cur.execute(
                manifest_insert_sql(p), [obj.object_key, obj.checksum, spec.name, len(rows), _now()]
            )
            cur.execute(drop_stage_sql())
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
        from psycopg import sql

        table = rows_to_arrow(spec, rows)
        cursor.register("_rows", table)
        types = COLUMN_TYPES[self.dialect]
        casts = sql.SQL(", ").join(
            sql.SQL("cast({c} as {t}) as {c}").format(
                c=sql.Identifier(c.name), t=sql.SQL(types[c.kind])
            )
            for c in spec.columns
        )
        cursor.execute(
            compose(
                "create temp table {stage} as select {casts} from _rows",
                stage=sql.Identifier(STAGE),
                casts=casts,
            )
        )
        cursor.unregister("_rows")

    def snapshot(self, spec: TableSpec) -> Iterator[pa.RecordBatch]:
        # DuckDB hands Arrow batches over directly.
        with self.transaction() as con:
            con.execute(table_ddl(spec, self.dialect))
            reader = con.sql(select_sql(spec, ordered=True)).to_arrow_reader(SNAPSHOT_BATCH_ROWS)
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
                cur.execute(select_sql(spec, ordered=True))
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
