-- The incrementally folded customer table holds the same latest records as the full-history view
-- (rows returned = differences). Scans every snapshot: part of the monthly build, not the daily.
{{ config(tags=['whole_history']) }}

with

folded as (

    select
        customer_id,
        client_id,
        is_test,
        segment,
        created_at,
        updated_at
    from {{ ref('int_customers_latest') }}

),

full_history as (

    select
        customer_id,
        client_id,
        is_test,
        segment,
        created_at,
        updated_at
    from {{ ref('v_dim_customer') }}

),

only_folded as (

    select * from folded
    except
    select * from full_history

),

only_full_history as (

    select * from full_history
    except
    select * from folded

)

select
    'only in int_customers_latest' as side,
    customer_id,
    client_id,
    is_test,
    segment,
    created_at,
    updated_at
from only_folded
union all
select
    'only in v_dim_customer' as side,
    customer_id,
    client_id,
    is_test,
    segment,
    created_at,
    updated_at
from only_full_history
