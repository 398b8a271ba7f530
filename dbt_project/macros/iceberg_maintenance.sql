{#-
    The post-hooks that keep an Iceberg table healthy on Athena, run by the monthly build
    (ACE_BILLING_MONTH set): OPTIMIZE compacts the small files the daily merges leave, VACUUM
    expires old snapshots and removes the files no snapshot reads. Nothing on other engines, and
    nothing in a daily build (its cost must follow the day).
    `post_hook=iceberg_maintenance()` in the model's config.
-#}
{% macro iceberg_maintenance() -%}
    {{ return(adapter.dispatch('iceberg_maintenance')()) }}
{%- endmacro %}

{% macro default__iceberg_maintenance() -%}
    {{ return([]) }}
{%- endmacro %}

{% macro athena__iceberg_maintenance() -%}
    {{ return([
        "{% if run_param('ACE_BILLING_MONTH') %}optimize {{ this }} rewrite data using bin_pack{% endif %}",
        "{% if run_param('ACE_BILLING_MONTH') %}vacuum {{ this }}{% endif %}",
    ]) }}
{%- endmacro %}
