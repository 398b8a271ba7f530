with

stats as (

    select * from {{ ref('stg_lake__social_brand_stats') }}
    where as_of_date = (
        select max(latest.as_of_date) from {{ ref('stg_lake__social_brand_stats') }} as latest
    )

)

select
    brand_id,
    max(events) as events,
    {{ social_report_columns() }}
from stats
group by brand_id
