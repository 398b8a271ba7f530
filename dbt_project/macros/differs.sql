{#- True when two expressions differ, a NULL differing from any value and equal to NULL: `is
    distinct from`, which Redshift lacks. (`left = right` is NULL when either is; then they
    differ unless both are.) -#}
{% macro differs(left, right) -%}
    (not coalesce({{ left }} = {{ right }}, {{ left }} is null and {{ right }} is null))
{%- endmacro %}
