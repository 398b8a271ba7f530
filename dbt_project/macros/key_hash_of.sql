{#- The stored key hash's expression (key_hash_column.sql): what the model stores, what the
    lookup probes with and what the refresh compares with are one definition. DuckDB only. -#}
{% macro key_hash_of(expression) -%}
    hash({{ expression }})
{%- endmacro %}
