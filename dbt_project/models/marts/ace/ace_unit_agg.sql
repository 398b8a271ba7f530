-- ACE units per client and billing month; ace_units is by construction the qualifying audit rows.
with

audit as (

    select * from {{ ref('ace_unit_audit') }}

),

final as (

    select
        client_id,
        billing_month,
        sum(case when qualifies then 1 else 0 end) as ace_units,
        count(*) as customers_attempted,
        sum(case when notifications_delivered > 0 then 1 else 0 end) as customers_delivered,
        sum(notifications_attempted) as notifications_attempted,
        sum(notifications_delivered) as notifications_delivered,
        sum(case when reason = 'test_customer' then 1 else 0 end) as test_customers_excluded,
        sum(case when not customer_known then 1 else 0 end) as unknown_customers

    from audit
    group by client_id, billing_month

)

select * from final
