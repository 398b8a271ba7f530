{{ config(**incremental_by('billing_month')) }}

{#
    The month's notifications summed once per (client, billing month, customer, experience): the
    audit and the outcome report both read this (about a twentieth of the notifications at the
    benchmark's scale) instead of grouping and joining every notification of the month each.
#}

-- depends_on: {{ ref('int_notification_states') }}
with

notifications as (

    {{ ace_months_of(ref('int_notifications_billed')) }}

),

final as (

    select
        client_id,
        {{ partition_first('billing_month') }}
        customer_id,
        experience_id,
        count(*) as notifications_attempted,
        count(delivered_at) as notifications_delivered,
        min(delivered_at) as first_delivered_at,
        max(delivered_at) as last_delivered_at
        {{ partition_last('billing_month') }}

    from notifications
    group by client_id, billing_month, customer_id, experience_id

)

select * from final
