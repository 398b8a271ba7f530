{#-
    DuckDB's incremental strategy for a model whose incremental select carries `stored_rowid`: the
    row id of the stored row each new row replaces (null for a new row), found by the model's own
    lookup (see rows_with_keys, stored_rowid). Those rows are deleted by row id, then the new rows
    inserted: delete+insert would look every key up again, a second scan of all the stored keys
    (at 29M stored rows, about a second of the daily fold), or rewrite every row of a month
    whose rows mostly stay as they are. A row whose `only_deletes` is true (an optional column)
    deletes its stored row and is not inserted. Neither column is stored.

    Runs with on_schema_change 'ignore' (else dbt would add those columns to the table) and so
    adds the model's other new columns itself, as append_new_columns does.
-#}
{% macro get_incremental_replace_stored_rows_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set temp = arg_dict['temp_relation'] -%}
    {%- set stored = arg_dict['dest_columns'] | map(attribute='name') | map('lower') | list -%}
    {%- set not_stored = ['stored_rowid', 'only_deletes'] -%}
    {%- set new_columns = [] -%}
    {%- set temp_columns = adapter.get_columns_in_relation(temp) -%}
    {%- set temp_names = temp_columns | map(attribute='name') | map('lower') | list -%}
    {%- for column in temp_columns -%}
        {%- if column.name | lower not in stored and column.name | lower not in not_stored -%}
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
    {%- if 'only_deletes' in temp_names %}
    where not only_deletes
    {%- endif %}
{%- endmacro %}
