{#- Rank of a dim_customer snapshot row among its customer's rows (1 = the latest record): newest
    updated_at, then newest snapshot, then by content, so ties are broken deterministically. The
    one definition v_dim_customer and int_customers_latest share. -#}
{% macro customer_recency_rank() -%}
    row_number() over (
        partition by customer_id
        order by updated_at desc, snapshot_date desc, client_id, is_test desc, segment
    )
{%- endmacro %}
