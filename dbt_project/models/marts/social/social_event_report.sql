with

stats as (

    select * from {{ ref('stg_lake__social_event_stats') }}
    where as_of_date = (
        select max(latest.as_of_date) from {{ ref('stg_lake__social_event_stats') }} as latest
    )

)

select
    event_id,
    max(brand_id) as brand_id,
    max(event_name) as event_name,
    max(starts_at) as starts_at,
    {{ social_report_columns() }}
from stats
group by event_id
