{#- Rank of a dim_customer snapshot row among its customer's rows (1 = the latest record): newest
    updated_at, then newest snapshot, then by content, so ties are broken deterministically. The
    one definition v_dim_customer and int_customers_latest share. With `per_snapshot`, the rank
    within each snapshot (the record a daily fold of that snapshot takes). -#}
{% macro customer_recency_rank(per_snapshot=false) -%}
    row_number() over (
        partition by customer_id{% if per_snapshot %}, snapshot_date{% endif %}
        order by updated_at desc, snapshot_date desc, client_id asc, is_test desc, segment asc
    )
{%- endmacro %}
