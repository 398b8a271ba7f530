{#- Whether `relation` exists and has `column`. A unit test's fixture (a CTE, never an existing
    table) counts as having it: the fixture's rows carry the columns as written. -#}
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
