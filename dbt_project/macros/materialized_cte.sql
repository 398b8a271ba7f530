{#-
    `name as {{ materialized_cte() }} (...)`: evaluate a CTE read more than once a single time.
    DuckDB would otherwise inline it at each use (re-reading the lake); PostgreSQL accepts the
    keyword; Trino (Athena) and Redshift have no such syntax and get nothing.
-#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}{%- endmacro %}

{% macro duckdb__materialized_cte() -%}materialized{%- endmacro %}

{% macro postgres__materialized_cte() -%}materialized{%- endmacro %}

{#- Redshift has no MATERIALIZED keyword (it would inherit the PostgreSQL one). -#}
{% macro redshift__materialized_cte() -%}{%- endmacro %}
