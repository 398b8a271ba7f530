{#- True when two expressions differ, a NULL differing from any value and equal to NULL (`is
    distinct from`, which Redshift lacks). -#}
{% macro differs(left, right) -%}
    (case when {{ left }} = {{ right }} or ({{ left }} is null and {{ right }} is null) then false else true end)
{%- endmacro %}


{#- Whether `relation` exists and has `column` (false for a unit test's fixture CTE's relation,
    which is never an existing table: callers get the fixture's columns as written). -#}
{% macro relation_has_column(relation, column) -%}
    {%- if '__dbt__cte__' in (relation | string) -%}
        {{ return(true) }}
    {%- endif -%}
    {%- if not execute -%}
        {{ return(false) }}
    {%- endif -%}
    {%- set columns = adapter.get_columns_in_relation(relation) -%}
    {{ return(column | lower in (columns | map(attribute='name') | map('lower') | list)) }}
{%- endmacro %}
