-- Every attendee is in exactly one gender bucket and one age bucket (DESIGN §5.2): per subject,
-- dimension and as-of date the bucket counts add up to the attendees. Rows returned are failures.
with buckets as (

    select
        'event' as subject,
        event_id as subject_id,
        as_of_date,
        dimension,
        attendees,
        user_count
    from {{ ref('stg_lake__social_event_stats') }}
    where dimension in ('gender', 'age')

    union all

    select
        'brand' as subject,
        brand_id as subject_id,
        as_of_date,
        dimension,
        attendees,
        user_count
    from {{ ref('stg_lake__social_brand_stats') }}
    where dimension in ('gender', 'age')

)

select
    subject,
    subject_id,
    as_of_date,
    dimension,
    max(attendees) as attendees,
    sum(user_count) as counted
from buckets
group by subject, subject_id, as_of_date, dimension
having sum(user_count) <> max(attendees)
