-- Views and unique users per format per month: users are counted once in the month, however
-- many days they were active (not a sum of the daily counts).
with

views as (

    select * from {{ ref('usage_views') }}

),

final as (

    select
        usage_month,
        format,
        count(*) as views,
        count(distinct user_id) as unique_users

    from views
    group by usage_month, format

)

select * from final
