-- One row per notification: whether it was delivered, when, and the month it belongs to (§5.1).
with

attempts as (

    select * from {{ ref('int_notification_attempts_deduplicated') }}

),

receipts as (

    select * from {{ ref('stg_lake__notification_receipts') }}

),

first_delivery as (

    select
        notification_id,
        min(reported_at) as first_delivered_reported_at

    from receipts
    where receipt_status = 'delivered'
    group by notification_id

),

delivered as (

    select
        attempts.notification_id,
        attempts.client_id,
        attempts.customer_id,
        attempts.experience_id,
        attempts.channel,
        attempts.attempted_at,
        first_delivery.notification_id is not null as is_delivered,
        -- A receipt stamped before the attempt (provider clock skew) is read as the attempt time.
        case
            when first_delivery.first_delivered_reported_at < attempts.attempted_at
                then attempts.attempted_at
            else first_delivery.first_delivered_reported_at
        end as delivered_at

    from attempts
    left join first_delivery
        on attempts.notification_id = first_delivery.notification_id

),

final as (

    select
        *,
        {{ month_start('coalesce(delivered_at, attempted_at)') }} as billing_month

    from delivered

)

select * from final
