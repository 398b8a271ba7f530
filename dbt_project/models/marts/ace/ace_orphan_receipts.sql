-- Receipts whose notification has no attempt: they count for nothing, and are reported here.
with

receipts as (

    select * from {{ ref('stg_lake__notification_receipts') }}

),

attempts as (

    select * from {{ ref('int_notification_attempts_deduplicated') }}

),

orphans as (

    select
        receipts.notification_id,
        receipts.receipt_status,
        receipts.reported_at,
        min(receipts.landing_date) as landing_date

    from receipts
    left join attempts
        on receipts.notification_id = attempts.notification_id
    where attempts.notification_id is null
    group by receipts.notification_id, receipts.receipt_status, receipts.reported_at

),

final as (

    select * from orphans

)

select * from final
