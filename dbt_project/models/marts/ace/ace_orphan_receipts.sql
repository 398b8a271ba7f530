{{ config(materialized='view') }}

-- Notifications known only from receipts (no attempt on any landing day so far): they count for
-- nothing, and are reported here instead of being dropped silently.
with

states as (

    select * from {{ ref('int_notification_states') }}

),

final as (

    select
        notification_id,
        first_receipt_at,
        last_receipt_at,
        first_delivered_reported_at,
        first_receipt_landing_date

    from states
    where attempted_at is null

)

select * from final
