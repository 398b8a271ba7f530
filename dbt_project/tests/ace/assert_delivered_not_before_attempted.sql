-- A notification is never delivered before it was attempted (a receipt stamped earlier, provider
-- clock skew, is read as the attempt time; DESIGN §5.1). Rows returned are failures.
{{ config(tags=['whole_history']) }}

select
    notification_id,
    attempted_at,
    delivered_at

from {{ ref('int_notifications_billed') }}
where delivered_at < attempted_at
