{#-
    DuckDB's incremental strategy for a model whose daily select carries `stored_rowid`: the row
    id of the stored row each new row replaces, found by the model's own lookup of its keys (see
    rows_with_keys). Those rows are deleted by row id, then the new rows inserted: delete+insert
    would look every key up again, a second scan of all the stored keys (at 29M stored rows,
    about a second of the daily fold). `stored_rowid` itself is not stored.

    Runs with on_schema_change 'ignore' (else dbt would add `stored_rowid` to the table) and so
    adds the model's other new columns itself, as append_new_columns does.
-#}
{% macro get_incremental_replace_stored_rows_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set stored = arg_dict['dest_columns'] | map(attribute='name') | map('lower') | list -%}
    {%- set new_columns = [] -%}
    {%- for column in adapter.get_columns_in_relation(temp) -%}
        {%- if column.name | lower not in stored and column.name | lower != 'stored_rowid' -%}
            {%- do new_columns.append(column) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set columns = get_quoted_csv(
        (arg_dict['dest_columns'] + new_columns) | map(attribute='name')) -%}
    {%- for column in new_columns %}
    alter table {{ target }} add column {{ adapter.quote(column.name) }} {{ column.data_type }};
    {%- endfor %}
    delete from {{ target }}
    where rowid in (select stored_rowid from {{ temp }} where stored_rowid is not null);

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ temp }}
{%- endmacro %}
