"""Loading incoming customer files into the embedded warehouse: upsert, idempotency, bad files."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from ingestion.loader import LoadError, load_file
from ingestion.replicate import replicate_customers

HEADER = "customer_id,client_id,is_test,segment,created_at,updated_at\n"


def write(lake, name: str, body: str) -> str:
    folder = lake.ensure_local(lake.incoming("customers"))
    path = f"{folder}/{name}"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(body)
    return path


def table(lake) -> list[tuple]:
    with duckdb.connect(lake.warehouse_db) as con:
        return con.execute(
            "select customer_id, client_id, is_test, segment, updated_at from dim_customer order by 1"
        ).fetchall()


def test_load_then_same_file_again_is_a_no_op(lake):
    path = write(
        lake,
        "a.csv",
        HEADER
        + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
        + "u2,c1,true,,2026-01-01T00:00:00+01:00,2026-01-02T00:00:00+01:00\n",
    )
    first = load_file(path, lake.warehouse_db)
    second = load_file(path, lake.warehouse_db)
    assert (first.rows, first.skipped, second.rows, second.skipped) == (2, False, 0, True)
    assert table(lake) == [
        ("u1", "c1", False, "retail", dt.datetime(2026, 1, 2)),
        ("u2", "c1", True, None, dt.datetime(2026, 1, 1, 23)),
    ]


def test_newer_file_upserts_and_older_record_never_overwrites(lake):
    load_file(
        write(
            lake,
            "a.csv",
            HEADER
            + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-05T00:00:00Z\n"
            + "u2,c1,false,smb,2026-01-01T00:00:00Z,2026-01-05T00:00:00Z\n",
        ),
        lake.warehouse_db,
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
        lake.warehouse_db,
    )
    assert [(r[0], r[2]) for r in table(lake)] == [("u1", True), ("u2", False), ("u3", False)]


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
def test_bad_file_is_rejected_with_line_and_leaves_table_untouched(lake, body, message):
    load_file(
        write(
            lake,
            "good.csv",
            HEADER + "u9,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n",
        ),
        lake.warehouse_db,
    )
    before = table(lake)
    with pytest.raises(LoadError) as err:
        load_file(write(lake, "a.csv", body), lake.warehouse_db)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)
    assert table(lake) == before


def test_file_outside_a_known_table_folder_is_refused(lake, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text(HEADER)
    with pytest.raises(LoadError, match="not under incoming/<table>/"):
        load_file(str(path), lake.warehouse_db)


def test_replication_snapshots_the_warehouse_table(lake):
    load_file(
        write(
            lake,
            "a.csv",
            HEADER
            + "u2,c1,true,smb,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n"
            + "u1,c1,false,retail,2026-01-01T00:00:00Z,2026-01-02T00:00:00Z\n",
        ),
        lake.warehouse_db,
    )
    counts = replicate_customers(lake, dt.date(2026, 1, 3))
    path = lake.curated("dim_customer", dt.date(2026, 1, 3))
    rows = duckdb.sql(
        f"select customer_id, is_test from read_parquet('{path}/*.parquet')"
    ).fetchall()
    assert counts["rows_out"] == 2
    assert sorted(rows) == [("u1", False), ("u2", True)]
