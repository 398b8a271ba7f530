{#-
    The incremental configuration of a model kept up to date by `unique_key`, per engine (DESIGN §7):
    DuckDB, PostgreSQL and Redshift replace the key's rows (delete+insert). Athena has no
    delete+insert: a model rebuilt by month overwrites its `billing_month` partitions (Hive,
    insert_overwrite; the partition column comes last in its select, see partition_last), a model
    kept per row merges into an Iceberg table on its key. With `by_stored_rowid`, a model whose
    daily select carries the row ids of the rows it replaces (`stored_rowid`) has them deleted by
    row id on DuckDB (see replace_stored_rows).
-#}
{% macro incremental_by(unique_key, by_stored_rowid=false) -%}
    {%- set common = {'materialized': 'incremental', 'on_schema_change': 'append_new_columns'} -%}
    {%- if target.type == 'athena' and unique_key == 'billing_month' -%}
        {%- do common.update({'incremental_strategy': 'insert_overwrite', 'table_type': 'hive',
            'format': 'parquet', 'partitioned_by': ['billing_month']}) -%}
    {%- elif target.type == 'athena' -%}
        {%- do common.update({'incremental_strategy': 'merge', 'table_type': 'iceberg',
            'format': 'parquet', 'unique_key': unique_key}) -%}
    {%- elif target.type == 'duckdb' and by_stored_rowid -%}
        {%- do common.update({'incremental_strategy': 'replace_stored_rows',
            'on_schema_change': 'ignore', 'unique_key': unique_key}) -%}
    {%- else -%}
        {%- do common.update({'incremental_strategy': 'delete+insert', 'unique_key': unique_key}) -%}
    {%- endif -%}
    {{ return(common) }}
{%- endmacro %}


{#- `column,` where the engine keeps it in place, `, column` (after the others) where it is the
    partition column Athena wants last: `select a, {{ partition_first('m') }} b {{ partition_last('m') }}`. -#}
{% macro partition_first(column) -%}
    {%- if target.type != 'athena' %}{{ column }},{% endif -%}
{%- endmacro %}

{% macro partition_last(column) -%}
    {%- if target.type == 'athena' %}, {{ column }}{% endif -%}
{%- endmacro %}
