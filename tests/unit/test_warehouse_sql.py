"""The SQL the warehouses run, as text: Redshift's COPY/UNLOAD (no Redshift here) and the merge
every warehouse shares (executed for real on DuckDB and PostgreSQL in test_loader)."""

from __future__ import annotations

from ingestion.tables import CUSTOMERS
from ingestion.warehouse import (
    merge_statements,
    redshift_copy_sql,
    redshift_unload_sql,
    stage_ddl,
    table_ddl,
)

ROLE = "arn:aws:iam::123456789012:role/redshift-loads"


def test_redshift_copy_reads_the_object_from_s3_with_the_iam_role():
    assert redshift_copy_sql(CUSTOMERS, "s3://lake/incoming/customers/a.csv", ROLE) == (
        'copy "_staged" ("customer_id", "client_id", "is_test", "segment", "created_at", '
        "\"updated_at\") from 's3://lake/incoming/customers/a.csv' "
        "iam_role 'arn:aws:iam::123456789012:role/redshift-loads' "
        "format as csv ignoreheader 1 timeformat 'auto' emptyasnull"
    )


def test_redshift_copy_escapes_quotes_in_the_uri():
    assert "from 's3://lake/incoming/customers/o''brien.csv'" in redshift_copy_sql(
        CUSTOMERS, "s3://lake/incoming/customers/o'brien.csv", ROLE
    )


def test_redshift_unload_writes_parquet_into_the_partition_folder():
    assert redshift_unload_sql(CUSTOMERS, "s3://lake/lake/dim_customer/dt=2026-01-02", ROLE) == (
        'unload (\'select "customer_id", "client_id", "is_test", "segment", '
        '"created_at", "updated_at" from "dim_customer"\') '
        "to 's3://lake/lake/dim_customer/dt=2026-01-02/' "
        "iam_role 'arn:aws:iam::123456789012:role/redshift-loads' format as parquet allowoverwrite"
    )


def test_redshift_table_uses_wide_varchar():
    assert table_ddl(CUSTOMERS, "redshift").startswith(
        'create table if not exists "dim_customer" ("customer_id" varchar(65535), '
    )


def test_postgres_and_redshift_merge_is_delete_using_then_insert_missing_keys():
    assert stage_ddl(CUSTOMERS) == (
        'create temp table "_staged" as select "customer_id", "client_id", "is_test", '
        '"segment", "created_at", "updated_at" from "dim_customer" where 1 = 0'
    )
    assert (
        merge_statements(CUSTOMERS, "redshift")
        == merge_statements(CUSTOMERS, "postgres")
        == [
            'delete from "dim_customer" using "_staged" where "dim_customer"."customer_id" = '
            '"_staged"."customer_id" and "_staged"."updated_at" >= "dim_customer"."updated_at"',
            'insert into "dim_customer" ("customer_id", "client_id", "is_test", "segment", '
            '"created_at", "updated_at") select "customer_id", "client_id", "is_test", '
            '"segment", "created_at", "updated_at" from "_staged" where not exists (select 1 '
            'from "dim_customer" where "dim_customer"."customer_id" = "_staged"."customer_id")',
        ]
    )
