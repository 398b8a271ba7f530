-- Views and unique users per format per day (UTC).
with

views as (

    select * from {{ ref('usage_views') }}

),

final as (

    select
        event_date,
        format,
        count(*) as views,
        count(distinct user_id) as unique_users

    from views
    group by event_date, format

)

select * from final
