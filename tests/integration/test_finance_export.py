"""Finance exports: the same CSV bytes from the local DuckDB database and from Athena.

moto's Athena runs no SQL: the Athena side is given the rows Athena would return for the query
(seeded through moto's API) and the test checks what reached the service (the query, the
workgroup, the database) and the file written to the emulated S3. The DuckDB side runs the same
query for real over tables holding the same month, other months and rows out of order."""

from __future__ import annotations

import datetime as dt

import boto3
import duckdb
import pytest

from orchestration.core.lake import Lake
from orchestration.core.settings import Settings
from orchestration.outputs.exports import FINANCE_EXPORTS, csv_bytes, export_month
from tests.emulated import queue_athena_result

REGION = "eu-west-1"
MONTH = "2026-10"
# ace_unit_monthly_output of October, in grain (client_id) order, as text. A client id with a
# comma and one with a quote show the quoting; test_customers_excluded is NULL for one client.
MONTHLY = [
    ("acme", "2026-10-01", "3", "4", "9", "1"),
    ('b"q', "2026-10-01", "1", "1", "1", "0"),
    ("c,2", "2026-10-01", "0", "2", "2", None),
]
OUTCOMES = [
    ("acme", "2026-10-01", "purchase", "exp-1", "2", "5"),
    ("acme", "2026-10-01", "unknown", "exp-9", "1", "1"),
]
# Worked by hand: the header, minimal quoting ("" doubles a quote), an empty field for NULL.
EXPECTED_MONTHLY = (
    b"client_id,billing_month,ace_units,customers_delivered,notifications_delivered,"
    b"test_customers_excluded\n"
    b"acme,2026-10-01,3,4,9,1\n"
    b'"b""q",2026-10-01,1,1,1,0\n'
    b'"c,2",2026-10-01,0,2,2,\n'
)
EXPECTED_OUTCOMES = (
    b"client_id,billing_month,outcome,experience_id,ace_units,notifications_delivered\n"
    b"acme,2026-10-01,purchase,exp-1,2,5\n"
    b"acme,2026-10-01,unknown,exp-9,1,1\n"
)


def test_the_csv_dialect_worked_by_hand():
    monthly, outcomes = FINANCE_EXPORTS
    assert csv_bytes(monthly.columns, MONTHLY) == EXPECTED_MONTHLY
    assert csv_bytes(outcomes.columns, OUTCOMES) == EXPECTED_OUTCOMES


def _typed(row):
    """A text row as the model stores it: the date a date, the counts integers."""
    return tuple(
        dt.date.fromisoformat(v) if i == 1 else (int(v) if v and v.isdigit() else v)
        for i, v in enumerate(row)
    )


def test_duckdb_export_selects_the_month_in_grain_order(tmp_path):
    lake = Lake(str(tmp_path))
    with duckdb.connect(lake.analytics_db) as con:
        # Columns in another order than the export's, rows shuffled, another month beside.
        con.execute(
            "create table ace_unit_monthly_output (billing_month date, client_id varchar, "
            "ace_units bigint, customers_delivered bigint, notifications_delivered bigint, "
            "test_customers_excluded bigint)"
        )
        for row in [MONTHLY[2], MONTHLY[0], MONTHLY[1], ("acme", "2026-09-01", "7", "7", "7", "0")]:
            c, m, *counts = _typed(row)
            con.execute(
                "insert into ace_unit_monthly_output values (?, ?, ?, ?, ?, ?)", [m, c, *counts]
            )
        con.execute(
            "create table ace_unit_monthly_outcome_experience_output (client_id varchar, "
            "billing_month date, outcome varchar, experience_id varchar, ace_units bigint, "
            "notifications_delivered bigint)"
        )
        for row in [OUTCOMES[1], OUTCOMES[0]]:
            con.execute(
                "insert into ace_unit_monthly_outcome_experience_output values (?, ?, ?, ?, ?, ?)",
                list(_typed(row)),
            )
    settings = Settings(LAKE_ROOT=str(tmp_path))
    assert export_month(settings, lake, MONTH)["rows_out"] == 5
    folder = tmp_path / "exports" / "finance"
    monthly = folder / "ace_unit_monthly_output" / f"month={MONTH}" / "ace_unit_monthly_output.csv"
    assert monthly.read_bytes() == EXPECTED_MONTHLY
    outcome = "ace_unit_monthly_outcome_experience_output"
    assert (
        folder / outcome / f"month={MONTH}" / f"{outcome}.csv"
    ).read_bytes() == EXPECTED_OUTCOMES


def _seed_athena(endpoint: str, header: tuple[str, ...], rows: list[tuple]) -> None:
    """Queue the result moto's Athena returns for the next query (header row first)."""
    queue_athena_result(endpoint, [header, *rows])


@pytest.fixture
def aws(moto_server, monkeypatch):
    for key, value in {
        "AWS_ENDPOINT_URL": moto_server,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)
    return moto_server


def test_athena_export_writes_the_same_bytes_to_s3_and_opens_no_local_file(aws, monkeypatch):
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(
        Bucket="finance-lake", CreateBucketConfiguration={"LocationConstraint": REGION}
    )

    def no_duckdb(*args, **kwargs):
        raise AssertionError("an AWS task opened a DuckDB database")

    athena = boto3.client("athena", region_name=REGION)
    if "finance" not in {w["Name"] for w in athena.list_work_groups()["WorkGroups"]}:
        athena.create_work_group(Name="finance")
    monkeypatch.setattr(duckdb, "connect", no_duckdb)
    monthly, outcomes = FINANCE_EXPORTS
    _seed_athena(aws, monthly.columns, MONTHLY)
    _seed_athena(aws, outcomes.columns, OUTCOMES)
    settings = Settings(
        LAKE_ROOT="s3://finance-lake",
        ANALYTICS_TARGET="athena",
        PII_SALT="s3cret",
        AWS_REGION=REGION,
        ATHENA_STAGING_DIR="s3://finance-results/dbt/",
        ATHENA_DATA_DIR="s3://finance-lake/models/",
        ATHENA_WORKGROUP="finance",
        ATHENA_SCHEMA="analytics",
    )
    assert export_month(settings, Lake.from_settings(settings), MONTH)["rows_out"] == 5

    def body(model: str) -> bytes:
        key = f"exports/finance/{model}/month={MONTH}/{model}.csv"
        return s3.get_object(Bucket="finance-lake", Key=key)["Body"].read()

    assert body(monthly.model) == EXPECTED_MONTHLY
    assert body(outcomes.model) == EXPECTED_OUTCOMES
    queries = [
        athena.get_query_execution(QueryExecutionId=q)["QueryExecution"]
        for q in athena.list_query_executions(WorkGroup="finance")["QueryExecutionIds"]
    ]
    sent = {q["Query"] for q in queries}
    assert (
        'select "client_id", "billing_month", "ace_units", "customers_delivered", '
        '"notifications_delivered", "test_customers_excluded" from '
        '"analytics"."ace_unit_monthly_output" '
        "where billing_month = date '2026-10-01' order by \"client_id\""
    ) in sent
    assert any(q.endswith('order by "client_id", "outcome", "experience_id"') for q in sent)
    assert {q["QueryExecutionContext"]["Database"] for q in queries} == {"analytics"}
