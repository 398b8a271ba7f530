{{ config(materialized='view') }}

-- The latest record per customer over every replicated snapshot; ties broken deterministically.
with

snapshots as (

    select * from {{ ref('stg_lake__dim_customer') }}

),

ranked as (

    select
        *,
        {{ customer_recency_rank() }} as recency_rank

    from snapshots

),

final as (

    select
        customer_id,
        client_id,
        is_test,
        segment,
        created_at,
        updated_at

    from ranked
    where recency_rank = 1

)

select * from final
