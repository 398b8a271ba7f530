{#-
    `select * from relation` restricted to the rows whose `key` is in the subquery `keys`.
    DuckDB finds the matching row ids on the key column alone, then fetches only those rows: a
    plain semi-join would scan and carry every column of every stored row through the join (on
    the benchmark's 30 days of history, 11 s instead of 1.7 s). Other engines get the plain form.
-#}
{% macro rows_with_keys(relation, key, keys) -%}
    {{ return(adapter.dispatch('rows_with_keys')(relation, key, keys)) }}
{%- endmacro %}

{% macro default__rows_with_keys(relation, key, keys) -%}
    select * from {{ relation }}
    where {{ key }} in ({{ keys }})
{%- endmacro %}

{% macro duckdb__rows_with_keys(relation, key, keys) -%}
    {#- In a unit test `this` is the fixture, a CTE named __dbt__cte__<model>: it has no row ids. -#}
    {%- if '__dbt__cte__' in (relation | string) -%}
    {{ return(default__rows_with_keys(relation, key, keys)) }}
    {%- endif %}
    select * from {{ relation }}
    where rowid in (select rowid from {{ relation }} where {{ key }} in ({{ keys }}))
{%- endmacro %}
