"""Loading incoming customer files into each warehouse (embedded DuckDB, real PostgreSQL): upsert,
idempotency, bad files; and replicating the table into the lake."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ingestion.loader import LoadError, load
from ingestion.replicate import replicate_customers
from ingestion.warehouse import DuckDBWarehouse, PostgresWarehouse, Warehouse
from orchestration.core.settings import Settings

HEADER = "customer_id,client_id,is_test,segment,created_at,updated_at\n"


def write(lake, name: str, body: str) -> str:
    folder = lake.ensure_local(lake.incoming("customers"))
    path = f"{folder}/{name}"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(body)
    return path


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, lake) -> Warehouse:
    if request.param == "duckdb":
        return DuckDBWarehouse(lake.warehouse_db)
    return PostgresWarehouse(request.getfixturevalue("postgres_url"))


def load_file(path: str, warehouse: Warehouse):
    [result] = load(path, [warehouse])
    return result


def table(warehouse: Warehouse) -> list[tuple]:
    with warehouse.transaction() as cur:
        cur.execute(
            "select customer_id, client_id, is_test, segment, updated_at from dim_customer order by 1"
        )
        return [tuple(r) for r in cur.fetchall()]


def test_load_then_same_file_again_is_a_no_op(lake, warehouse):
    path = write(
        lake,
        "a.csv",
        HEADER
        + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
        + "u2,c1,true,,2026-01-01T00:00:00+01:00,2026-01-02T00:00:00+01:00\n",
    )
    first = load_file(path, warehouse)
    second = load_file(path, warehouse)
    assert (first.rows, first.skipped, second.rows, second.skipped) == (2, False, 0, True)
    assert table(warehouse) == [
        ("u1", "c1", False, "retail", dt.datetime(2026, 1, 2)),
        ("u2", "c1", True, None, dt.datetime(2026, 1, 1, 23)),
    ]


def test_newer_file_upserts_and_older_record_never_overwrites(lake, warehouse):
    load_file(
        write(
            lake,
            "a.csv",
            HEADER
            + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-05T00:00:00Z\n"
            + "u2,c1,false,smb,2026-01-01T00:00:00Z,2026-01-05T00:00:00Z\n",
        ),
        warehouse,
    )
    load_file(
        write(
            lake,
            "b.csv",
            HEADER
            + "u1,c1,true,retail,2026-01-01T00:00:00Z,2026-01-06T00:00:00Z\n"
            + "u2,c1,true,smb,2026-01-01T00:00:00Z,2026-01-04T00:00:00Z\n"
            + "u3,c2,false,smb,2026-01-01T00:00:00Z,2026-01-04T00:00:00Z\n",
        ),
        warehouse,
    )
    assert [(r[0], r[2]) for r in table(warehouse)] == [("u1", True), ("u2", False), ("u3", False)]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("customer_id,client_id\nu1,c1\n", "a.csv: line 1: header"),
        (
            HEADER + "u1,c1,maybe,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n",
            "a.csv: line 2: is_test='maybe' is not true/false",
        ),
        (
            HEADER
            + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
            + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-03T00:00:00Z\n",
            "a.csv: line 3: duplicate customer_id 'u1' (first on line 2)",
        ),
        (
            HEADER + "u1,c1,false,retail,2026-01-01T00:00:00Z,not-a-time\n",
            "a.csv: line 2: updated_at='not-a-time' is not an ISO-8601 timestamp",
        ),
        (HEADER + "u1,c1,false\n", "a.csv: line 2: 3 fields, expected 6"),
        (
            HEADER + ",c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n",
            "a.csv: line 2: customer_id is empty",
        ),
    ],
)
def test_bad_file_is_rejected_with_line_and_leaves_table_untouched(lake, warehouse, body, message):
    load_file(
        write(
            lake,
            "good.csv",
            HEADER + "u9,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n",
        ),
        warehouse,
    )
    before = table(warehouse)
    with pytest.raises(LoadError) as err:
        load_file(write(lake, "a.csv", body), warehouse)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    assert table(warehouse) == before


def test_file_outside_a_known_table_folder_is_refused(lake, tmp_path):
    warehouse = DuckDBWarehouse(lake.warehouse_db)
    path = tmp_path / "x.csv"
    path.write_text(HEADER)
    with pytest.raises(LoadError, match="not under incoming/<table>/"):
        load_file(str(path), warehouse)


def test_replication_snapshots_the_warehouse_table(lake, warehouse):
    load_file(
        write(
            lake,
            "a.csv",
            HEADER
            + "u2,c1,true,smb,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
            + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n",
        ),
        warehouse,
    )
    url = warehouse.url if isinstance(warehouse, PostgresWarehouse) else None
    counts = replicate_customers(
        Settings(LAKE_ROOT=lake.root, WAREHOUSE_URL=url), lake, dt.date(2026, 1, 3)
    )
    path = lake.curated("dim_customer", dt.date(2026, 1, 3))
    rows = duckdb.sql(
        f"select customer_id, is_test from read_parquet('{path}/*.parquet')"
    ).fetchall()
    assert counts["rows_out"] == 2
    assert sorted(rows) == [("u1", False), ("u2", True)]


def test_each_load_is_recorded_in_the_manifest(lake, warehouse):
    path = write(
        lake, "a.csv", HEADER + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
    )
    load_file(path, warehouse)
    load_file(path, warehouse)
    with warehouse.transaction() as cur:
        cur.execute("select object_key, table_name, rows_loaded from load_manifest")
        assert [tuple(r) for r in cur.fetchall()] == [
            ("incoming/customers/a.csv", "dim_customer", 1)
        ]


def test_unreachable_postgres_is_one_clear_error(lake):
    from ingestion.warehouse import WarehouseUnavailable

    path = write(
        lake, "a.csv", HEADER + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
    )
    dead = PostgresWarehouse("postgresql://nobody:secret@127.0.0.1:1/none")
    with pytest.raises(
        WarehouseUnavailable,
        match=r"postgres:postgresql://nobody:\*\*\*@127.0.0.1:1/none: cannot connect",
    ) as err:
        load_file(path, dead)
    assert "secret" not in str(err.value)


def test_s3_object_loads_once_by_etag(lake, monkeypatch):
    import boto3
    from moto import mock_aws

    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    body = HEADER + "u1,c1,true,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
    warehouse = DuckDBWarehouse(lake.warehouse_db)
    with mock_aws():
        s3 = boto3.client("s3", region_name="eu-west-1")
        s3.create_bucket(
            Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        s3.put_object(Bucket="lake", Key="incoming/customers/a.csv", Body=body.encode())
        etag = s3.head_object(Bucket="lake", Key="incoming/customers/a.csv")["ETag"].strip('"')
        first = load_file("s3://lake/incoming/customers/a.csv", warehouse)
        second = load_file("s3://lake/incoming/customers/a.csv", warehouse)
        with pytest.raises(
            LoadError, match="s3://lake/incoming/customers/missing.csv: cannot read"
        ):
            load_file("s3://lake/incoming/customers/missing.csv", warehouse)
    assert (first.rows, first.skipped, second.skipped) == (1, False, True)
    assert [r[:3] for r in table(warehouse)] == [("u1", "c1", True)]
    with warehouse.transaction() as cur:
        cur.execute("select checksum from load_manifest")
        assert cur.fetchall() == [(etag,)]


def test_a_file_larger_than_a_row_group_loads_every_row(lake, warehouse):
    # 130,000 rows: more than one DuckDB row group (122,880), where a same-transaction
    # anti-join once silently matched nothing.
    n = 130_000
    lines = [
        f"u{i:06d},c{i % 7},{'true' if i % 10 == 0 else 'false'},s,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
        for i in range(n)
    ]
    load_file(write(lake, "big.csv", HEADER + "".join(lines)), warehouse)
    with warehouse.transaction() as cur:
        cur.execute(
            "select count(*), count(distinct customer_id), sum(case when is_test then 1 else 0 end) from dim_customer"
        )
        assert tuple(cur.fetchall()[0]) == (n, n, n // 10)
