-- Finance's monthly ACE export: one row per client and billing month.
with

agg as (

    select * from {{ ref('ace_unit_agg') }}

),

final as (

    select
        client_id,
        billing_month,
        ace_units,
        customers_delivered,
        notifications_delivered,
        test_customers_excluded

    from agg

)

select * from final
