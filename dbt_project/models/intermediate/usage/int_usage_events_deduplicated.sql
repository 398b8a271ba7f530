-- One row per event id: at-least-once delivery repeats records; the first copy received counts.
with

events as (

    select * from {{ ref('stg_lake__usage_events') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by event_id
            order by ingested_at, viewed_at, user_id, format
        ) as copy_number

    from events

),

final as (

    select
        event_id,
        user_id,
        format,
        viewed_at,
        event_date,
        ingested_at

    from ranked
    where copy_number = 1

)

select * from final
