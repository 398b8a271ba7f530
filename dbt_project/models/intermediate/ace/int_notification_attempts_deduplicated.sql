-- Duplicate attempts count once: the copy that landed first (then the earliest, then by content).
with

attempts as (

    select * from {{ ref('stg_lake__notification_attempts') }}

),

ranked as (

    select
        *,
        row_number() over (
            partition by notification_id
            order by landing_date, attempted_at, client_id, customer_id, experience_id, channel
        ) as copy_number

    from attempts

),

final as (

    select
        notification_id,
        client_id,
        customer_id,
        experience_id,
        channel,
        attempted_at,
        landing_date

    from ranked
    where copy_number = 1

)

select * from final
