-- ACE units per client and billing month; ace_units is by construction the qualifying audit rows.
with

audit as (

    select * from {{ ref('ace_unit_audit') }}

),

final as (

    select
        client_id,
        billing_month,
        cast(sum(case when qualifies then 1 else 0 end) as bigint) as ace_units,
        cast(count(*) as bigint) as customers_attempted,
        cast(sum(case when notifications_delivered > 0 then 1 else 0 end) as bigint)
            as customers_delivered,
        cast(sum(notifications_attempted) as bigint) as notifications_attempted,
        cast(sum(notifications_delivered) as bigint) as notifications_delivered,
        cast(sum(case when reason = 'test_customer' then 1 else 0 end) as bigint)
            as test_customers_excluded,
        cast(sum(case when not customer_known then 1 else 0 end) as bigint) as unknown_customers

    from audit
    group by client_id, billing_month

)

select * from final
