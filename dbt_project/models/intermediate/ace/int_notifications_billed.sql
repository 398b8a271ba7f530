-- One row per attempted notification: whether it was delivered, when, and its billing month (§5.1).
with

states as (

    select * from {{ ref('int_notification_states') }}

),

final as (

    select
        notification_id,
        client_id,
        customer_id,
        experience_id,
        channel,
        attempted_at,
        is_delivered,
        delivered_at,
        billing_month,
        latest_billing_month,
        folded_landing_date

    from states
    where attempted_at is not null

)

select * from final
