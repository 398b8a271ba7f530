{#- The rows of `relation` (a model with a billing_month) in the months this run rebuilds. -#}
{% macro ace_months_of(relation, changed_since=none) -%}
    {%- set months = ace_months_to_rebuild(changed_since) | trim -%}
    select * from {{ relation }}
    {%- if months %}
    where billing_month in ({{ months }})
    {%- endif %}
{%- endmacro %}
