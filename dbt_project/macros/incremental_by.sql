{#-
    The incremental configuration of a model kept up to date by `unique_key`, per engine (DESIGN
    §7), through adapter.dispatch: DuckDB, PostgreSQL and Redshift replace the key's rows
    (delete+insert). Athena has no delete+insert: a model rebuilt by month overwrites its
    `billing_month` partitions (Hive, insert_overwrite; the partition column comes last in its
    select, on every engine, so the columns are in the same order everywhere), a model kept per
    row merges into an Iceberg table on its key, partitioned by `iceberg_partitioned_by`. With
    `by_stored_rowid`, a model whose daily select carries the row ids of the rows it replaces
    (`stored_rowid`) has them deleted by row id on DuckDB (see
    get_incremental_replace_stored_rows_sql).
-#}
{% macro incremental_by(unique_key, by_stored_rowid=false, iceberg_partitioned_by=none) -%}
    {{ return(adapter.dispatch('incremental_by')(unique_key, by_stored_rowid, iceberg_partitioned_by)) }}
{%- endmacro %}

{% macro default__incremental_by(unique_key, by_stored_rowid, iceberg_partitioned_by) -%}
    {{ return({'materialized': 'incremental', 'on_schema_change': 'append_new_columns',
        'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) }}
{%- endmacro %}

{% macro duckdb__incremental_by(unique_key, by_stored_rowid, iceberg_partitioned_by) -%}
    {%- set config = default__incremental_by(unique_key, by_stored_rowid, iceberg_partitioned_by) -%}
    {%- if by_stored_rowid -%}
        {%- do config.update({'incremental_strategy': 'replace_stored_rows',
            'on_schema_change': 'ignore'}) -%}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}

{% macro athena__incremental_by(unique_key, by_stored_rowid, iceberg_partitioned_by) -%}
    {%- set config = {'materialized': 'incremental', 'on_schema_change': 'append_new_columns',
        'format': 'parquet'} -%}
    {%- if unique_key == 'billing_month' -%}
        {%- do config.update({'incremental_strategy': 'insert_overwrite', 'table_type': 'hive',
            'partitioned_by': ['billing_month']}) -%}
    {%- else -%}
        {%- do config.update({'incremental_strategy': 'merge', 'table_type': 'iceberg',
            'unique_key': unique_key}) -%}
        {%- if iceberg_partitioned_by -%}
            {%- do config.update({'partitioned_by': iceberg_partitioned_by}) -%}
        {%- endif -%}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}
