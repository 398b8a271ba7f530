{#-
    A run parameter (an environment variable such as ACE_LANDING_DATE, set by `analytics run`),
    or '' when unset. Read only when the project runs (`execute`), never while dbt parses it:
    dbt's partial parsing re-parses every file whose parse read an environment variable whose
    value has changed since, and the landing date changes every day (a daily build re-parsed 11
    files, the biggest YAML files among them, before it ran a query). While parsing, the
    parameter reads as unset: the SQL rendered then only gives dbt the refs and configs.
-#}
{% macro run_param(name) -%}
    {{ return(env_var(name, '') if execute else '') }}
{%- endmacro %}
