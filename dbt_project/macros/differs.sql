{#- True when two expressions differ, a NULL differing from any value and equal to NULL (`is
    distinct from`, which Redshift lacks). -#}
{% macro differs(left, right) -%}
    (case when {{ left }} = {{ right }} or ({{ left }} is null and {{ right }} is null) then false else true end)
{%- endmacro %}
