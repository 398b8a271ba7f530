-- The usage fact table: one row per distinct usage event (a view of one format by one user).
with

events as (

    select * from {{ ref('int_usage_events_deduplicated') }}

),

final as (

    select
        event_id,
        user_id,
        format,
        viewed_at,
        event_date,
        {{ month_start('viewed_at') }} as usage_month

    from events

)

select * from final
