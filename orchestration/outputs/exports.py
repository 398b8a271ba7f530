"""Finance exports: the monthly ACE outputs as CSV files under exports/finance/<model>/month=M/.

The rows come from where the models were built: the local DuckDB database, or Athena on AWS
(the athena target; nothing here opens a local file there). Both give their values as text and
one writer renders the file, so Finance receives the same bytes from either."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from orchestration.core.errors import InputError
from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.core.storage import write_bytes


@dataclass(frozen=True)
class FinanceExport:
    model: str
    columns: tuple[str, ...]  # the file's columns, in this order on every engine
    grain: tuple[str, ...]  # one row per grain value, which is also the row order


FINANCE_EXPORTS = (
    FinanceExport(
        "ace_unit_monthly_output",
        (
            "client_id",
            "billing_month",
            "ace_units",
            "customers_delivered",
            "notifications_delivered",
            "test_customers_excluded",
        ),
        ("client_id",),
    ),
    FinanceExport(
        "ace_unit_monthly_outcome_experience_output",
        (
            "client_id",
            "billing_month",
            "outcome",
            "experience_id",
            "ace_units",
            "notifications_delivered",
        ),
        ("client_id", "outcome", "experience_id"),
    ),
)
# How long an export waits for its Athena query, polling with a doubling wait up to 10 s.
ATHENA_TIMEOUT_SECONDS = 900
_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")

Row = Sequence[str | None]


def export_path(lake: Lake, model: str, month: str) -> str:
    return f"{lake.exports('finance', model, f'month={month}')}/{model}.csv"


def export_query(export: FinanceExport, month: str, schema: str) -> str:
    """The month's rows of one export, its columns by name, in grain order (ANSI SQL that DuckDB
    and Athena both run)."""
    if not _MONTH.fullmatch(month):
        raise InputError(f"month {month!r} is not YYYY-MM")
    # Identifiers quoted by psycopg's rule (double quotes, as DuckDB and Trino quote them): the
    # schema comes from the settings.
    return (
        sql.SQL("select {columns} from {table} where billing_month = date {day} order by {grain}")
        .format(
            columns=sql.SQL(", ").join(map(sql.Identifier, export.columns)),
            table=sql.Identifier(schema, export.model),
            day=sql.Literal(f"{month}-01"),
            grain=sql.SQL(", ").join(map(sql.Identifier, export.grain)),
        )
        .as_string(None)
    )


def as_text(value: Any) -> str | None:
    """A value as Athena's query results write it: ISO dates, true/false, plain integers."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    return str(value)


def csv_bytes(columns: Sequence[str], rows: Iterable[Row]) -> bytes:
    """The Finance CSV dialect: a header, commas, `"` only where needed, `\\n` line ends, an
    empty field for NULL, UTF-8."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def duckdb_rows(database: str, sql: str) -> list[Row]:
    import duckdb

    with duckdb.connect(database, read_only=True) as con:
        return [tuple(as_text(v) for v in row) for row in con.execute(sql).fetchall()]


def athena_rows(settings: Settings, sql: str, client: Any = None) -> list[Row]:
    """Run `sql` in the workgroup, wait for it, and return its rows (header dropped) as text."""
    import boto3

    athena = client or boto3.client("athena", region_name=settings.aws_region)
    query_id = athena.start_query_execution(
        QueryString=sql,
        QueryExecutionContext={"Catalog": "AwsDataCatalog", "Database": settings.athena_schema},
        WorkGroup=settings.athena_workgroup,
        ResultConfiguration={
            "OutputLocation": f"{(settings.athena_staging_dir or '').rstrip('/')}/exports/"
        },
    )["QueryExecutionId"]
    _wait_for(athena, query_id)
    rows: list[Row] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        rows.extend(
            tuple(d.get("VarCharValue") for d in r["Data"]) for r in page["ResultSet"]["Rows"]
        )
    return rows[1:]  # the first row of a SELECT's results is its header


def _wait_for(athena: Any, query_id: str) -> None:
    deadline, wait = time.monotonic() + ATHENA_TIMEOUT_SECONDS, 0.5
    while True:
        status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        if status["State"] == "SUCCEEDED":
            return
        if status["State"] in ("FAILED", "CANCELLED"):
            reason = status.get("StateChangeReason", "no reason given")
            raise RuntimeError(f"Athena query {query_id} {status['State']}: {reason}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"Athena query {query_id} still {status['State']}")
        time.sleep(wait)
        wait = min(wait * 2, 10.0)


def month_rows(settings: Settings, lake: Lake, export: FinanceExport, month: str) -> list[Row]:
    if settings.target == "athena":
        return athena_rows(settings, export_query(export, month, settings.athena_schema))
    return duckdb_rows(lake.analytics_db, export_query(export, month, "main"))


def export_month(settings: Settings, lake: Lake, month: str) -> dict[str, int]:
    """Write every Finance export of `month` (YYYY-MM), each file whole (a rerun replaces it)."""
    rows_out = 0
    for export in FINANCE_EXPORTS:
        rows = month_rows(settings, lake, export, month)
        write_bytes(
            export_path(lake, export.model, month), csv_bytes(export.columns, rows), "text/csv"
        )
        rows_out += len(rows)
    return {"rows_in": rows_out, "rows_out": rows_out, "quarantined": 0}
